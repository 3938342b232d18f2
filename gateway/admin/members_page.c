#include "gateway/admin/members_page.h"

#include "common/err.h"
#include "common/log.h"

#include "gateway/auditlog/request.h"

#include "gateway/authz/authz.h"
#include "gateway/authz/policies.h"

#include "gateway/authn/sessions.h"
#include "gateway/authn/tokens.h"

#include <jansson.h>
#include <string.h>

#define MAX_ORGS 64

/* The orgs `id` holds role admin in, into out (policy strings, valid while p is). */
static size_t admin_orgs(const pol_policy_t *p, const gw_identity_t *id, const char **out)
{
    pol_subject_t s;
    gw_authz_subject(id, &s);
    pol_membership_t m[MAX_ORGS];
    size_t n = pol_subject_orgs(p, &s, m, MAX_ORGS), k = 0;
    for (size_t i = 0; i < n && i < MAX_ORGS; i++) {
        if (m[i].role == POL_ROLE_ADMIN)
            out[k++] = m[i].org;
    }
    return k;
}

/* The first of orgs[0..n) that the owner (a snapshot) belongs to, or NULL. Never the admin
 * themselves: their own tokens are above. */
static const char *member_of(const pol_policy_t *p, gw_request_t *req, const json_t *owner,
                             const char *const *orgs, size_t n)
{
    gw_identity_t who;
    const char *iss = json_string_value(json_object_get(owner, "iss"));
    memset(&who, 0, sizeof(who));
    if (!iss || gw_identity_from_claims(owner, iss, "groups", 0, &req->arena, &who) != 0)
        return NULL;
    if (req->identity.iss && req->identity.sub && strcmp(who.iss, req->identity.iss) == 0 &&
        strcmp(who.sub, req->identity.sub) == 0)
        return NULL;
    pol_subject_t s;
    gw_authz_subject(&who, &s);
    pol_membership_t m[MAX_ORGS];
    size_t k = pol_subject_orgs(p, &s, m, MAX_ORGS);
    for (size_t i = 0; i < k && i < MAX_ORGS; i++) {
        for (size_t j = 0; j < n; j++) {
            if (strcmp(m[i].org, orgs[j]) == 0)
                return orgs[j];
        }
    }
    return NULL;
}

static const char *person(const json_t *owner)
{
    const char *e = json_string_value(json_object_get(owner, "email"));
    return e ? e : json_string_value(json_object_get(owner, "sub"));
}

static void cell(gw_page_t *p, const char *text)
{
    gw_page_html(p, "<td>");
    gw_page_text(p, text);
    gw_page_html(p, "</td>");
}

static void end_button(gw_page_t *p, gw_request_t *req, const char *action, const char *id,
                       const char *label, const char *who)
{
    gw_page_html(p, "<td><form method=\"post\" action=\"/-/tokens\">");
    gw_page_form_token(p, req);
    gw_page_htmlf(p, "<input type=\"hidden\" name=\"action\" value=\"%s\">", action);
    gw_page_html(p, "<input type=\"hidden\" name=\"id\" value=\"");
    gw_page_text(p, id);
    gw_page_html(p, "\"><button type=\"submit\" aria-label=\"");
    gw_page_text(p, label);
    gw_page_html(p, " ");
    gw_page_text(p, who);
    gw_page_html(p, "\">");
    gw_page_text(p, label);
    gw_page_html(p, "</button></form></td>");
}

int gw_members_section(gw_page_t *p, gw_request_t *req)
{
    pol_policy_t *policy = gw_policies_live(req->srv->policies, NULL);
    const char *orgs[MAX_ORGS];
    size_t n = policy ? admin_orgs(policy, &req->identity, orgs) : 0;
    if (n == 0) {
        pol_policy_unref(policy);
        return 0;
    }
    json_t *tokens = gw_tokens_list_live(req->srv->tokens, GW_MEMBERS_PAGE_MAX);
    json_t *sessions = gw_sessions_list_live(req->srv->sessions, NULL, NULL, GW_MEMBERS_PAGE_MAX);
    int rc = tokens && sessions ? 0 : CMN_ERR_DB;
    gw_page_html(p, "<section aria-labelledby=\"members\"><h2 id=\"members\">People of ");
    for (size_t i = 0; i < n; i++) {
        gw_page_html(p, i ? ", " : "");
        gw_page_text(p, orgs[i]);
    }
    gw_page_html(p, " (you administer)</h2>");
    if (rc) {
        gw_page_html(p, "<p class=\"note\">hubgate cannot read their tokens now.</p></section>");
        json_decref(tokens);
        json_decref(sessions);
        pol_policy_unref(policy);
        return rc;
    }
    gw_page_html(p, "<h3>Their tokens</h3><table><thead><tr><th scope=\"col\">Person</th>"
                    "<th scope=\"col\">Org</th><th scope=\"col\">Token</th>"
                    "<th scope=\"col\">Scope</th><th scope=\"col\">Last used</th>"
                    "<th scope=\"col\">Expires</th><th scope=\"col\"><span class=\"muted\">"
                    "Action</span></th></tr></thead><tbody>");
    size_t i;
    json_t *row;
    json_array_foreach(tokens, i, row)
    {
        const json_t *owner = json_object_get(row, "owner");
        const char *org = member_of(policy, req, owner, orgs, n);
        if (!org)
            continue;
        gw_page_html(p, "<tr>");
        cell(p, person(owner));
        cell(p, org);
        cell(p, json_string_value(json_object_get(row, "name")));
        cell(p, json_string_value(json_object_get(row, "scope")));
        const char *used = json_string_value(json_object_get(row, "last_used"));
        cell(p, used ? used : "never");
        cell(p, json_string_value(json_object_get(row, "expires")));
        end_button(p, req, "member_revoke", json_string_value(json_object_get(row, "id")),
                   "Revoke", person(owner));
        gw_page_html(p, "</tr>");
    }
    gw_page_html(p, "</tbody></table><h3>Where they are signed in</h3><table><thead><tr>"
                    "<th scope=\"col\">Person</th><th scope=\"col\">Org</th>"
                    "<th scope=\"col\">Signed in</th><th scope=\"col\">Last seen</th>"
                    "<th scope=\"col\">From</th><th scope=\"col\"><span class=\"muted\">Action"
                    "</span></th></tr></thead><tbody>");
    json_array_foreach(sessions, i, row)
    {
        const json_t *owner = json_object_get(row, "owner");
        const char *org = member_of(policy, req, owner, orgs, n);
        if (!org)
            continue;
        gw_page_html(p, "<tr>");
        cell(p, person(owner));
        cell(p, org);
        cell(p, json_string_value(json_object_get(row, "created")));
        cell(p, json_string_value(json_object_get(row, "last_seen")));
        cell(p, json_string_value(json_object_get(row, "client_ip")));
        end_button(p, req, "member_end", json_string_value(json_object_get(row, "id")),
                   "Sign out", person(owner));
        gw_page_html(p, "</tr>");
    }
    gw_page_html(p, "</tbody></table></section>");
    json_decref(tokens);
    json_decref(sessions);
    pol_policy_unref(policy);
    return 0;
}

