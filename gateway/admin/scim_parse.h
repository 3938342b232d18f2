/* SCIM 2.0 (RFC 7643, RFC 7644) as Okta and Entra speak it to /scim/v2/: their request bodies
 * and filters read into plain structs, and the JSON answers hubgate gives them. The shapes
 * accepted are those their SCIM documentation shows — `op` in any case, `active` as a boolean
 * or a "False"/"true" string, path-less operations whose keys are paths ("name.givenName"),
 * both forms of member removal, `"$ref": null` — and nothing here trusts
 * the directory further than that: every string hubgate keeps is bounded and free of control
 * characters, and a request that would change a person's `active` or a group's members in a
 * way this module cannot read is refused whole, never half-applied.
 *
 * Pure: no database, no HTTP, no globals, never blocks. Strings handed back live in the
 * caller's arena (a request's); bodies are the caller's bytes, read with jansson and refused
 * when a key repeats. Errors are common/err.h codes with a one-line reason in *why, static or
 * in the arena, fit to send to the directory as an Error's "detail":
 *   CMN_ERR_PARSE        not JSON, wrong types, a missing or invalid value, a path hubgate
 *                        cannot apply (the handler answers 400, scimType invalidValue, or
 *                        invalidPath / noTarget where the reason says so)
 *   CMN_ERR_TOOBIG       a body or a member list past the caps below (413)
 *   CMN_ERR_UNSUPPORTED  a filter other than `attr eq value [and …]` (400 invalidFilter)
 *   CMN_ERR_NOMEM        the arena or the allocator is exhausted (hubgate's failure, 500) */
#ifndef HUBGATE_GATEWAY_ADMIN_SCIM_PARSE_H
#define HUBGATE_GATEWAY_ADMIN_SCIM_PARSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"

/* What a directory can make hubgate hold (the caller reads at most GW_SCIM_MAX_BODY_BYTES of
 * a body; the parsers refuse more too). */
#define GW_SCIM_MAX_BODY_BYTES   (2 * 1024 * 1024)
#define GW_SCIM_MAX_STRING_BYTES 256   /* userName, externalId, names, emails, member ids */
#define GW_SCIM_MAX_MEMBERS      10000 /* member ids in one group body or PatchOp */
#define GW_SCIM_MAX_OPERATIONS   10000 /* Operations in one PatchOp */
#define GW_SCIM_MAX_PATH_BYTES   512   /* one operation's "path" */
#define GW_SCIM_MAX_FILTER_BYTES 1024  /* the decoded filter= parameter */

/* ---- Users ------------------------------------------------------------------------- */

/* A person as hubgate keeps them. Strings are NUL-terminated, at most GW_SCIM_MAX_STRING_BYTES,
 * without control characters; the parsers put them in the arena. */
typedef struct {
    const char *user_name;    /* "userName": never NULL or empty once parsed */
    const char *external_id;  /* "externalId", or NULL */
    const char *display_name; /* "displayName", else name.formatted, else name.givenName and
                                 name.familyName joined by a space, or NULL */
    const char *email;        /* the primary email's value, else the first one's, or NULL */
    int active;               /* 1 unless the directory said false */
} gw_scim_user_t;

/* Which fields a PatchOp named (gw_scim_user_patch's *touched), whether or not the value
 * changed: deactivating twice touches GW_SCIM_USER_ACTIVE twice, and is idempotent. */
enum {
    GW_SCIM_USER_NAME = 1u << 0,
    GW_SCIM_USER_EXTERNAL_ID = 1u << 1,
    GW_SCIM_USER_DISPLAY_NAME = 1u << 2,
    GW_SCIM_USER_EMAIL = 1u << 3,
    GW_SCIM_USER_ACTIVE = 1u << 4,
};

/* Reads a User resource as POSTed (create) or PUT (replace) from body[0..len) (no NUL needed):
 * userName (required, non-empty), externalId, displayName, name.{formatted,givenName,
 * familyName}, emails[].{value,primary}, active (default 1: a PUT without it reactivates).
 * Attribute names match in any case, with or without the core schema's URN; an attribute
 * given twice (in two cases) is refused. Unknown attributes, extension schemas, "password",
 * "groups", "schemas", "id", "meta" and JSON nulls are ignored. On 0 fills *out (strings in
 * arena a); on error *out is zeroed (active 1) and *why says why. Borrows body. */
