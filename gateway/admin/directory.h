/* The SCIM directory's people and groups in PostgreSQL (directory_user, directory_group,
 * directory_member; docs/sign-in.md, "Deprovisioning"), and what a change of theirs does to
 * access: deactivating or deleting a person revokes their hubgate tokens and refresh tokens,
 * ends their browser sessions and denies the device sign-ins they approved but that were not
 * issued yet — in the same transaction as the change and its audit event. Every change moves
 * the directory's version, which every gateway polls (authn/deprovisioned.h). */
#ifndef HUBGATE_GATEWAY_ADMIN_DIRECTORY_H
#define HUBGATE_GATEWAY_ADMIN_DIRECTORY_H

#include <jansson.h>
#include <stddef.h>

#include "common/arena.h"
#include "gateway/admin/scim_parse.h"
#include "gateway/authn/store.h"
#include "gateway/authn/tokens.h"

typedef struct gw_directory gw_directory_t;

/* Over store's database. NULL when out of memory. */
gw_directory_t *gw_directory_create(gw_store_t *store);
void gw_directory_destroy(gw_directory_t *d);

typedef struct {
    gw_scim_user_t user;
    gw_scim_meta_t meta;
} gw_dir_user_t;

typedef struct {
    gw_scim_group_t group;
    gw_scim_meta_t meta;
} gw_dir_group_t;

/* What a change did to access (details of its directory.changed event). */
typedef struct {
    int deprovisioned; /* the change ended the person's access */
    long revoked_tokens, ended_sessions, denied_devices, revoked_refresh;
    long members_added, members_removed;
} gw_dir_effect_t;

/* Edits a stored user or group in place (a PUT's new state, or a PatchOp applied); 0, or a
 * cmn_err_t with *why. */
typedef int (*gw_dir_user_edit_fn)(void *arg, cmn_arena_t *arena, gw_scim_user_t *u,
                                   const char **why);

/* Users. Each change runs in a transaction that commits only when confirm(arg, info) returns 0
 * (info: {id}; the effect is filled before confirm runs). Returns 0, CMN_ERR_NOTFOUND (no such
 * live user), CMN_ERR_CONFLICT (userName taken), CMN_ERR_DB, or confirm's or edit's result.
 * Blocks. */
int gw_directory_user_create(gw_directory_t *d, const gw_scim_user_t *u,
                             gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                             gw_dir_user_t *out, gw_dir_effect_t *effect);
int gw_directory_user_get(gw_directory_t *d, const char *id, cmn_arena_t *arena,
                          gw_dir_user_t *out);
int gw_directory_user_edit(gw_directory_t *d, const char *id, gw_dir_user_edit_fn edit,
                           void *edit_arg, gw_tokens_confirm_fn confirm, void *arg,
                           cmn_arena_t *arena, gw_dir_user_t *out, gw_dir_effect_t *effect);
int gw_directory_user_delete(gw_directory_t *d, const char *id, gw_tokens_confirm_fn confirm,
                             void *arg, cmn_arena_t *arena, gw_dir_user_t *out,
                             gw_dir_effect_t *effect);

/* Groups, the same way. A group's members are hubgate user ids; ids of no live user are
 * ignored. */
int gw_directory_group_create(gw_directory_t *d, const gw_scim_group_t *g,
                              gw_tokens_confirm_fn confirm, void *arg, cmn_arena_t *arena,
                              gw_dir_group_t *out, gw_dir_effect_t *effect);
int gw_directory_group_get(gw_directory_t *d, const char *id, cmn_arena_t *arena,
                           gw_dir_group_t *out);
/* A PUT (replace = the whole group: name, externalId, members) or a PatchOp (patch). */
int gw_directory_group_change(gw_directory_t *d, const char *id, const gw_scim_group_t *replace,
                              const gw_scim_group_patch_t *patch, gw_tokens_confirm_fn confirm,
                              void *arg, cmn_arena_t *arena, gw_dir_group_t *out,
                              gw_dir_effect_t *effect);
int gw_directory_group_delete(gw_directory_t *d, const char *id, gw_tokens_confirm_fn confirm,
                              void *arg, cmn_arena_t *arena, gw_dir_group_t *out,
                              gw_dir_effect_t *effect);

/* A page of live users or groups matching every term (userName, emails.value and displayName
 * without regard to case), ordered by creation: resources (a new array of SCIM resources, built
 * with base), *total the matches. start is 1-based; count ≤ 1000. with_members: groups only.
 * Returns 0, CMN_ERR_UNSUPPORTED (an attribute this resource has no filter on), CMN_ERR_DB. */
int gw_directory_list(gw_directory_t *d, int groups, const gw_scim_term_t *terms, size_t n,
                      size_t start, size_t count, int with_members, const char *base,
                      cmn_arena_t *arena, json_t **resources, size_t *total);

#endif
