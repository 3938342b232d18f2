#include "gateway/admin/page.h"

#include "common/b64.h"
#include "common/err.h"

#include "gateway/auditlog/auditlog.h"
#include "gateway/auditlog/request.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Plain, readable, high contrast; sized for phones too. */
static const char style[] =
    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#111;background:#fff}"
    "h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;"
    "border-bottom:1px solid #ccc;vertical-align:top}"
    "button,input,select{font:inherit;padding:.3rem .6rem}"
    "label{display:block;margin:.6rem 0 .2rem}"
    ".secret{font-family:monospace;word-break:break-all;background:#eef;padding:.6rem;"
    "border:1px solid #99c}"
    ".note{color:#333;background:#ffd;padding:.6rem;border:1px solid #cc9}"
    "header{display:flex;justify-content:space-between;align-items:baseline;gap:1rem}"
    ".muted{color:#444}";

void gw_page_begin(gw_page_t *p, const char *title)
{
    memset(p, 0, sizeof(*p));
    cmn_buf_init(&p->html, GW_PAGE_MAX_BYTES);
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        p->failed = 1;
    cmn_b64url_encode(raw, sizeof(raw), p->nonce);
    gw_page_htmlf(p,
                  "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>");
    gw_page_text(p, title);
    gw_page_htmlf(p, " · hubgate</title><style nonce=\"%s\">%s</style></head><body><main>",
                  p->nonce, style);
}

static void append(gw_page_t *p, const char *s, size_t n)
{
    if (!p->failed && cmn_buf_append(&p->html, s, n) != 0)
        p->failed = 1;
}

void gw_page_text(gw_page_t *p, const char *s)
{
    for (const char *c = s ? s : ""; *c; c++) {
        switch (*c) {
        case '&': append(p, "&amp;", 5); break;
        case '<': append(p, "&lt;", 4); break;
        case '>': append(p, "&gt;", 4); break;
        case '"': append(p, "&quot;", 6); break;
        case '\'': append(p, "&#39;", 5); break;
        default: append(p, c, 1);
        }
    }
}

void gw_page_html(gw_page_t *p, const char *markup)
{
    append(p, markup, strlen(markup));
}

void gw_page_htmlf(gw_page_t *p, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        p->failed = 1; /* hubgate's own markup never needs more */
    else
        append(p, buf, (size_t)n);
}

void gw_page_form_token(gw_page_t *p, const gw_request_t *req)
{
    gw_page_htmlf(p, "<input type=\"hidden\" name=\"form_token\" value=\"%s\">", req->form_token);
}

void gw_page_cookie(gw_page_t *p, const char *value)
{
    if (p->ncookies < GW_PAGE_MAX_COOKIES && value)
        p->cookies[p->ncookies++] = value;
    else
        p->failed = 1;
}

static void security_headers(struct MHD_Response *r, const char *nonce)
{
    char csp[256];
    snprintf(csp, sizeof(csp),
             "default-src 'none'; style-src 'nonce-%s'; script-src 'nonce-%s'; "
             "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
             nonce, nonce);
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    /* same-origin, not no-referrer: with no-referrer chromium sends "Origin: null" on the
     * page's own form posts, which the form check must refuse */
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
}

static void audit_answer(gw_request_t *req, unsigned status)
{
    req->status = status;
    req->phase = GW_PHASE_ANSWERED;
    if (!req->audit)
        return;
    if (!req->decided && status >= 400)
        gw_request_decide(req, POL_DENY, "hubgate-admin",
                          req->local_message ? req->local_message : "refused");
    else if (!req->decided)
        gw_request_decide(req, POL_ALLOW, "hubgate-admin",
                          "hubgate answers the caller about itself");
    aud_event_t ev;
    gw_request_event(req, &ev, AUD_KIND_REQUEST, status);
    if (req->session_id)
        aud_event_detail_str(&ev, "session_id", req->session_id);
    gw_auditlog_note(req->audit, &ev);
}

static enum MHD_Result queue(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                             gw_page_t *p, const char *location)
{
    struct MHD_Response *r =
        p && !location ? MHD_create_response_from_buffer(p->html.len, p->html.data,
                                                         MHD_RESPMEM_MUST_COPY)
                       : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (p)
            cmn_buf_free(&p->html);
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    }
    if (!location)
        MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
    else
        MHD_add_response_header(r, "Location", location);
    security_headers(r, p ? p->nonce : "none");
    for (size_t i = 0; p && i < p->ncookies; i++)
        MHD_add_response_header(r, "Set-Cookie", p->cookies[i]);
    MHD_add_response_header(r, "X-Request-Id", req->request_id);
    audit_answer(req, status);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    if (p)
        cmn_buf_free(&p->html);
    return ret;
}

enum MHD_Result gw_page_send(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                             gw_page_t *p)
{
    gw_page_html(p, "</main></body></html>");
    if (p->failed) {
        cmn_buf_free(&p->html);
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    }
    return queue(req, conn, status, p, NULL);
}

enum MHD_Result gw_page_redirect(gw_request_t *req, struct MHD_Connection *conn,
                                 const char *location, gw_page_t *p)
{
    if (p && p->failed) {
        cmn_buf_free(&p->html);
        return gw_request_fail(req, conn, CMN_ERR_NOMEM, NULL);
    }
    return queue(req, conn, 303, p, location);
}

enum MHD_Result gw_page_message(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                const char *title, const char *text, int back)
{
    gw_page_t p;
    gw_page_begin(&p, title);
    gw_page_html(&p, "<h1>");
    gw_page_text(&p, title);
    gw_page_html(&p, "</h1><p>");
    gw_page_text(&p, text);
    gw_page_html(&p, "</p>");
    if (back)
        gw_page_html(&p, "<p><a href=\"/-/tokens\">Your tokens</a></p>");
    if (status >= 400)
        req->local_message = text; /* the audit event says why */
    return gw_page_send(req, conn, status, &p);
}

int gw_page_wanted(const gw_request_t *req)
{
    const gw_header_t *accept = gw_headers_find(req->headers, req->nheaders, "accept");
    if (!accept)
        return 0;
    /* text/html named before application/json (browsers send html first, programs json) */
    const char *v = accept->value, *end = v + accept->value_len;
    for (const char *c = v; c + 9 <= end; c++) {
        if (strncasecmp(c, "text/html", 9) == 0)
            return 1;
        if (c + 16 <= end && strncasecmp(c, "application/json", 16) == 0)
            return 0;
    }
    return 0;
}
