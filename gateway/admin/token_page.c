#include "gateway/admin/token_page.h"

#include "common/err.h"

#include "gateway/authn/sessions.h"
#include "gateway/authn/tokens.h"

#include "gateway/admin/login.h"
#include "gateway/admin/members_page.h"
#include "gateway/admin/page.h"
#include "gateway/admin/token_api.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *who(const gw_request_t *req)
{
    const gw_identity_t *id = &req->identity;
    return id->email ? id->email : id->preferred_username ? id->preferred_username : id->sub;
}

/* A table cell with a time (or a dash). */
static void time_cell(gw_page_t *p, const json_t *row, const char *key, const char *none)
{
    const char *v = json_string_value(json_object_get(row, key));
    gw_page_html(p, "<td>");
    if (v && strlen(v) == 20) { /* YYYY-MM-DDTHH:MM:SSZ, shown as YYYY-MM-DD HH:MM UTC */
        gw_page_html(p, "<time datetime=\"");
        gw_page_text(p, v);
        gw_page_htmlf(p, "\">%.10s %.5s UTC</time>", v, v + 11);
    } else if (v) {
        gw_page_text(p, v);
    } else {
        gw_page_text(p, none);
    }
    gw_page_html(p, "</td>");
}

static void tokens_table(gw_page_t *p, const gw_request_t *req, const json_t *tokens)
{
    gw_page_html(p, "<h2 id=\"yours\">Your tokens</h2>");
    size_t live = 0, i;
    const json_t *row;
    json_array_foreach(tokens, i, row)
    {
        live += !json_object_get(row, "revoked") && !json_is_true(json_object_get(row, "expired"));
    }
    if (!live) {
        gw_page_html(p, "<p class=\"muted\">You have no live tokens.</p>");
        return;
    }
    gw_page_html(p, "<table aria-labelledby=\"yours\"><thead><tr><th scope=\"col\">Name</th>"
                    "<th scope=\"col\">Scope</th><th scope=\"col\">Created</th>"
                    "<th scope=\"col\">Last used</th><th scope=\"col\">Expires</th>"
                    "<th scope=\"col\"><span class=\"muted\">Action</span></th></tr></thead><tbody>");
    json_array_foreach(tokens, i, row)
    {
        if (json_object_get(row, "revoked") || json_is_true(json_object_get(row, "expired")))
            continue;
        const char *name = json_string_value(json_object_get(row, "name"));
        gw_page_html(p, "<tr><td>");
        gw_page_text(p, name);
        gw_page_html(p, "</td><td>");
        gw_page_text(p, json_string_value(json_object_get(row, "scope")));
        gw_page_html(p, "</td>");
        time_cell(p, row, "created", "");
        time_cell(p, row, "last_used", "never");
        time_cell(p, row, "expires", "");
        gw_page_html(p, "<td><form method=\"post\" action=\"/-/tokens\">");
        gw_page_form_token(p, req);
        gw_page_html(p, "<input type=\"hidden\" name=\"action\" value=\"revoke\">"
                        "<input type=\"hidden\" name=\"id\" value=\"");
        gw_page_text(p, json_string_value(json_object_get(row, "id")));
        gw_page_html(p, "\"><button type=\"submit\" aria-label=\"Revoke ");
        gw_page_text(p, name);
        gw_page_html(p, "\">Revoke</button></form></td></tr>");
    }
    gw_page_html(p, "</tbody></table>");
}

