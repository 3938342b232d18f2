/* The `orgs` section: each org's regions, members, resource groups and `require` conditions.
 * An org's members and its resource groups' members share one array (members first), so that
 * one hash table per org finds every entry naming a subject. */
#include "policy/parse_orgs.h"

#include <string.h>
#include <strings.h>

#define MEMBERS_EXPECTED "an array of {\"group\"|\"email\", \"role\"} entries"

static int org_has_region(const org_t *o, const char *r)
{
    for (size_t k = 0; k < o->nregions; k++) {
        if (strcmp(o->regions[k], r) == 0)
            return 1;
    }
    return 0;
}

static void parse_regions(pol_parser_t *ps, const char *ptr, json_t *obj, org_t *o)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    o->regions_path = pol_parser_printf(ps, "%s.regions", o->path);
    json_t *regions = pol_parser_array(ps, ptr, obj, "regions", 0,
                                       "an array of region names from the configuration",
                                       "region (or no \"regions\": the default region)", p);
    if (!regions)
        return;
    size_t n = json_array_size(regions);
    o->regions = pol_parser_alloc(ps, (n ? n : 1) * sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(regions, i, v)
    {
        cmn_jdiag_join_index(q, p, i);
        const char *r = json_string_value(v);
        if (!r || !*r) {
            ERR(ps, q, 0, "found %s, expected a region name",
                r ? "an empty string" : cmn_jdiag_type(v));
            continue;
        }
        if (!pol_parser_region(ps, q, r))
            continue;
        if (org_has_region(o, r)) {
            ERR(ps, q, 0, "duplicate region \"%s\" (each region once)", r);
            continue;
        }
        if (o->regions)
            o->regions[o->nregions++] = pol_parser_dup(ps, r);
    }
}

/* repo_regions: [{"repos": [patterns inside the org], "region": one of the org's regions}] */
static void parse_repo_regions(pol_parser_t *ps, const char *ptr, json_t *obj, org_t *o)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    json_t *arr = cmn_jdiag_get(&ps->diag, ptr, obj, "repo_regions", JSON_ARRAY, 0,
                                "an array of {\"repos\", \"region\"} objects");
    if (!arr)
        return;
    cmn_jdiag_join(p, ptr, "repo_regions");
    size_t n = json_array_size(arr);
    o->repo_regions = pol_parser_alloc(ps, (n ? n : 1) * sizeof(repo_region_t));
    if (!o->repo_regions)
        return;
    static const char *const keys[] = {"repos", "region", NULL};
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        cmn_jdiag_join_index(q, p, i);
        if (!json_is_object(e)) {
            ERR(ps, q, 0, "found %s, expected an object with repos, region", cmn_jdiag_type(e));
            continue;
        }
        cmn_jdiag_keys(&ps->diag, q, e, keys);
        repo_region_t *rr = &o->repo_regions[o->nrepo_regions];
        rr->repos = pol_parser_patterns(ps, q, e, "repos", 1, o->lname, &rr->nrepos);
        const char *r = pol_parser_string(ps, q, e, "region", 1, POL_MAX_NAME_BYTES,
                                          "a region name from the org's regions");
        if (!r)
            continue;
        if (!org_has_region(o, r)) {
            char rq[CMN_JDIAG_PTR_MAX];
            ERR(ps, cmn_jdiag_join(rq, q, "region"), 0,
                "region \"%s\" is not one of %s (a repo may live only where its org does)", r,
                o->regions_path ? o->regions_path : "the org's regions");
            continue;
        }
        rr->region = pol_parser_dup(ps, r);
        o->nrepo_regions++;
    }
}

/* The member entries of arr (at ptr, shown as disp) into out[*n...]; rgroup -1 for the org's
 * own members, else the resource group's index. */
