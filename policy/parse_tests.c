/* The `tests` section: requests with the decision the policy must reach, run by `policy test`
 * (policy/suite.c) and before a reload goes live. */
#include "policy/parse_tests.h"
#include "common/err.h"
#include "policy/subject.h"

#include <stdlib.h>
#include <string.h>

/* 1 when s reads "METHOD /target" as an HTTP request line would; else 0 with *why (static). */
static int request_valid(const char *s, const char **why)
{
    const char *sp = strchr(s, ' ');
    if (!sp || sp == s || sp - s > 16) {
        *why = "expected \"METHOD /path\", e.g. \"GET /acme/bert/resolve/main/config.json\"";
        return 0;
    }
    for (const char *c = s; c < sp; c++) {
        if (*c < 'A' || *c > 'Z') {
            *why = "the method must be upper-case letters (GET, HEAD, POST, PUT, PATCH, DELETE)";
            return 0;
        }
    }
    if (sp[1] != '/') {
        *why = "the request-target must start with '/' after one space";
        return 0;
    }
    for (const char *c = sp + 1; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            *why = "the request-target must be printable ASCII without spaces "
                   "(percent-encode the rest, as clients do)";
            return 0;
        }
    }
    return 1;
}

/* "request", "body" and "content_type" of the test at ptr. */
static void parse_request(pol_parser_t *ps, const char *ptr, json_t *t, ptest_t *pt)
{
    char p[CMN_JDIAG_PTR_MAX];
    const char *req =
        pol_parser_string(ps, ptr, t, "request", 1, POL_MAX_TEST_REQUEST_BYTES, "\"METHOD /path\"");
    const char *why = NULL;
    if (req && !request_valid(req, &why)) {
        ERR(ps, cmn_jdiag_join(p, ptr, "request"), 0, "bad request \"%s\": %s", req, why);
    } else if (req) {
        const char *sp = strchr(req, ' ');
        pt->method = cmn_arena_strndup(&ps->p->arena, req, (size_t)(sp - req));
        pt->target = pol_parser_dup(ps, sp + 1);
    }
    json_t *body = json_object_get(t, "body");
    if (json_is_string(body)) {
        pt->body =
            cmn_arena_strndup(&ps->p->arena, json_string_value(body), json_string_length(body));
        pt->body_len = json_string_length(body);
    } else if (json_is_object(body) || json_is_array(body)) {
        char *text = json_dumps(body, JSON_COMPACT);
        if (text) {
            pt->body = pol_parser_dup(ps, text);
            pt->body_len = strlen(text);
            free(text);
        } else {
            ps->oom = 1;
        }
    } else if (body) {
        ERR(ps, cmn_jdiag_join(p, ptr, "body"), 0,
            "found %s, expected the request body as a JSON object, array or string",
            cmn_jdiag_type(body));
    }
    pt->content_type = pol_parser_string(ps, ptr, t, "content_type", 0, 256, "a media type");
    if (pt->content_type && !body)
        ERR(ps, cmn_jdiag_join(p, ptr, "content_type"), 1,
            "\"content_type\" without a \"body\" (expected both or neither)");
    pt->content_type = pt->content_type ? pol_parser_dup(ps, pt->content_type)
                       : body           ? "application/json"
                                        : NULL;
}

/* "ip" and "region": where the test's request comes from. */
static void parse_origin(pol_parser_t *ps, const char *ptr, json_t *t, ptest_t *pt)
{
    char p[CMN_JDIAG_PTR_MAX];
    const char *ip = pol_parser_string(ps, ptr, t, "ip", 0, 64, "an IPv4 or IPv6 address");
    if (ip) {
        if (pol_ip_parse(ip, &pt->ip) != 0)
            ERR(ps, cmn_jdiag_join(p, ptr, "ip"), 0,
                "\"%s\" is not an IP address (expected e.g. \"10.1.2.3\" or \"2001:db8::1\")", ip);
        pt->has_ip = 1;
        pt->ip_text = pol_parser_dup(ps, ip);
    }
    const char *region = pol_parser_string(ps, ptr, t, "region", 0, 64, "a region name");
    if (region)
        (void)pol_parser_region(ps, cmn_jdiag_join(p, ptr, "region"), region);
    pt->region = region ? pol_parser_dup(ps, region) : NULL;
}

