#include "gateway/admin/directory.h"

#include "common/b64.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPOCH(col) "extract(epoch FROM " col ")::bigint"
#define USER_COLUMNS                                                                               \
    "id, user_name, external_id, display_name, email, active, " EPOCH("created_at") ", "           \
    EPOCH("updated_at")
#define GROUP_COLUMNS                                                                              \
    "id, display_name, external_id, " EPOCH("created_at") ", " EPOCH("updated_at")

struct gw_directory {
    gw_store_t *store;
};

gw_directory_t *gw_directory_create(gw_store_t *store)
{
    gw_directory_t *d = calloc(1, sizeof(*d));
    if (d)
        d->store = store;
    return d;
}

void gw_directory_destroy(gw_directory_t *d)
{
    free(d);
}

static const char *copy(cmn_arena_t *a, PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return cmn_arena_strndup(a, PQgetvalue(res, row, col), strlen(PQgetvalue(res, row, col)));
}

static void user_from(PGresult *res, int row, cmn_arena_t *a, gw_dir_user_t *out)
{
    out->meta.id = copy(a, res, row, 0);
    out->user.user_name = copy(a, res, row, 1);
    out->user.external_id = copy(a, res, row, 2);
    out->user.display_name = copy(a, res, row, 3);
    out->user.email = copy(a, res, row, 4);
    out->user.active = strcmp(PQgetvalue(res, row, 5), "t") == 0;
    out->meta.created = strtoll(PQgetvalue(res, row, 6), NULL, 10);
    out->meta.last_modified = strtoll(PQgetvalue(res, row, 7), NULL, 10);
}

static long affected(PGresult *res)
{
    return res ? strtol(PQcmdTuples(res), NULL, 10) : 0;
}

/* The person a directory user is, in the tables that hold their access: owner_sub =
 * externalId, or (without one) the verified owner email = userName. $1 external id, $2 name. */
#define TIED                                                                                       \
    "(owner_sub = $1 OR ($1::text IS NULL AND lower(owner->>'email') = lower($2) AND "            \
    "owner->>'email_verified' = 'true'))"

/* Ends the access of the person (external_id, user_name), in the caller's transaction. */
static int deprovision(gw_directory_t *d, PGconn *c, const char *external_id,
                       const char *user_name, gw_dir_effect_t *e)
{
    const char *params[2] = {external_id, user_name};
    static const struct {
        const char *sql;
        size_t field;
    } steps[] = {
        {"UPDATE access_token SET revoked_at = now() WHERE revoked_at IS NULL AND expires_at > "
         "now() AND " TIED,
         offsetof(gw_dir_effect_t, revoked_tokens)},
        {"UPDATE refresh_token SET revoked_at = now() WHERE revoked_at IS NULL AND "
         "expires_at > now() AND " TIED,
         offsetof(gw_dir_effect_t, revoked_refresh)},
        {"UPDATE login_session SET ended_at = now(), ended_reason = 'deprovisioned' WHERE "
         "ended_at IS NULL AND " TIED,
         offsetof(gw_dir_effect_t, ended_sessions)},
        {"UPDATE device_grant SET status = 'denied' WHERE status = 'approved' AND "
         TIED,
         offsetof(gw_dir_effect_t, denied_devices)},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        PGresult *res = NULL;
        int rc = gw_store_run(d->store, c, "deprovisioning", steps[i].sql, 2, params, &res);
        if (rc)
            return rc;
        *(long *)((char *)e + steps[i].field) += affected(res);
        PQclear(res);
    }
    e->deprovisioned = 1;
    return 0;
}

/* Commits when rc and confirm say so; releases c. */
static int finish(gw_directory_t *d, PGconn *c, int rc, gw_tokens_confirm_fn confirm, void *arg,
                  const char *id, const char *what)
{
    if (rc == 0 && confirm) {
        json_t *info = json_pack("{s:s}", "id", id);
        rc = info ? confirm(arg, info) : CMN_ERR_NOMEM;
        json_decref(info);
    }
    rc = gw_store_finish(d->store, c, rc, what);
    gw_store_release(d->store, c);
    return rc;
}