int gw_scim_user_parse(const char *body, size_t len, cmn_arena_t *a, gw_scim_user_t *out,
                       const char **why);

/* Applies a PatchOp (body[0..len)) to *u, the stored user, in place and all or nothing: on an
 * error *u is left as it was. Operations run in order; "op" is add, replace or remove in any
 * case. With a "path" the value goes there; without one, each key of an object value is a path
 * of its own (Okta's {"active": false}, Entra's {"name.givenName": …}). Paths hubgate applies:
 *   active             boolean, or the string "true"/"false" in any case (Entra: "False");
 *                      removing it is refused
 *   userName           a non-empty string; removing it is refused
 *   externalId         a string; remove (or null) clears it
 *   displayName, name, name.formatted, name.givenName, name.familyName
 *                      the display name is chosen as on create, from what this request
 *                      carries: displayName, else name.formatted, else givenName and
 *                      familyName when both are carried; a request carrying only one half of
 *                      a name leaves display_name as it was
 *   emails, emails.value, emails[type eq "work"], emails[primary eq true] (and their .value)
 *                      the address kept (other types' addresses are ignored)
 * Other attributes (title, phoneNumbers, extension schemas, password, id …) are ignored. A
 * path-less remove is refused (noTarget). *touched (may be NULL) gets the GW_SCIM_USER_* bits
 * of the fields named; the caller compares the old and new active to decide on deprovisioning.
 * New strings are put in arena a; *u's other strings are kept as they were (borrowed). */
int gw_scim_user_patch(const char *body, size_t len, cmn_arena_t *a, gw_scim_user_t *u,
                       unsigned *touched, const char **why);

/* ---- Groups ------------------------------------------------------------------------ */

/* A group as POSTed or PUT: displayName (required, non-empty), externalId, members[].value
 * (user ids; "$ref", "display" and "type" ignored; repeats kept: the store ignores them). */
typedef struct {
    const char *display_name;
    const char *external_id; /* or NULL */
    const char **members;    /* n_members ids, in the arena; NULL when there are none */
    size_t n_members;
} gw_scim_group_t;

/* Reads a Group resource from body[0..len), as gw_scim_user_parse reads a User (same rules
 * for names, nulls and unknown attributes). More than GW_SCIM_MAX_MEMBERS members is
 * CMN_ERR_TOOBIG. On 0 fills *out (in arena a); on error *out is zeroed. */
int gw_scim_group_parse(const char *body, size_t len, cmn_arena_t *a, gw_scim_group_t *out,
                        const char **why);

/* A PatchOp on a group, reduced to what the store does: if replace_members, drop every member;
 * then add `add`; then remove `remove`. The two lists never share an id (a later operation on
 * an id cancels an earlier one), so their order does not matter. */
typedef struct {
    const char *display_name; /* a rename, or NULL */
    int replace_members;      /* 1: the members become exactly `add` (less `remove`) */
    const char **add;
    size_t n_add;
    const char **remove;
    size_t n_remove;
} gw_scim_group_patch_t;

/* Reads a PatchOp on a group from body[0..len). Accepted:
 *   Okta:  remove, path members[value eq "id"]; add, path members, a value array; replace,
 *          path members, a value array (all members); a path-less replace of {id, displayName}
 *   Entra: Remove, path members, value [{"value": "id"}]; Add with [{"$ref": null, "value":
 *          "id"}]; Replace, path displayName
 *   remove with path members and no value drops every member.
 * Any other shape touching members (members.x, a filter other than value eq, add or replace
 * with a filter) is refused, as is removing displayName; other attributes (externalId, id …)
 * are ignored. More than GW_SCIM_MAX_MEMBERS ids in one request is CMN_ERR_TOOBIG. Costs up
 * to n_add × n_remove comparisons. On 0 fills *out (in arena a); on error *out is zeroed. */
