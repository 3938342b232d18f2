/* hubgate's own HTML pages for people (sign-in, the token page, the device confirmation):
 * built in a buffer with every outside string escaped, sent with headers that keep them from
 * being framed, cached, sniffed or given scripts and styles other than their own (a nonce per
 * answer), and audited like hubgate's JSON answers. They work without JavaScript; the one
 * script (a copy button) only adds to them. */
#ifndef HUBGATE_GATEWAY_ADMIN_PAGE_H
#define HUBGATE_GATEWAY_ADMIN_PAGE_H

#include <microhttpd.h>
#include <stddef.h>

#include "common/buf.h"
#include "gateway/server/request-t.h"

#define GW_PAGE_MAX_BYTES (256 * 1024)
#define GW_PAGE_MAX_COOKIES 2

typedef struct {
    cmn_buf_t html;
    char nonce[24];                           /* for the page's own <style> and <script> */
    const char *cookies[GW_PAGE_MAX_COOKIES]; /* Set-Cookie values */
    size_t ncookies;
    int failed; /* out of memory or over GW_PAGE_MAX_BYTES: answered 500 */
} gw_page_t;

/* Starts a page titled `title` (escaped) with hubgate's style; `heading` is its h1. */
void gw_page_begin(gw_page_t *p, const char *title);

/* Appends s HTML-escaped (& < > " '), NULL as "". */
void gw_page_text(gw_page_t *p, const char *s);

/* Appends markup as is: hubgate's own literal HTML only, never anything from outside. */
void gw_page_html(gw_page_t *p, const char *markup);

/* Appends printf output as markup: the format is hubgate's own; %s arguments must be escaped
 * already (gw_page_text) or be hubgate's own words. */
void gw_page_htmlf(gw_page_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A hidden form field carrying the session's form token (admin/login.h checks it). */
void gw_page_form_token(gw_page_t *p, const gw_request_t *req);

/* Adds a Set-Cookie header value to the answer. */
void gw_page_cookie(gw_page_t *p, const char *value);

/* Ends the page, answers it with status and frees it; audited as hubgate's own answer. */
enum MHD_Result gw_page_send(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                             gw_page_t *p);

/* Answers 303 to location (hubgate's own path or the IdP's URL) with the page's cookies (p may
 * be NULL) and frees p. */
enum MHD_Result gw_page_redirect(gw_request_t *req, struct MHD_Connection *conn,
                                 const char *location, gw_page_t *p);

/* A page that says one thing: status, title, and a paragraph (escaped), with a link back to
 * the token page when `back` is set. */
enum MHD_Result gw_page_message(gw_request_t *req, struct MHD_Connection *conn, unsigned status,
                                const char *title, const char *text, int back);

/* 1 when the client asked for HTML before JSON (Accept), as browsers do. */
int gw_page_wanted(const gw_request_t *req);

#endif