static void parse_members(pol_parser_t *ps, const char *ptr, json_t *arr, int rgroup,
                          const char *disp, member_t *out, size_t *n)
{
    char q[CMN_JDIAG_PTR_MAX];
    size_t first = *n;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        pol_who_entry_t w;
        if (pol_parser_who(ps, cmn_jdiag_join_index(q, ptr, i), e, 1, rgroup >= 0, &w) != 0)
            continue;
        const char *what = w.kind == WHO_GROUP ? "group" : "email";
        int dupl = 0;
        for (size_t k = first; k < *n && !dupl; k++) {
            dupl = out[k].kind == w.kind && pol_who_equal(w.kind, out[k].value, w.value);
            if (dupl)
                ERR(ps, q, 0, "duplicate member %s \"%s\" (already %s, role %s; one entry per %s)",
                    what, w.value, out[k].path, pol_role_name(out[k].role), what);
        }
        if (dupl)
            continue;
        out[(*n)++] = (member_t){.kind = w.kind,
                                 .value = pol_parser_who_value(ps, w.kind, w.value),
                                 .hash = pol_key_hash(w.kind, w.value),
                                 .role = w.role,
                                 .rgroup = rgroup,
                                 .path = pol_parser_printf(ps, "%s[%zu]", disp, i)};
    }
}

/* The `members` array (list) of the org at ptr (rgroup -1) or of its resource group at ptr
 * (rgroup its index), shown as owner_path. */
static void parse_member_list(pol_parser_t *ps, const char *ptr, json_t *list, int rgroup,
                              const char *owner_path, org_t *o)
{
    char p[CMN_JDIAG_PTR_MAX];
    cmn_jdiag_join(p, ptr, "members");
    const char *disp = pol_parser_printf(ps, "%s.members", owner_path);
    parse_members(ps, p, list, rgroup, disp ? disp : "", o->members, &o->nmembers);
}

static void parse_rgroup(pol_parser_t *ps, const char *p, json_t *rg, size_t i, org_t *o)
{
    static const char *const keys[] = {"name", "repos", "members", NULL};
    char q[CMN_JDIAG_PTR_MAX];
    if (!json_is_object(rg)) {
        ERR(ps, p, 0, "found %s, expected an object with name, repos, members", cmn_jdiag_type(rg));
        return;
    }
    cmn_jdiag_keys(&ps->diag, p, rg, keys);
    rgroup_t *g = &o->rgroups[o->nrgroups];
    g->path = pol_parser_printf(ps, "%s.resource_groups[%zu]", o->path, i);
    g->name = pol_parser_string(ps, p, rg, "name", 1, POL_MAX_NAME_BYTES, "a resource group name");
    for (size_t k = 0; g->name && k < o->nrgroups; k++) {
        if (strcmp(o->rgroups[k].name, g->name) == 0) {
            ERR(ps, cmn_jdiag_join(q, p, "name"), 0,
                "duplicate resource group name \"%s\" (already %s)", g->name, o->rgroups[k].path);
            g->name = NULL;
        }
    }
    g->name = g->name ? pol_parser_dup(ps, g->name) : "";
    g->repos = pol_parser_patterns(ps, p, rg, "repos", 1, o->lname, &g->nrepos);
    json_t *rm = cmn_jdiag_get(&ps->diag, p, rg, "members", JSON_ARRAY, 1, MEMBERS_EXPECTED);
    if (rm && g->path)
        parse_member_list(ps, p, rm, (int)o->nrgroups, g->path, o);
    o->nrgroups++;
}

/* members and resource groups: one member array for both */
static void parse_membership(pol_parser_t *ps, const char *ptr, json_t *obj, org_t *o)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    json_t *members =
        cmn_jdiag_get(&ps->diag, ptr, obj, "members", JSON_ARRAY, 0, MEMBERS_EXPECTED);
    json_t *rgs = cmn_jdiag_get(&ps->diag, ptr, obj, "resource_groups", JSON_ARRAY, 0,
                                "an array of {\"name\", \"repos\", \"members\"} objects");
    size_t cap = members ? json_array_size(members) : 0;
    size_t nrg = rgs ? json_array_size(rgs) : 0;
    for (size_t i = 0; i < nrg; i++) {
        json_t *m = json_object_get(json_array_get(rgs, i), "members");
        cap += json_is_array(m) ? json_array_size(m) : 0;
    }
    o->members = pol_parser_alloc(ps, (cap ? cap : 1) * sizeof(member_t));
    o->rgroups = pol_parser_alloc(ps, (nrg ? nrg : 1) * sizeof(rgroup_t));
    if (!o->members || !o->rgroups)
        return;
    if (members)
        parse_member_list(ps, ptr, members, -1, o->path, o);
    o->norg_members = o->nmembers;
    cmn_jdiag_join(q, ptr, "resource_groups");
    for (size_t i = 0; i < nrg; i++)
        parse_rgroup(ps, cmn_jdiag_join_index(p, q, i), json_array_get(rgs, i), i, o);
}