int gw_scim_group_patch_parse(const char *body, size_t len, cmn_arena_t *a,
                              gw_scim_group_patch_t *out, const char **why);

/* ---- Filters ----------------------------------------------------------------------- */

/* One `attr eq value` of a filter. attr is canonical (static): "id", "userName", "externalId",
 * "displayName", "emails.value" or "members.value"; value is as sent (in the arena), its case
 * kept: matching userName, externalId and emails without regard to case (RFC 7643 caseExact
 * false) is the caller's job. */
typedef struct {
    const char *attr;
    const char *value;
} gw_scim_term_t;

/* Reads a filter= value (already percent-decoded, NUL-terminated): terms `ATTR eq VALUE`
 * joined by `and`, operators and attribute names in any case, attributes with or without the
 * core schema's URN. ATTR is one of the canonical names above, or emails /
 * emails[type eq "work"].value / emails[primary eq true].value (all "emails.value"), or
 * members ("members.value"). VALUE is a JSON string, or one unquoted word (Entra's documented
 * `externalId eq jyoung`, kept as written). Everything else — or, not, parentheses, other
 * operators (co, sw, pr …), other attributes, more than cap terms, more than
 * GW_SCIM_MAX_FILTER_BYTES, control characters — is CMN_ERR_UNSUPPORTED with *why. On 0,
 * terms[0..*n) are filled (*n ≥ 1). */
int gw_scim_filter_parse(const char *filter, cmn_arena_t *a, gw_scim_term_t *terms, size_t cap,
                         size_t *n, const char **why);

/* ---- Answers ----------------------------------------------------------------------- */
/* Each returns a new reference (the caller json_decref's), or NULL when out of memory or when a
 * string given is not UTF-8. base is the absolute URL of /scim/v2 as the directory reaches it
 * ("https://hubgate.example/scim/v2"; a trailing '/' is ignored); borrowed, like everything
 * else unless said. Nothing blocks. */

/* What hubgate says of a resource beside its attributes. */
typedef struct {
    const char *id;        /* hubgate's id; URL-safe, as it goes into meta.location unescaped */
    int64_t created;       /* Unix seconds, shown as RFC 3339 UTC */
    int64_t last_modified; /* Unix seconds */
} gw_scim_meta_t;

/* A User resource: schemas, id, externalId, userName, displayName, emails (the one address,
 * type work, primary), active, meta {resourceType, created, lastModified, location}. Absent
 * values are left out, not null. */
json_t *gw_scim_user_json(const gw_scim_user_t *u, const gw_scim_meta_t *m, const char *base);

/* A Group resource: schemas, id, displayName, externalId, meta, and — when with_members (not
 * when the directory asked excludedAttributes=members) — members [{value, $ref}]; g->members
 * are hubgate's user ids (URL-safe: they go into $ref unescaped), not ids as a directory sent
 * them. */
json_t *gw_scim_group_json(const gw_scim_group_t *g, const gw_scim_meta_t *m, const char *base,
                           int with_members);

/* A ListResponse: totalResults, startIndex (1-based) and itemsPerPage as integers, Resources.
 * Takes ownership of resources (a JSON array, the page), also on failure. */
json_t *gw_scim_list_json(json_t *resources, size_t total_results, size_t start_index);

/* An Error: status as a string ("409"), scimType and detail when not NULL. */
json_t *gw_scim_error_json(unsigned status, const char *scim_type, const char *detail);

/* /ServiceProviderConfig: patch and filter supported (filter.maxResults = max_results), bulk,
 * sort, etag and changePassword not; authentication by OAuth bearer token. */
json_t *gw_scim_service_provider_config_json(const char *base, size_t max_results);

/* /ResourceTypes: a ListResponse of User (/Users) and Group (/Groups). */
json_t *gw_scim_resource_types_json(const char *base);

/* /Schemas: a ListResponse of the User and Group schemas, with the attributes hubgate keeps
 * (User: userName, displayName, emails, active; Group: displayName, members). */
json_t *gw_scim_schemas_json(const char *base);

#endif
