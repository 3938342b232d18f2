/* Route classifier: every route family of the Hub HTTP API, every trap (body-borne
 * targets, GETs that grant write, reserved first segments, %2F revisions), every rejection rule,
 * with the request shapes real clients send (huggingface_hub, @huggingface/hub, git).
 *
 * The cases are lines of route_cases.txt (its header gives the format), read at run time from
 * the path tests/CMakeLists.txt compiles in as HUBGATE_CASES_FILE; every mismatch prints the case's
 * line, its name and the field. A malformed line fails the test with its line number. Cases that
 * need sizes computed at run time (caps), the two-step API or arena exhaustion are C code below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/testutil.h"

#include "common/arena.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/sha256.h"
#include "gateway/route/route.h"
#include "gateway/limits.h"

#ifndef HUBGATE_CASES_FILE
#error "HUBGATE_CASES_FILE, the path of route_cases.txt, is set by tests/CMakeLists.txt"
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One line of route_cases.txt. Strings live in the arena the file was parsed into; NULL means
 * the line does not give the field (no body, no Content-Type, no revision ...). */
typedef struct {
    unsigned line;
    const char *name; /* the line's trailing comment */
    const char *method, *target, *body, *ctype;
    unsigned status; /* 0: classified; else the refusal's HTTP status, with reject */
    gw_route_reject_t reject;
    gw_family_t family;
    gw_action_t action;
    gw_repo_type_t type;
    const char *ns, *repo, *rev, *path, *object;
    const char *repos; /* "type:ns/name=action" list; NULL: the headline repo alone */
    unsigned pr, git;
    gw_lfs_op_t lfs;
    gw_admin_route_t admin;
} route_case_t;

static const char *const lfs_names[] = {"", "download", "upload"};
static const char *const admin_names[] = {"",       "health", "ready", "metrics",     "whoami",
                                          "tokens", "token",  "jwks",  "report_soc2", "egress",
                                          "xet_cas", "xet_telemetry", "other", "login",
                                          "login_callback", "logout", "device",
                                          "device_confirm", "oauth_token"};

/* ------------------------------------------------------------------------------------------ */
/* Reading the case file */

typedef enum { FIELD_STR, FIELD_FLAG, FIELD_TYPE, FIELD_LFS, FIELD_ADMIN } field_kind_t;

/* The key=value fields: body and ctype are inputs (before the arrow), the others expectations. */
static const struct {
    const char *key;
    field_kind_t kind;
    size_t offset;
    int input;
} fields[] = {
    {"body", FIELD_STR, offsetof(route_case_t, body), 1},
    {"ctype", FIELD_STR, offsetof(route_case_t, ctype), 1},
    {"type", FIELD_TYPE, offsetof(route_case_t, type), 0},
    {"ns", FIELD_STR, offsetof(route_case_t, ns), 0},
    {"rev", FIELD_STR, offsetof(route_case_t, rev), 0},
    {"path", FIELD_STR, offsetof(route_case_t, path), 0},
    {"object", FIELD_STR, offsetof(route_case_t, object), 0},
    {"repos", FIELD_STR, offsetof(route_case_t, repos), 0},
    {"pr", FIELD_FLAG, offsetof(route_case_t, pr), 0},
    {"git", FIELD_FLAG, offsetof(route_case_t, git), 0},
    {"lfs", FIELD_LFS, offsetof(route_case_t, lfs), 0},
    {"admin", FIELD_ADMIN, offsetof(route_case_t, admin), 0},
};

typedef struct {
    const char *p; /* the rest of the line */
    unsigned line;
    cmn_arena_t *arena;
    char *err;
    size_t errlen;
} lexer_t;

/* Sets "LINE: message" in lx->err; returns -1. */
__attribute__((format(printf, 2, 3))) static int lex_fail(lexer_t *lx, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cmn_errf(lx->err, lx->errlen, "%u: %s", lx->line, msg);
    return -1;
}

