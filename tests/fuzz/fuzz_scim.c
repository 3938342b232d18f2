/* layer: gateway */
/* SCIM bodies and filters come from a directory over the network: whatever they hold, a parser
 * answers 0 with bounded, control-free strings or an error with a one-line printable reason, a
 * refused PatchOp leaves the stored user as it was, and what hubgate answers about a user it
 * read reads back as the same user. The first byte picks the parser: '0' user, '1' user
 * PatchOp, '2' group, '3' group PatchOp, '4' filter; the rest is the input. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "gateway/admin/scim_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, int may_be_null)
{
    if (!s) {
        if (!may_be_null)
            abort();
        return;
    }
    size_t n = strlen(s);
    if (n == 0 || n > GW_SCIM_MAX_STRING_BYTES)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f ||
            (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
             (unsigned char)s[i + 1] <= 0x9f))
            abort();
    }
}

static void check_why(int rc, const char *why)
{
    if (rc == 0) {
        if (why)
            abort();
        return;
    }
    if (!why || !*why || strlen(why) > 400)
        abort();
    for (const char *p = why; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            abort();
    }
}

static void check_user(const gw_scim_user_t *u)
{
    check_string(u->user_name, 0);
    check_string(u->external_id, 1);
    check_string(u->display_name, 1);
    check_string(u->email, 1);
    if (u->active != 0 && u->active != 1)
        abort();
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The answer about u, dumped and read back as a PUT body, is u again. */
static void check_round_trip(const gw_scim_user_t *u, cmn_arena_t *a)
{
    gw_scim_meta_t m = {"id-1", 0, 0};
    json_t *j = gw_scim_user_json(u, &m, "https://gw.example/scim/v2");
    if (!j)
        abort();
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        abort();
    gw_scim_user_t back;
    const char *why;
    if (gw_scim_user_parse(text, strlen(text), a, &back, &why) != 0)
        abort();
    free(text);
    if (!same(back.user_name, u->user_name) || !same(back.external_id, u->external_id) ||
        !same(back.display_name, u->display_name) || !same(back.email, u->email) ||
        back.active != u->active)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    cmn_arena_t a;
    cmn_arena_init(&a, 4096, 16 * 1024 * 1024);
    const char *why = "unset";
    int rc;
    switch (data[0]) {
    case '0': {
        gw_scim_user_t u;
        rc = gw_scim_user_parse(body, len, &a, &u, &why);
        check_why(rc, why);
        if (rc == 0) {
            check_user(&u);
            check_round_trip(&u, &a);
        }
        break;
    }
    case '1': {
        gw_scim_user_t stored = {"stored", "ext", "Stored Name", "s@example.com", 1};
        gw_scim_user_t u = stored;
        unsigned touched;
        rc = gw_scim_user_patch(body, len, &a, &u, &touched, &why);
        check_why(rc, why);
        if (rc != 0 && memcmp(&u, &stored, sizeof(u)) != 0)
            abort(); /* all or nothing */
        if (rc == 0) {
            check_user(&u);
            if (u.active != stored.active && !(touched & GW_SCIM_USER_ACTIVE))
                abort();
            check_round_trip(&u, &a);
        }
        break;
    }
    case '2': {
        gw_scim_group_t g;
        rc = gw_scim_group_parse(body, len, &a, &g, &why);
        check_why(rc, why);
        if (rc == 0) {
            check_string(g.display_name, 0);
            check_string(g.external_id, 1);
            if (g.n_members > GW_SCIM_MAX_MEMBERS || (g.n_members == 0) != (g.members == NULL))
                abort();
            for (size_t i = 0; i < g.n_members; i++)
                check_string(g.members[i], 0);
        }
        break;
    }
    case '3': {
        gw_scim_group_patch_t p;
        rc = gw_scim_group_patch_parse(body, len, &a, &p, &why);
        check_why(rc, why);
        if (rc == 0) {
            check_string(p.display_name, 1);
            if (p.n_add + p.n_remove > GW_SCIM_MAX_MEMBERS)
                abort();
            for (size_t i = 0; i < p.n_add; i++) {
                check_string(p.add[i], 0);
                for (size_t k = 0; k < p.n_remove; k++) {
                    if (strcmp(p.add[i], p.remove[k]) == 0)
                        abort(); /* the two lists never share an id */
                }
            }
            for (size_t k = 0; k < p.n_remove; k++)
                check_string(p.remove[k], 0);
        }
        break;
    }
    case '4': {
        /* a filter is a NUL-terminated query parameter */
        char *filter = malloc(len + 1);
        if (!filter)
            abort();
        memcpy(filter, body, len);
        filter[len] = '\0';
        gw_scim_term_t terms[4];
        size_t n = 99;
        rc = gw_scim_filter_parse(filter, &a, terms, 4, &n, &why);
        check_why(rc, why);
        if ((rc == 0) != (n >= 1 && n <= 4) || (rc != 0 && n != 0))
            abort();
        static const char *const attrs[] = {"id",          "userName",     "externalId",
                                            "displayName", "emails.value", "members.value"};
        for (size_t i = 0; rc == 0 && i < n; i++) {
            size_t k = 0;
            while (k < 6 && strcmp(terms[i].attr, attrs[k]) != 0)
                k++;
            if (k == 6 || strlen(terms[i].value) > GW_SCIM_MAX_STRING_BYTES)
                abort();
        }
        free(filter);
        break;
    }
    default:
        break;
    }
    cmn_arena_free(&a);
    return 0;
}