static void sessions_table(gw_page_t *p, const gw_request_t *req, const json_t *sessions)
{
    gw_page_html(p, "<h2 id=\"sessions\">Where you are signed in</h2><table "
                    "aria-labelledby=\"sessions\"><thead><tr><th scope=\"col\">Signed in</th>"
                    "<th scope=\"col\">Last seen</th><th scope=\"col\">From</th>"
                    "<th scope=\"col\">Browser</th></tr></thead><tbody>");
    size_t i;
    const json_t *row;
    json_array_foreach(sessions, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "id"));
        gw_page_html(p, "<tr>");
        time_cell(p, row, "created", "");
        time_cell(p, row, "last_seen", "");
        gw_page_html(p, "<td>");
        gw_page_text(p, json_string_value(json_object_get(row, "client_ip")));
        gw_page_html(p, "</td><td>");
        gw_page_text(p, json_string_value(json_object_get(row, "user_agent")));
        if (id && req->session_id && strcmp(id, req->session_id) == 0)
            gw_page_html(p, " <strong>(this browser)</strong>");
        gw_page_html(p, "</td></tr>");
    }
    gw_page_html(p, "</tbody></table>");
}

static void mint_form(gw_page_t *p, const gw_request_t *req)
{
    int max = req->srv->cfg->token_max_days;
    gw_page_html(p, "<h2>New token</h2><form method=\"post\" action=\"/-/tokens\">");
    gw_page_form_token(p, req);
    gw_page_html(p, "<input type=\"hidden\" name=\"action\" value=\"mint\">"
                    "<label for=\"name\">Name (where you will use it)</label>"
                    "<input id=\"name\" name=\"name\" required maxlength=\"128\" "
                    "autocomplete=\"off\">"
                    "<label for=\"scope\">Scope</label><select id=\"scope\" name=\"scope\">"
                    "<option value=\"read\" selected>read: download</option>"
                    "<option value=\"write\">write: download and upload</option></select>");
    gw_page_htmlf(p,
                  "<label for=\"days\">Valid for (days, at most %d)</label>"
                  "<input id=\"days\" name=\"expires_days\" type=\"number\" min=\"1\" max=\"%d\" "
                  "value=\"%d\" required>"
                  "<p><button type=\"submit\">Create token</button></p></form>",
                  max, max, max < 30 ? max : 30);
}

/* The whole page; `minted` (the new token's secret) is shown once, above the rest. */
static enum MHD_Result show(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                            const char *minted, const char *minted_name, const char *problem)
{
    json_t *tokens = gw_tokens_list(req->srv->tokens, &req->identity);
    json_t *sessions = gw_sessions_list(req->srv->sessions, req->identity.iss, req->identity.sub);
    if (!tokens || !sessions) {
        json_decref(tokens);
        json_decref(sessions);
        req->stage = "token_store";
        return gw_page_message(req, conn, 503, "Tokens unavailable",
                               "hubgate cannot read your tokens now; try again in a moment.", 0);
    }
    gw_page_t p;
    gw_page_begin(&p, "Your tokens");
    gw_page_html(&p, "<header><h1>Your hubgate tokens</h1><form method=\"post\" "
                     "action=\"/-/logout\"><span class=\"muted\">Signed in as ");
    gw_page_text(&p, who(req));
    gw_page_html(&p, "</span> ");
    gw_page_form_token(&p, req);
    gw_page_html(&p, "<button type=\"submit\">Sign out</button></form></header>");
    if (problem) {
        gw_page_html(&p, "<p class=\"note\" role=\"alert\">");
        gw_page_text(&p, problem);
        gw_page_html(&p, "</p>");
    }
    if (minted) {
        gw_page_html(&p, "<section aria-labelledby=\"new\"><h2 id=\"new\">Token created: ");
        gw_page_text(&p, minted_name);
        gw_page_html(&p, "</h2><p class=\"note\">Copy it now: hubgate shows it only once and "
                         "keeps only its hash. Use it as <code>HF_TOKEN</code> with "
                         "<code>HF_ENDPOINT</code> set to this gateway.</p>"
                         "<p class=\"secret\" id=\"token\">");
        gw_page_text(&p, minted);
        gw_page_html(&p, "</p><p><button type=\"button\" id=\"copy\" hidden>Copy</button> "
                         "<span id=\"copied\" role=\"status\"></span></p></section>");
        gw_page_htmlf(&p,
                      "<script nonce=\"%s\">(function(){var b=document.getElementById('copy');"
                      "if(!navigator.clipboard)return;b.hidden=false;b.onclick=function(){"
                      "navigator.clipboard.writeText(document.getElementById('token')."
                      "textContent).then(function(){document.getElementById('copied')."
                      "textContent='Copied.';});};})();</script>",
                      p.nonce);
    }
    mint_form(&p, req);
    tokens_table(&p, req, tokens);
    sessions_table(&p, req, sessions);
    (void)gw_members_section(&p, req); /* says so itself when it cannot */
    gw_page_html(&p, "<p class=\"muted\">Tokens work only through this gateway: hubgate keeps "
                     "them, and the Hub itself does not accept them.</p>");
    json_decref(tokens);
    json_decref(sessions);
    return gw_page_send(req, conn, status, &p);
}