static int blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The value of a token from lx->p on: 'literal', "with \\ \" \n \r \t \xHH escapes", or bare
 * (up to the next blank). Appends to out; returns 0 or -1 (err set). */
static int lex_value(lexer_t *lx, char *out, size_t *n)
{
    const char *p = lx->p;
    char quote = (*p == '\'' || *p == '"') ? *p++ : 0;
    while (*p && (quote ? *p != quote : !blank(*p))) {
        if (quote != '"' || *p != '\\') {
            out[(*n)++] = *p++;
            continue;
        }
        static const char from[] = "\\\"nrt", to[] = "\\\"\n\r\t";
        const char *e = p[1] ? strchr(from, p[1]) : NULL;
        if (e) {
            out[(*n)++] = to[e - from];
            p += 2;
        } else if (p[1] == 'x' && cmn_hex_value(p[2]) >= 0 && cmn_hex_value(p[3]) >= 0 &&
                   (p[2] != '0' || p[3] != '0')) {
            out[(*n)++] = (char)(cmn_hex_value(p[2]) * 16 + cmn_hex_value(p[3]));
            p += 4;
        } else {
            return lex_fail(lx, "unknown escape \"\\%.1s\" (use \\\\ \\\" \\n \\r \\t \\xHH)",
                            p + 1);
        }
    }
    if (quote && *p != quote)
        return lex_fail(lx, "unterminated %s-quoted value", quote == '"' ? "double" : "single");
    if (quote && p[1] && !blank(p[1]))
        return lex_fail(lx, "text right after a closing quote: \"%.20s\"", p + 1);
    lx->p = p + (quote ? 1 : 0);
    return 0;
}

/* The next token, decoded: NULL at the end of the line or at its '#' comment. A value may be
 * quoted from its start or, in key=value, from just after the '='. */
static int lex_token(lexer_t *lx, char **tok)
{
    *tok = NULL;
    while (blank(*lx->p))
        lx->p++;
    if (*lx->p == '\0' || *lx->p == '#')
        return 0;
    char *out = cmn_arena_alloc(lx->arena, strlen(lx->p) + 1);
    if (!out)
        return lex_fail(lx, "%s", "out of memory");
    size_t n = strspn(lx->p, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0 || lx->p[n] != '=')
        n = 0;
    else
        memcpy(out, lx->p, ++n); /* "key=" as it is */
    lx->p += n;
    if (lex_value(lx, out, &n) < 0)
        return -1;
    out[n] = '\0';
    *tok = out;
    return 0;
}