static PGconn *begin(gw_directory_t *d)
{
    PGconn *c = gw_store_acquire(d->store);
    if (c && !gw_store_begin(d->store, c)) {
        gw_store_release(d->store, c);
        return NULL;
    }
    return c;
}

/* ---- users ----------------------------------------------------------------------------------- */

int gw_directory_user_create(gw_directory_t *d, const gw_scim_user_t *u,
                             gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                             gw_dir_user_t *out, gw_dir_effect_t *effect)
{
    memset(effect, 0, sizeof(*effect));
    const char *id = cmn_b64url_random(arena, "usr_", 12);
    if (!id)
        return CMN_ERR_NOMEM;
    const char *params[6] = {id, u->user_name, u->external_id, u->display_name, u->email,
                             u->active ? "true" : "false"};
    PGconn *c = begin(d);
    if (!c)
        return CMN_ERR_DB;
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "creating a user",
                       "INSERT INTO directory_user (id, user_name, external_id, display_name, "
                       "email, active) VALUES ($1, $2, $3, $4, $5, $6) RETURNING " USER_COLUMNS,
                       6, params, &res);
    if (rc == 0)
        user_from(res, 0, arena, out);
    PQclear(res);
    /* created inactive: nothing of theirs may work either */
    if (rc == 0 && !u->active)
        rc = deprovision(d, c, u->external_id, u->user_name, effect);
    return finish(d, c, rc, confirm, arg, id, "creating a user");
}

int gw_directory_user_get(gw_directory_t *d, const char *id, cmn_arena_t *arena,
                          gw_dir_user_t *out)
{
    const char *params[1] = {id};
    PGconn *c = gw_store_acquire(d->store);
    PGresult *res = gw_store_query(d->store, c, "reading a user",
                                   "SELECT " USER_COLUMNS " FROM directory_user WHERE id = $1 AND "
                                   "deleted_at IS NULL",
                                   1, params, NULL, NULL);
    gw_store_release(d->store, c);
    int rc = !res ? CMN_ERR_DB : PQntuples(res) == 1 ? 0 : CMN_ERR_NOTFOUND;
    if (rc == 0)
        user_from(res, 0, arena, out);
    PQclear(res);
    return rc;
}

/* The live user `id`, locked for the transaction. */
static int lock_user(gw_directory_t *d, PGconn *c, const char *id, cmn_arena_t *arena,
                     gw_dir_user_t *out)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "reading a user",
                       "SELECT " USER_COLUMNS " FROM directory_user WHERE id = $1 AND deleted_at "
                       "IS NULL FOR UPDATE",
                       1, params, &res);
    if (rc == 0 && PQntuples(res) != 1)
        rc = CMN_ERR_NOTFOUND;
    if (rc == 0)
        user_from(res, 0, arena, out);
    PQclear(res);
    return rc;
}