static const char *const req_words[] = {"read",  "write",   "create", "delete",
                                        "admin", "auditor", NULL};

static void parse_require(pol_parser_t *ps, const char *ptr, json_t *obj, org_t *o)
{
    char p[CMN_JDIAG_PTR_MAX], q[CMN_JDIAG_PTR_MAX];
    json_t *req = cmn_jdiag_get(&ps->diag, ptr, obj, "require", JSON_OBJECT, 0,
                                "an object like {\"write\": {\"mfa\": true}}");
    if (!req)
        return;
    cmn_jdiag_join(p, ptr, "require");
    cmn_jdiag_keys(&ps->diag, p, req, req_words);
    for (int k = 0; k < REQ_COUNT; k++) {
        json_t *c = json_object_get(req, req_words[k]);
        if (!c)
            continue;
        cmn_jdiag_join(q, p, req_words[k]);
        if (!json_is_object(c)) {
            ERR(ps, q, 0,
                "found %s, expected a condition like {\"mfa\": true, "
                "\"networks\": [\"10.0.0.0/8\"]}",
                cmn_jdiag_type(c));
            continue;
        }
        pol_parser_cond(ps, q, c, &o->require[k]);
        o->require_path[k] = pol_parser_printf(ps, "%s.require.%s", o->path, req_words[k]);
    }
}

static void parse_org(pol_parser_t *ps, const char *name, json_t *obj, org_t *o)
{
    static const char *const keys[] = {"regions", "repo_regions", "members", "resource_groups",
                                       "require", NULL};
    char ptr[CMN_JDIAG_PTR_MAX];
    cmn_jdiag_join(ptr, "/orgs", name);
    o->name = pol_parser_dup(ps, name);
    o->lname = pol_parser_dup_lower(ps, name);
    cmn_buf_t path;
    cmn_buf_init(&path, CMN_JDIAG_PTR_MAX);
    cmn_jdiag_path(NULL, ptr, &path);
    o->path = pol_parser_dup(ps, path.data ? path.data : "orgs");
    cmn_buf_free(&path);
    if (!o->path)
        return;
    if (!json_is_object(obj)) {
        ERR(ps, ptr, 0, "found %s, expected an object with %s", cmn_jdiag_type(obj),
            "regions, repo_regions, members, resource_groups, require");
        return;
    }
    cmn_jdiag_keys(&ps->diag, ptr, obj, keys);
    parse_regions(ps, ptr, obj, o);
    parse_repo_regions(ps, ptr, obj, o);
    parse_membership(ps, ptr, obj, o);
    parse_require(ps, ptr, obj, o);
}

void pol_parse_orgs(pol_parser_t *ps, json_t *root)
{
    json_t *orgs = cmn_jdiag_get(&ps->diag, "", root, "orgs", JSON_OBJECT, 0,
                                 "an object mapping org names to their settings");
    if (!orgs)
        return;
    size_t n = json_object_size(orgs);
    pol_policy_t *p = ps->p;
    p->orgs = pol_parser_alloc(ps, (n ? n : 1) * sizeof(org_t));
    if (!p->orgs)
        return;
    /* json_object_foreach iterates in insertion order (jansson ≥ 2.8): file order. */
    const char *name;
    json_t *v;
    json_object_foreach(orgs, name, v)
    {
        char ptr[CMN_JDIAG_PTR_MAX];
        cmn_jdiag_join(ptr, "/orgs", name);
        if (!pol_parser_name_valid(name)) {
            ERR(ps, ptr, 1,
                "\"%s\" is not an org name (expected 1-96 of A-Z a-z 0-9 _ . -, not starting "
                "or ending with . or -, no -- or ..)",
                name);
            continue;
        }
        int dupl = 0;
        for (size_t k = 0; k < p->norgs; k++) {
            if (strcasecmp(p->orgs[k].name, name) == 0) {
                ERR(ps, ptr, 1,
                    "org \"%s\" is the same namespace as \"%s\" (namespaces compare "
                    "case-insensitively)",
                    name, p->orgs[k].name);
                dupl = 1;
            }
        }
        if (dupl)
            continue;
        parse_org(ps, name, v, &p->orgs[p->norgs++]);
    }
}