static int index_of(const char *s, const char *const *names, size_t count)
{
    for (size_t i = 1; i < count; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

/* Parses "key=value" into c; fields given twice, or expectations on a line that expects no
 * classification, are malformed. */
static int parse_field(lexer_t *lx, char *tok, route_case_t *c, int input, unsigned *seen)
{
    char *eq = strchr(tok, '=');
    size_t f = 0;
    while (eq && f < COUNT(fields) &&
           (strlen(fields[f].key) != (size_t)(eq - tok) ||
            strncmp(tok, fields[f].key, (size_t)(eq - tok))))
        f++;
    if (!eq)
        return lex_fail(lx, "\"%s\" is not a key=value field (see the file's header)", tok);
    if (f == COUNT(fields))
        return lex_fail(lx, "unknown field \"%.*s=\"", (int)(eq - tok), tok);
    if (fields[f].input != input)
        return lex_fail(lx, "%s= belongs %s the arrow", fields[f].key, input ? "after" : "before");
    if (!input && (c->status || c->family == GW_FAMILY_UNKNOWN))
        return lex_fail(lx, "%s= on a line expecting a refusal or unknown", fields[f].key);
    if (*seen & (1u << f))
        return lex_fail(lx, "%s= given twice", fields[f].key);
    *seen |= 1u << f;
    const char *v = eq + 1;
    void *slot = (char *)c + fields[f].offset;
    int i = 0;
    switch (fields[f].kind) {
    case FIELD_STR:
        *(const char **)slot = v;
        return 0;
    case FIELD_FLAG:
        i = strcmp(v, "1") == 0 ? 1 : -1;
        break;
    case FIELD_TYPE:
        i = (int)gw_route_repo_type_parse(v);
        i = i == GW_REPO_NONE ? -1 : i;
        break;
    case FIELD_LFS:
        i = index_of(v, lfs_names, COUNT(lfs_names));
        break;
    case FIELD_ADMIN:
        i = index_of(v, admin_names, COUNT(admin_names));
        break;
    }
    if (i < 0)
        return lex_fail(lx, "bad value in \"%s\"", tok);
    if (fields[f].kind == FIELD_FLAG)
        *(unsigned *)slot = (unsigned)i;
    else if (fields[f].kind == FIELD_TYPE)
        *(gw_repo_type_t *)slot = (gw_repo_type_t)i;
    else if (fields[f].kind == FIELD_LFS)
        *(gw_lfs_op_t *)slot = (gw_lfs_op_t)i;
    else
        *(gw_admin_route_t *)slot = (gw_admin_route_t)i;
    return 0;
}

/* REPO: "-" (none) or TYPE:NS/NAME, TYPE:NAME for a legacy one-segment id. */
static int parse_repo(lexer_t *lx, char *tok, route_case_t *c)
{
    if (strcmp(tok, "-") == 0)
        return 0;
    char shown[128];
    snprintf(shown, sizeof(shown), "%s", tok);
    char *colon = strchr(tok, ':');
    if (!colon)
        return lex_fail(lx, "repo \"%s\" is not - or TYPE:[NS/]NAME", shown);
    *colon = '\0';
    c->type = gw_route_repo_type_parse(tok);
    char *slash = strchr(colon + 1, '/');
    c->ns = slash ? colon + 1 : "";
    c->repo = slash ? slash + 1 : colon + 1;
    if (slash)
        *slash = '\0';
    if (c->type == GW_REPO_NONE || !c->ns[0] != !slash || !c->repo[0] || strchr(c->repo, '/'))
        return lex_fail(lx, "repo \"%s\" is not - or TYPE:[NS/]NAME", shown);
    return 0;
}

/* After the arrow: STATUS REASON, or FAMILY (unknown alone, any other with ACTION REPO). */
static int parse_expectation(lexer_t *lx, char *first, route_case_t *c)
{
    char *tok = NULL;
    if (first[strspn(first, "0123456789")] == '\0') {
        c->status = (unsigned)strtoul(first, NULL, 10);
        if (lex_token(lx, &tok) < 0)
            return -1;
        for (int r = 1; tok && gw_route_reject_name((gw_route_reject_t)r)[0] != '?'; r++)
            if (strcmp(tok, gw_route_reject_name((gw_route_reject_t)r)) == 0)
                c->reject = (gw_route_reject_t)r;
        if (c->status < 400 || c->status > 599 || c->reject == GW_REJECT_NONE)
            return lex_fail(lx, "\"%s\" wants STATUS REASON, e.g. 400 DOT_SEGMENT", first);
        return 0;
    }
    int family = -1;
    for (int f = 0; f < GW_FAMILY_COUNT_ && family < 0; f++)
        if (strcmp(first, gw_route_family_name((gw_family_t)f)) == 0)
            family = f;
    if (family < 0)
        return lex_fail(lx, "unknown family \"%s\"", first);
    c->family = (gw_family_t)family;
    if (c->family == GW_FAMILY_UNKNOWN)
        return 0;
    if (lex_token(lx, &tok) < 0)
        return -1;
    int action = -1;
    for (int a = GW_ACTION_NONE; tok && a <= GW_ACTION_ADMIN && action < 0; a++)
        if (strcmp(tok, gw_route_action_name((gw_action_t)a)) == 0)
            action = a;
    if (action < 0)
        return lex_fail(lx, "family %s wants ACTION REPO, e.g. read model:acme/bert", first);
    c->action = (gw_action_t)action;
    if (lex_token(lx, &tok) < 0)
        return -1;
    if (!tok)
        return lex_fail(lx, "family %s wants ACTION REPO, e.g. read model:acme/bert", first);
    return parse_repo(lx, tok, c);
}

/* What follows the arrow: the expectation, its fields and the case's name. Returns 1 or -1. */
static int parse_after_arrow(lexer_t *lx, route_case_t *c, unsigned *seen)
{
    char *tok;
    if (lex_token(lx, &tok) < 0)
        return -1;
    if (!tok)
        return lex_fail(lx, "%s", "nothing after the arrow");
    if (parse_expectation(lx, tok, c) < 0)
        return -1;
    for (;;) {
        if (lex_token(lx, &tok) < 0)
            return -1;
        if (!tok)
            break;
        if (parse_field(lx, tok, c, 0, seen) < 0)
            return -1;
    }
    const char *name = *lx->p == '#' ? lx->p + 1 + strspn(lx->p + 1, " \t") : "";
    size_t len = strlen(name);
    while (len > 0 && blank(name[len - 1]))
        len--;
    if (len == 0)
        return lex_fail(lx, "%s", "a case ends with its name, as a '# comment'");
    c->name =
        cmn_arena_strndup(lx->arena, name, len); /* the line's text does not outlive parsing */
    return c->name ? 1 : lex_fail(lx, "%s", "out of memory");
}

/* One line: 1 with a case in c, 0 for a blank or comment line, -1 when malformed. */
static int parse_line(lexer_t *lx, route_case_t *c)
{
    memset(c, 0, sizeof(*c));
    c->line = lx->line;
    char *tok, *target;
    unsigned seen = 0;
    if (lex_token(lx, &tok) < 0)
        return -1;
    if (!tok)
        return 0;
    c->method = tok;
    if (lex_token(lx, &target) < 0)
        return -1;
    c->target = target;
    while (target) {
        if (lex_token(lx, &tok) < 0)
            return -1;
        if (!tok)
            break;
        if (strcmp(tok, "→") == 0)
            return parse_after_arrow(lx, c, &seen);
        if (parse_field(lx, tok, c, 1, &seen) < 0)
            return -1;
    }
    return lex_fail(lx, "%s", "want METHOD TARGET [body=... ctype=...] → EXPECTATION  # name");
}

/* Parses the whole text (NUL-terminated, len bytes) into cases from the arena. Returns the
 * number of cases, or -1 with "LINE: what is wrong" in err. */
static long parse_cases(char *text, size_t len, cmn_arena_t *arena, route_case_t **out, char *err,
                        size_t errlen)
{
    err[0] = '\0';
    if (strlen(text) != len) {
        cmn_errf(err, errlen, "a NUL byte at offset %zu", strlen(text));
        return -1;
    }
    size_t lines = 1;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    route_case_t *cases = cmn_arena_alloc(arena, lines * sizeof(*cases));
    long n = 0;
    lexer_t lx = {.arena = arena, .err = err, .errlen = errlen};
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lx.p = line;
        lx.line++;
        int rc = cases ? parse_line(&lx, &cases[n]) : lex_fail(&lx, "%s", "out of memory");
        if (rc < 0)
            return -1;
        n += rc;
    }
    *out = cases;
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Running a case */

/* "model:acme/bert=read" per repo, space-separated; "*" marks a repo from the body,
 * "@caller" a caller's own namespace, a bare name a legacy id. */
static void repos_summary(const gw_route_t *r, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < r->nrepos; i++) {
        const gw_route_repo_t *p = &r->repos[i];
        char one[512];
        const char *ns = p->caller_namespace ? "@caller" : p->namespace;
        snprintf(one, sizeof(one), "%s%s:%s%s%s=%s%s", i ? " " : "",
                 gw_route_repo_type_name(p->type), ns, ns[0] ? "/" : "", p->name,
                 gw_route_action_name(p->action), p->from_body ? "*" : "");
        strncat(out, one, cap - strlen(out) - 1);
    }
}

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("route_cases.txt:%u (%s): ", c->line, c->name);                            \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
            failed = 1;                                                                            \
        }                                                                                          \
    } while (0)