int gw_directory_user_edit(gw_directory_t *d, const char *id, gw_dir_user_edit_fn edit,
                           void *edit_arg, gw_tokens_confirm_fn confirm, void *arg,
                           cmn_arena_t *arena, gw_dir_user_t *out, gw_dir_effect_t *effect)
{
    memset(effect, 0, sizeof(*effect));
    PGconn *c = begin(d);
    if (!c)
        return CMN_ERR_DB;
    gw_dir_user_t before;
    const char *why = NULL;
    int rc = lock_user(d, c, id, arena, &before);
    gw_scim_user_t u = before.user;
    if (rc == 0)
        rc = edit(edit_arg, arena, &u, &why);
    PGresult *res = NULL;
    if (rc == 0) {
        const char *params[6] = {id, u.user_name, u.external_id, u.display_name, u.email,
                                 u.active ? "true" : "false"};
        rc = gw_store_run(d->store, c, "changing a user",
                       "UPDATE directory_user SET user_name = $2, external_id = $3, display_name "
                       "= $4, email = $5, active = $6, updated_at = now(), version = "
                       "nextval('directory_version') WHERE id = $1 RETURNING " USER_COLUMNS,
                       6, params, &res);
    }
    if (rc == 0)
        user_from(res, 0, arena, out);
    PQclear(res);
    /* Deactivated (now or again: idempotent), under its old ties and its new ones: a change of
     * userName or externalId in the same request must not leave the old identity working. */
    if (rc == 0 && !u.active) {
        rc = deprovision(d, c, before.user.external_id, before.user.user_name, effect);
        if (rc == 0 && (strcmp(u.user_name, before.user.user_name) != 0 ||
                        (u.external_id != before.user.external_id &&
                         (!u.external_id || !before.user.external_id ||
                          strcmp(u.external_id, before.user.external_id) != 0))))
            rc = deprovision(d, c, u.external_id, u.user_name, effect);
    }
    return finish(d, c, rc, confirm, arg, id, "changing a user");
}

int gw_directory_user_delete(gw_directory_t *d, const char *id, gw_tokens_confirm_fn confirm,
                             void *arg, cmn_arena_t *arena, gw_dir_user_t *out,
                             gw_dir_effect_t *effect)
{
    memset(effect, 0, sizeof(*effect));
    PGconn *c = begin(d);
    if (!c)
        return CMN_ERR_DB;
    int rc = lock_user(d, c, id, arena, out);
    const char *params[1] = {id};
    PGresult *res = NULL;
    if (rc == 0)
        rc = gw_store_run(d->store, c, "deleting a user",
                       "UPDATE directory_user SET active = false, deleted_at = now(), updated_at "
                       "= now(), version = nextval('directory_version') WHERE id = $1",
                       1, params, &res);
    PQclear(res);
    if (rc == 0)
        rc = gw_store_run(d->store, c, "deleting a user",
                       "DELETE FROM directory_member WHERE user_id = $1", 1, params, &res);
    PQclear(res);
    if (rc == 0)
        rc = deprovision(d, c, out->user.external_id, out->user.user_name, effect);
    return finish(d, c, rc, confirm, arg, id, "deleting a user");
}

/* ---- groups ---------------------------------------------------------------------------------- */

/* The group's live members, into out->group. */
static int members(gw_directory_t *d, PGconn *c, const char *id, cmn_arena_t *arena,
                   gw_dir_group_t *out)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "reading members",
                       "SELECT m.user_id FROM directory_member m JOIN directory_user u ON u.id = "
                       "m.user_id AND u.deleted_at IS NULL WHERE m.group_id = $1 ORDER BY "
                       "m.user_id",
                       1, params, &res);
    size_t n = rc == 0 ? (size_t)PQntuples(res) : 0;
    out->group.members = n ? cmn_arena_alloc(arena, n * sizeof(char *)) : NULL;
    if (n && !out->group.members)
        rc = CMN_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        out->group.members[i] = copy(arena, res, (int)i, 0);
    out->group.n_members = rc == 0 ? n : 0;
    PQclear(res);
    return rc;
}

static int read_group(gw_directory_t *d, PGconn *c, const char *id, int lock, cmn_arena_t *arena,
                      gw_dir_group_t *out)
{
    const char *params[1] = {id};
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "reading a group",
                       lock ? "SELECT " GROUP_COLUMNS " FROM directory_group WHERE id = $1 AND "
                              "deleted_at IS NULL FOR UPDATE"
                            : "SELECT " GROUP_COLUMNS " FROM directory_group WHERE id = $1 AND "
                              "deleted_at IS NULL",
                       1, params, &res);
    if (rc == 0 && PQntuples(res) != 1)
        rc = CMN_ERR_NOTFOUND;
    if (rc == 0) {
        memset(out, 0, sizeof(*out));
        out->meta.id = copy(arena, res, 0, 0);
        out->group.display_name = copy(arena, res, 0, 1);
        out->group.external_id = copy(arena, res, 0, 2);
        out->meta.created = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        out->meta.last_modified = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    }
    PQclear(res);
    return rc == 0 ? members(d, c, id, arena, out) : rc;
}