/* "expect", "rule" and "answer": what the test wants decided. */
static void parse_expect(pol_parser_t *ps, const char *ptr, json_t *t, ptest_t *pt)
{
    char p[CMN_JDIAG_PTR_MAX];
    const char *expect = pol_parser_string(ps, ptr, t, "expect", 1, 16, "\"allow\" or \"deny\"");
    if (expect && strcmp(expect, "allow") != 0 && strcmp(expect, "deny") != 0)
        ERR(ps, cmn_jdiag_join(p, ptr, "expect"), 0, "found \"%s\", expected \"allow\" or \"deny\"",
            expect);
    pt->expect = expect && strcmp(expect, "allow") == 0 ? POL_ALLOW : POL_DENY;
    const char *rule = pol_parser_string(ps, ptr, t, "rule", 0, 512, "the expected rule id");
    pt->expect_rule = rule ? pol_parser_dup(ps, rule) : NULL;
    const char *answer =
        pol_parser_string(ps, ptr, t, "answer", 0, 16, "\"not_found\" or \"forbidden\"");
    if (!answer)
        return;
    if (strcmp(answer, "not_found") == 0)
        pt->expect_answer = POL_ANSWER_NOT_FOUND;
    else if (strcmp(answer, "forbidden") == 0)
        pt->expect_answer = POL_ANSWER_FORBIDDEN;
    else
        ERR(ps, cmn_jdiag_join(p, ptr, "answer"), 0,
            "found \"%s\", expected \"not_found\" or \"forbidden\"", answer);
    pt->has_expect_answer = 1;
    if (expect && pt->expect == POL_ALLOW)
        ERR(ps, cmn_jdiag_join(p, ptr, "answer"), 1,
            "\"answer\" describes a denial (expected no \"answer\" when \"expect\" is "
            "\"allow\")");
}

/* tests[i] (at ptr) into *pt; 0 when it holds no error. */
static int parse_test(pol_parser_t *ps, const char *ptr, json_t *t, ptest_t *pt)
{
    static const char *const keys[] = {"name",         "subject", "request", "body",
                                       "content_type", "ip",      "region",  "expect",
                                       "rule",         "answer",  NULL};
    char p[CMN_JDIAG_PTR_MAX];
    pol_policy_t *pol = ps->p;
    if (!json_is_object(t)) {
        ERR(ps, ptr, 0, "found %s, expected a test object with name, subject, request, expect",
            cmn_jdiag_type(t));
        return -1;
    }
    int errors = ps->diag.errors;
    cmn_jdiag_keys(&ps->diag, ptr, t, keys);
    memset(pt, 0, sizeof(*pt));
    (void)cmn_jsonpos_find(ps->diag.pos, ptr, 0, &pt->line, &pt->col);
    const char *name = pol_parser_string(ps, ptr, t, "name", 1, POL_MAX_NAME_BYTES, "a test name");
    if (name) {
        for (size_t k = 0; k < pol->ntests; k++) {
            if (strcmp(pol->tests[k].name, name) == 0) {
                ERR(ps, cmn_jdiag_join(p, ptr, "name"), 0,
                    "duplicate test name \"%s\" (already at line %d; names identify failures)",
                    name, pol->tests[k].line);
                break;
            }
        }
        pt->name = pol_parser_dup(ps, name);
    }
    json_t *subj = json_object_get(t, "subject");
    if (!subj)
        ERR(ps, ptr, 0,
            "missing required key \"subject\" (expected an object like "
            "{\"sub\": \"alice\", \"groups\": [\"acme-ml\"]})");
    else if (pol_subject_read(&ps->diag, cmn_jdiag_join(p, ptr, "subject"), subj, &pol->arena,
                              &pt->subject) == CMN_ERR_NOMEM)
        ps->oom = 1;
    parse_request(ps, ptr, t, pt);
    parse_origin(ps, ptr, t, pt);
    parse_expect(ps, ptr, t, pt);
    return ps->diag.errors == errors ? 0 : -1;
}

void pol_parse_tests(pol_parser_t *ps, json_t *root)
{
    char ptr[CMN_JDIAG_PTR_MAX];
    pol_policy_t *pol = ps->p;
    json_t *tests =
        cmn_jdiag_get(&ps->diag, "", root, "tests", JSON_ARRAY, 0, "an array of test objects");
    if (!tests)
        return;
    size_t n = json_array_size(tests);
    pol->tests = pol_parser_alloc(ps, (n ? n : 1) * sizeof(ptest_t));
    if (!pol->tests)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tests, i);
        if (parse_test(ps, cmn_jdiag_join_index(ptr, "/tests", i), t, &pol->tests[pol->ntests]) ==
            0)
            pol->ntests++;
    }
}