#define S(x) ((x) ? (x) : "(null)")

/* A refusal for size is CMN_ERR_TOOBIG (413, 414); every other refusal is CMN_ERR_PARSE. */
static int refusal_rc(unsigned status)
{
    return status == 413 || status == 414 ? CMN_ERR_TOOBIG : CMN_ERR_PARSE;
}

static int run_case(const route_case_t *c)
{
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    gw_route_t r;
    int failed = 0;
    int rc = gw_route_classify(c->method, c->target, strlen(c->target), c->body,
                               c->body ? strlen(c->body) : 0, c->ctype, &arena, &r);
    int want_rc = c->status ? refusal_rc(c->status) : 0;
    CHECK(rc == want_rc, "rc %d (%s), want %d; reject %s", rc, cmn_err_name(rc), want_rc,
          gw_route_reject_name(r.reject));
    if (c->status) {
        CHECK(r.reject == c->reject, "reject %s, want %s", gw_route_reject_name(r.reject),
              gw_route_reject_name(c->reject));
        CHECK(r.nrepos == 0, "a refused route lists %zu repos", r.nrepos);
        CHECK(gw_route_reject_status(r.reject) == c->status, "status %u, want %u",
              gw_route_reject_status(r.reject), c->status);
        goto out;
    }
    if (rc != 0)
        goto out; /* refused, unexpectedly: said above */
    CHECK(r.reject == GW_REJECT_NONE, "reject %s on success", gw_route_reject_name(r.reject));
    CHECK(r.family == c->family, "family %s, want %s", gw_route_family_name(r.family),
          gw_route_family_name(c->family));
    CHECK(r.action == c->action, "action %s, want %s", gw_route_action_name(r.action),
          gw_route_action_name(c->action));
    CHECK(r.repo_type == c->type, "type %s, want %s", gw_route_repo_type_name(r.repo_type),
          gw_route_repo_type_name(c->type));
    CHECK(str_eq(r.namespace, c->ns), "namespace %s, want %s", S(r.namespace), S(c->ns));
    CHECK(str_eq(r.name, c->repo), "name %s, want %s", S(r.name), S(c->repo));
    CHECK(str_eq(r.revision, c->rev), "revision %s, want %s", S(r.revision), S(c->rev));
    CHECK(str_eq(r.path_in_repo, c->path), "path %s, want %s", S(r.path_in_repo), S(c->path));
    CHECK(str_eq(r.object, c->object), "object %s, want %s", S(r.object), S(c->object));
    CHECK(r.pr == c->pr, "pr %u, want %u", r.pr, c->pr);
    CHECK(r.git_suffix == c->git, "git_suffix %u, want %u", r.git_suffix, c->git);
    CHECK(r.lfs_operation == c->lfs, "lfs operation %s, want %s", lfs_names[r.lfs_operation],
          lfs_names[c->lfs]);
    CHECK(r.admin == c->admin, "admin route %d, want %d", r.admin, c->admin);
    CHECK(!r.needs_body, "still needs its body");
    char got[2048], want[2048] = "";
    repos_summary(&r, got, sizeof(got));
    if (c->repos)
        snprintf(want, sizeof(want), "%s", c->repos);
    else if (c->repo)
        snprintf(want, sizeof(want), "%s:%s%s%s=%s", gw_route_repo_type_name(c->type), c->ns,
                 c->ns[0] ? "/" : "", c->repo, gw_route_action_name(c->action));
    CHECK(strcmp(got, want) == 0, "repos \"%s\", want \"%s\"", got, want);
    /* A route that names no repo is answered for whoever the credential names: it is never
     * forwarded with the service credential on the policy's word alone (issue 9, finding 4). */
    gw_treatment_t t = gw_route_treatment(&r, NULL);
    CHECK(r.nrepos > 0 || r.family == GW_FAMILY_UNKNOWN || t != GW_TREAT_POLICY,
          "names no repo, yet served as %s", gw_route_treatment_name(t));
out:
    cmn_arena_free(&arena);
    return failed;
}