/* `{a,b,c}`: a PostgreSQL array literal of ids (ids are URL-safe: no quoting needed, but any
 * other character is refused). */
static const char *id_array(cmn_arena_t *a, const char *const *ids, size_t n)
{
    cmn_buf_t b;
    cmn_buf_init(&b, 16 * 1024 * 1024);
    cmn_buf_puts(&b, "{");
    for (size_t i = 0; i < n; i++) {
        for (const char *p = ids[i]; *p; p++) {
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *p)) {
                cmn_buf_free(&b);
                return ""; /* no such user can exist: it matches none */
            }
        }
        cmn_buf_printf(&b, "%s\"%s\"", i ? "," : "", ids[i]);
    }
    cmn_buf_puts(&b, "}");
    const char *out = b.data ? cmn_arena_strndup(a, b.data, b.len) : NULL;
    cmn_buf_free(&b);
    return out;
}

static int add_members(gw_directory_t *d, PGconn *c, const char *id, const char *const *ids,
                       size_t n, cmn_arena_t *arena, gw_dir_effect_t *e)
{
    const char *arr = id_array(arena, ids, n);
    if (!arr)
        return CMN_ERR_NOMEM;
    if (!*arr || n == 0)
        return 0;
    const char *params[2] = {id, arr};
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "adding members",
                       "INSERT INTO directory_member (group_id, user_id) SELECT $1, u.id FROM "
                       "directory_user u WHERE u.id = ANY($2::text[]) AND u.deleted_at IS NULL "
                       "ON CONFLICT DO NOTHING",
                       2, params, &res);
    e->members_added += affected(res);
    PQclear(res);
    return rc;
}

static int remove_members(gw_directory_t *d, PGconn *c, const char *id, const char *const *ids,
                          size_t n, int all, cmn_arena_t *arena, gw_dir_effect_t *e)
{
    const char *arr = all ? "{}" : id_array(arena, ids, n);
    if (!arr)
        return CMN_ERR_NOMEM;
    if (!all && (!*arr || n == 0))
        return 0;
    const char *params[2] = {id, arr};
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "removing members",
                       all ? "DELETE FROM directory_member WHERE group_id = $1"
                           : "DELETE FROM directory_member WHERE group_id = $1 AND user_id = "
                             "ANY($2::text[])",
                       all ? 1 : 2, params, &res);
    e->members_removed += affected(res);
    PQclear(res);
    return rc;
}

int gw_directory_group_create(gw_directory_t *d, const gw_scim_group_t *g,
                              gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                              gw_dir_group_t *out, gw_dir_effect_t *effect)
{
    memset(effect, 0, sizeof(*effect));
    const char *id = cmn_b64url_random(arena, "grp_", 12);
    if (!id)
        return CMN_ERR_NOMEM;
    const char *params[3] = {id, g->display_name, g->external_id};
    PGconn *c = begin(d);
    if (!c)
        return CMN_ERR_DB;
    PGresult *res = NULL;
    int rc = gw_store_run(d->store, c, "creating a group",
                       "INSERT INTO directory_group (id, display_name, external_id) VALUES ($1, "
                       "$2, $3)",
                       3, params, &res);
    PQclear(res);
    if (rc == 0)
        rc = add_members(d, c, id, g->members, g->n_members, arena, effect);
    if (rc == 0)
        rc = read_group(d, c, id, 0, arena, out);
    return finish(d, c, rc, confirm, arg, id, "creating a group");
}

int gw_directory_group_get(gw_directory_t *d, const char *id, cmn_arena_t *arena,
                           gw_dir_group_t *out)
{
    PGconn *c = gw_store_acquire(d->store);
    int rc = c ? read_group(d, c, id, 0, arena, out) : CMN_ERR_DB;
    gw_store_release(d->store, c);
    return rc;
}