typedef struct {
    gw_request_t *req;
    pol_policy_t *policy;
    const char *const *orgs;
    size_t n;
    int session;
    int refused; /* the owner is none of the admin's people */
} act_t;

/* Inside the change's transaction: the owner must belong to one of the admin's orgs, and the
 * event (under the admin, naming the owner) is durable before the change commits. */
static int confirm(void *arg, const json_t *info)
{
    act_t *a = arg;
    gw_request_t *req = a->req;
    const json_t *owner = json_object_get(info, "owner");
    const char *org = member_of(a->policy, req, owner, a->orgs, a->n);
    if (!org) {
        a->refused = 1;
        return CMN_ERR_DENIED;
    }
    if (!req->srv->audit)
        return 0;
    gw_request_decide(req, POL_ALLOW, "org-admin",
                      a->session ? "an org admin ends a member's session"
                                 : "an org admin revokes a member's token");
    req->decision.org = org;
    aud_event_t ev;
    gw_request_event(req, &ev, a->session ? AUD_KIND_SESSION_ENDED : AUD_KIND_TOKEN_REVOKED, 200);
    const char *principal =
        cmn_arena_printf(&req->arena, "%s|%s", json_string_value(json_object_get(owner, "iss")),
                         json_string_value(json_object_get(owner, "sub")));
    aud_event_detail_str(&ev, a->session ? "session_id" : "token_id",
                         json_string_value(json_object_get(info, "id")));
    aud_event_detail_str(&ev, "owner", principal);
    aud_event_detail_str(&ev, "reason", "revoked");
    if (!a->session) {
        aud_event_detail_str(&ev, "name", json_string_value(json_object_get(info, "name")));
        aud_event_detail_str(&ev, "scope", json_string_value(json_object_get(info, "scope")));
    }
    return aud_writer_append(req->srv->audit, &ev);
}

int gw_members_action(gw_request_t *req, struct MHD_Connection *conn, const char *action,
                      const char *id, enum MHD_Result *ret)
{
    int session = action && strcmp(action, "member_end") == 0;
    if (!action || (!session && strcmp(action, "member_revoke") != 0))
        return 0;
    pol_policy_t *policy = gw_policies_live(req->srv->policies, NULL);
    const char *orgs[MAX_ORGS];
    size_t n = policy ? admin_orgs(policy, &req->identity, orgs) : 0;
    act_t a = {req, policy, orgs, n, session, 0};
    int rc = !id || !n ? CMN_ERR_DENIED
             : session ? gw_sessions_end(req->srv->sessions, id, NULL, NULL, "revoked", confirm,
                                         &a)
                       : gw_tokens_revoke(req->srv->tokens, NULL, id, confirm, &a);
    pol_policy_unref(policy);
    if (rc == 0) {
        cmn_log_info("members", "%s: %s %s %s", req->request_id,
                     gw_identity_principal(&req->identity, &req->arena),
                     session ? "ended session" : "revoked token", id);
        *ret = gw_page_redirect(req, conn, "/-/tokens", NULL);
        return 1;
    }
    req->decided = 0;
    req->stage = rc == CMN_ERR_DENIED || rc == CMN_ERR_NOTFOUND ? "authorization" : "token_store";
    *ret = gw_page_message(req, conn,
                           rc == CMN_ERR_DENIED || a.refused ? 403
                           : rc == CMN_ERR_NOTFOUND         ? 404
                                                            : 503,
                           "Not done",
                           rc == CMN_ERR_DENIED || a.refused
                               ? "That belongs to nobody of an org you administer."
                           : rc == CMN_ERR_NOTFOUND ? "It has already ended."
                                                    : "hubgate cannot record this now; try again.",
                           1);
    return 1;
}