/* Loads route_cases.txt into the arena; a file that cannot be read or parsed fails the test. */
static size_t load_cases(cmn_arena_t *arena, route_case_t **cases)
{
    cmn_buf_t text;
    cmn_buf_init(&text, 4 << 20);
    int rc = cmn_buf_read_file(&text, HUBGATE_CASES_FILE);
    if (rc != 0)
        fail_msg("%s: %s", HUBGATE_CASES_FILE, cmn_err_str(rc));
    char err[512];
    long n = parse_cases(text.data, text.len, arena, cases, err, sizeof(err));
    if (n < 0)
        fail_msg("%s:%s", HUBGATE_CASES_FILE, err);
    cmn_buf_free(&text); /* the cases point into the arena, not into the text */
    return (size_t)n;
}

static void test_route_cases(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 64 * 1024, 16 << 20);
    route_case_t *cases = NULL;
    size_t n = load_cases(&arena, &cases), failures = 0;
    for (size_t i = 0; i < n; i++)
        failures += (size_t)run_case(&cases[i]);
    print_message("%zu route cases, %zu failed\n", n, failures);
    assert_true(n >= 400); /* a truncated file is a failure, not fewer cases */
    assert_int_equal(failures, 0);
    cmn_arena_free(&arena);
}

/* Each request is listed once, under a name of its own, so a failure points at one line. */
static void test_cases_unique(void **state)
{
    (void)state;
    cmn_arena_t arena;
    cmn_arena_init(&arena, 64 * 1024, 16 << 20);
    route_case_t *c = NULL;
    size_t n = load_cases(&arena, &c);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(c[i].name, c[j].name) == 0)
                fail_msg("lines %u and %u: the same name \"%s\"", c[i].line, c[j].line, c[i].name);
            if (strcmp(c[i].method, c[j].method) == 0 && strcmp(c[i].target, c[j].target) == 0 &&
                str_eq(c[i].body, c[j].body) && str_eq(c[i].ctype, c[j].ctype))
                fail_msg("lines %u and %u: the same request", c[i].line, c[j].line);
        }
    cmn_arena_free(&arena);
}