int gw_directory_group_change(gw_directory_t *d, const char *id, const gw_scim_group_t *replace,
                              const gw_scim_group_patch_t *patch, gw_tokens_confirm_fn confirm,
                              void *arg, cmn_arena_t *arena, gw_dir_group_t *out,
                              gw_dir_effect_t *effect)
{
    memset(effect, 0, sizeof(*effect));
    PGconn *c = begin(d);
    if (!c)
        return CMN_ERR_DB;
    gw_dir_group_t before;
    int rc = read_group(d, c, id, 1, arena, &before);
    const char *name = replace ? replace->display_name
                       : patch && patch->display_name ? patch->display_name
                                                      : before.group.display_name;
    const char *external = replace ? replace->external_id : before.group.external_id;
    PGresult *res = NULL;
    if (rc == 0) {
        const char *params[3] = {id, name, external};
        rc = gw_store_run(d->store, c, "changing a group",
                       "UPDATE directory_group SET display_name = $2, external_id = $3, "
                       "updated_at = now(), version = nextval('directory_version') WHERE id = $1",
                       3, params, &res);
        PQclear(res);
    }
    if (rc == 0 && replace) {
        rc = remove_members(d, c, id, NULL, 0, 1, arena, effect);
        if (rc == 0)
            rc = add_members(d, c, id, replace->members, replace->n_members, arena, effect);
    } else if (rc == 0 && patch) {
        if (patch->replace_members)
            rc = remove_members(d, c, id, NULL, 0, 1, arena, effect);
        if (rc == 0)
            rc = add_members(d, c, id, patch->add, patch->n_add, arena, effect);
        if (rc == 0)
            rc = remove_members(d, c, id, patch->remove, patch->n_remove, 0, arena, effect);
    }
    if (rc == 0)
        rc = read_group(d, c, id, 0, arena, out);
    return finish(d, c, rc, confirm, arg, id, "changing a group");
}

int gw_directory_group_delete(gw_directory_t *d, const char *id, gw_tokens_confirm_fn confirm,
                              void *arg, cmn_arena_t *arena, gw_dir_group_t *out,
                              gw_dir_effect_t *effect)
{
    memset(effect, 0, sizeof(*effect));
    PGconn *c = begin(d);
    if (!c)
        return CMN_ERR_DB;
    int rc = read_group(d, c, id, 1, arena, out);
    const char *params[1] = {id};
    PGresult *res = NULL;
    if (rc == 0)
        rc = gw_store_run(d->store, c, "deleting a group",
                       "UPDATE directory_group SET deleted_at = now(), updated_at = now(), "
                       "version = nextval('directory_version') WHERE id = $1",
                       1, params, &res);
    PQclear(res);
    if (rc == 0)
        rc = remove_members(d, c, id, NULL, 0, 1, arena, effect);
    return finish(d, c, rc, confirm, arg, id, "deleting a group");
}

/* ---- listing --------------------------------------------------------------------------------- */