static enum MHD_Result form(gw_request_t *req, struct MHD_Connection *conn, const char *body,
                            size_t len)
{
    cmn_arena_t *a = &req->arena;
    const char *action = body ? gw_login_form_field(a, body, len, "action") : NULL;
    if (!gw_login_form_ok(req, body ? gw_login_form_field(a, body, len, "form_token") : NULL)) {
        req->stage = "request";
        return gw_page_message(req, conn, 403, "Not done",
                               "This form did not come from hubgate's own page (or the page is "
                               "older than your session). Reload the page and try again.",
                               1);
    }
    const char *stage = NULL, *message = NULL;
    if (action && strcmp(action, "mint") == 0) {
        const char *name = gw_login_form_field(a, body, len, "name");
        const char *scope = gw_login_form_field(a, body, len, "scope");
        const char *days_s = gw_login_form_field(a, body, len, "expires_days");
        char *end = NULL;
        long long days = days_s ? strtoll(days_s, &end, 10) : 0;
        if (!days_s || !*days_s || *end)
            days = 0; /* refused below: "a positive integer" */
        const char *token = NULL;
        json_t *info = NULL;
        unsigned status = gw_token_api_mint(req, name, scope, days, &token, &info, &stage,
                                            &message);
        if (status) {
            req->stage = stage;
            req->local_message = message;
            return show(req, conn, status, NULL, NULL, message);
        }
        json_decref(info);
        return show(req, conn, 201, token, name, NULL);
    }
    enum MHD_Result answered;
    if (gw_members_action(req, conn, action, gw_login_form_field(a, body, len, "id"), &answered))
        return answered;
    if (action && strcmp(action, "revoke") == 0) {
        const char *id = gw_login_form_field(a, body, len, "id");
        unsigned status = id ? gw_token_api_revoke_one(req, id, &stage, &message) : 400;
        if (status) {
            req->stage = stage ? stage : "request";
            req->local_message = message ? message : "which token?";
            return show(req, conn, status, NULL, NULL, req->local_message);
        }
        return gw_page_redirect(req, conn, "/-/tokens", NULL); /* reloading repeats nothing */
    }
    req->stage = "request";
    return gw_page_message(req, conn, 400, "Not done", "The form names no action.", 1);
}

enum MHD_Result gw_token_page_answer(gw_request_t *req, struct MHD_Connection *conn,
                                     const char *body, size_t body_len)
{
    if (!req->session_id) {
        if (!req->srv->cfg->login.issuer)
            return gw_page_message(req, conn, 401, "Sign-in is not configured",
                                   "This gateway has no browser sign-in; mint tokens with the "
                                   "JSON API (POST /-/tokens with an SSO access token).",
                                   0);
        return gw_page_redirect(req, conn, "/-/login?return_to=/-/tokens", NULL);
    }
    if (strcmp(req->method, "POST") == 0)
        return form(req, conn, body, body_len);
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return gw_page_message(req, conn, 405, "Method Not Allowed", "Use the page's forms.", 1);
    return show(req, conn, 200, NULL, NULL, NULL);
}