/* A malformed line fails the test with its line number, whatever is wrong with it. */
static void test_malformed_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"GET /a → unknown", "1: a case ends with its name"},
        {"# c\n\nGET /a → unknown  # ok\nGET /b unknown  # no arrow",
         "4: \"unknown\" is not a key"},
        {"GET /a →  # nothing", "1: nothing after the arrow"},
        {"GET /a → resolv read -  # typo", "1: unknown family \"resolv\""},
        {"GET /a → resolve  # no action", "1: family resolve wants ACTION REPO"},
        {"GET /a → resolve read  # no repo", "1: family resolve wants ACTION REPO"},
        {"GET /a → resolve reed -  # bad action", "1: family resolve wants ACTION REPO"},
        {"GET /a → resolve read acme/bert  # no type", "1: repo \"acme/bert\" is not"},
        {"GET /a → resolve read widget:acme/bert  # bad type", "1: repo \"widget"},
        {"GET /a → resolve read model:a/b/c  # three parts", "1: repo \"model"},
        {"GET /a → 400  # no reason", "1: \"400\" wants STATUS REASON"},
        {"GET /a → 400 DOT_SEGMNT  # typo", "1: \"400\" wants STATUS REASON"},
        {"GET /a → 200 DOT_SEGMENT  # not a refusal", "1: \"200\" wants STATUS REASON"},
        {"GET /a → 400 DOT_SEGMENT rev=main  # expectation", "1: rev= on a line expecting"},
        {"GET /a → unknown rev=main  # expectation", "1: rev= on a line expecting"},
        {"GET /a → resolve read - rev=a rev=b  # twice", "1: rev= given twice"},
        {"GET /a → resolve read - revision=main  # key", "1: unknown field \"revision=\""},
        {"GET /a → resolve read - main  # bare", "1: \"main\" is not a key=value"},
        {"GET /a rev=main → unknown  # side", "1: rev= belongs after the arrow"},
        {"POST /a → resolve read - body={}  # side", "1: body= belongs before the arrow"},
        {"GET /a → resolve read - pr=2  # flag", "1: bad value in \"pr=2\""},
        {"GET /a → resolve read - lfs=push  # lfs", "1: bad value in \"lfs=push\""},
        {"GET /a → resolve read - admin=root  # admin", "1: bad value in \"admin=root\""},
        {"GET /a → resolve read - type=none  # type", "1: bad value in \"type=none\""},
        {"GET '/a → unknown  # quote", "1: unterminated single-quoted value"},
        {"GET \"/a → unknown  # quote", "1: unterminated double-quoted value"},
        {"GET \"/a\\q\" → unknown  # escape", "1: unknown escape \"\\q\""},
        {"GET \"/a\\x00\" → unknown  # NUL escape", "1: unknown escape \"\\x\""},
        {"GET '/a'b → unknown  # after quote", "1: text right after a closing quote"},
        {"GET\n", "1: want METHOD TARGET"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        cmn_arena_t arena;
        cmn_arena_init(&arena, 4096, 1 << 20);
        char *text = cmn_arena_strndup(&arena, bad[i].text, strlen(bad[i].text));
        route_case_t *cases = NULL;
        char err[512];
        long n = parse_cases(text, strlen(text), &arena, &cases, err, sizeof(err));
        if (n != -1 || strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("\"%s\": got %ld, \"%s\"; want \"%s...\"", bad[i].text, n, err, bad[i].want);
        cmn_arena_free(&arena);
    }
    /* and a well-formed text parses to what it says */
    cmn_arena_t arena;
    cmn_arena_init(&arena, 4096, 1 << 20);
    char text[] =
        "# c\n\n"
        "POST \"/a\\tb\" body='x \"y\"' ctype= → resolve write model:gpt2 rev=main  # one\n"
        "GET /b → 400 DOT_SEGMENT  # two";
    route_case_t *c = NULL;
    char err[512];
    assert_int_equal(parse_cases(text, strlen(text), &arena, &c, err, sizeof(err)), 2);
    assert_int_equal(c[0].line, 3);
    assert_string_equal(c[0].target, "/a\tb");
    assert_string_equal(c[0].body, "x \"y\"");
    assert_string_equal(c[0].ctype, "");
    assert_int_equal(c[0].family, GW_FAMILY_RESOLVE);
    assert_int_equal(c[0].action, GW_ACTION_WRITE);
    assert_int_equal(c[0].type, GW_REPO_MODEL);
    assert_string_equal(c[0].ns, "");
    assert_string_equal(c[0].repo, "gpt2");
    assert_string_equal(c[0].rev, "main");
    assert_null(c[0].path);
    assert_string_equal(c[0].name, "one");
    assert_int_equal(c[1].status, 400);
    assert_int_equal(c[1].reject, GW_REJECT_DOT_SEGMENT);
    assert_null(c[1].body);
    cmn_arena_free(&arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_cases),
        cmocka_unit_test(test_cases_unique),
        cmocka_unit_test(test_malformed_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