int gw_directory_list(gw_directory_t *d, int groups, const gw_scim_term_t *terms, size_t n,
                      size_t start, size_t count, int with_members, const char *base,
                      cmn_arena_t *arena, json_t **resources, size_t *total)
{
    static const struct {
        int groups;
        const char *attr, *sql;
    } known[] = {
        /* each compares its column with the parameter $N, N written after it */
        {0, "id", "id = $"},
        {0, "userName", "lower(user_name) = lower($"},
        {0, "externalId", "external_id = $"},
        {0, "displayName", "display_name = $"},
        {0, "emails.value", "lower(email) = lower($"},
        {1, "id", "id = $"},
        {1, "displayName", "lower(display_name) = lower($"},
        {1, "externalId", "external_id = $"},
        {1, "members.value",
         "EXISTS (SELECT 1 FROM directory_member m WHERE m.group_id = directory_group.id AND "
         "m.user_id = $"},
    };
    cmn_buf_t where;
    cmn_buf_init(&where, 8192);
    cmn_buf_puts(&where, "deleted_at IS NULL");
    const char *params[16];
    if (n > 14)
        return CMN_ERR_UNSUPPORTED;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < sizeof(known) / sizeof(known[0]) &&
               !(known[k].groups == groups && strcmp(known[k].attr, terms[i].attr) == 0))
            k++;
        if (k == sizeof(known) / sizeof(known[0])) {
            cmn_buf_free(&where);
            return CMN_ERR_UNSUPPORTED;
        }
        const char *sql = known[k].sql;
        size_t opens = 0; /* the parentheses its start opened */
        for (const char *p = sql; *p; p++)
            opens += *p == '(' ? 1 : *p == ')' ? (size_t)-1 : 0;
        cmn_buf_printf(&where, " AND %s%zu", sql, i + 1);
        for (size_t o = 0; o < opens; o++)
            cmn_buf_puts(&where, ")");
        params[i] = terms[i].value;
    }
    char lim[24], off[24];
    snprintf(lim, sizeof(lim), "%zu", count);
    snprintf(off, sizeof(off), "%zu", start > 0 ? start - 1 : 0);
    params[n] = lim;
    params[n + 1] = off;
    const char *sql = cmn_arena_printf(
        arena,
        "SELECT %s, count(*) OVER () FROM %s WHERE %s ORDER BY created_at, id LIMIT $%zu OFFSET "
        "$%zu",
        groups ? GROUP_COLUMNS : USER_COLUMNS, groups ? "directory_group" : "directory_user",
        where.data ? where.data : "false", n + 1, n + 2);
    cmn_buf_free(&where);
    if (!sql)
        return CMN_ERR_NOMEM;
    PGconn *c = gw_store_acquire(d->store);
    PGresult *res = gw_store_query(d->store, c, "listing the directory", sql, (int)n + 2, params,
                                   NULL, NULL);
    int rc = res ? 0 : CMN_ERR_DB;
    json_t *out = rc == 0 ? json_array() : NULL;
    *total = 0;
    int cols = groups ? 5 : 8;
    /* a page past the end still knows the total: count it apart */
    if (rc == 0 && PQntuples(res) == 0 && start > 1) {
        PGresult *cnt = gw_store_query(
            d->store, c, "counting the directory",
            cmn_arena_printf(arena, "SELECT count(*) FROM %s WHERE deleted_at IS NULL",
                             groups ? "directory_group" : "directory_user"),
            0, NULL, NULL, NULL);
        if (cnt && PQntuples(cnt) == 1 && n == 0)
            *total = (size_t)strtoull(PQgetvalue(cnt, 0, 0), NULL, 10);
        PQclear(cnt);
    }
    for (int i = 0; out && i < PQntuples(res); i++) {
        *total = (size_t)strtoull(PQgetvalue(res, i, cols), NULL, 10);
        json_t *item = NULL;
        if (groups) {
            gw_dir_group_t g;
            memset(&g, 0, sizeof(g));
            g.meta.id = copy(arena, res, i, 0);
            g.group.display_name = copy(arena, res, i, 1);
            g.group.external_id = copy(arena, res, i, 2);
            g.meta.created = strtoll(PQgetvalue(res, i, 3), NULL, 10);
            g.meta.last_modified = strtoll(PQgetvalue(res, i, 4), NULL, 10);
            if (with_members && members(d, c, g.meta.id, arena, &g) != 0) {
                rc = CMN_ERR_DB;
                break;
            }
            item = gw_scim_group_json(&g.group, &g.meta, base, with_members);
        } else {
            gw_dir_user_t u;
            user_from(res, i, arena, &u);
            item = gw_scim_user_json(&u.user, &u.meta, base);
        }
        if (!item || json_array_append_new(out, item) != 0) {
            rc = CMN_ERR_NOMEM;
            break;
        }
    }
    PQclear(res);
    gw_store_release(d->store, c);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *resources = out;
    return 0;
}
