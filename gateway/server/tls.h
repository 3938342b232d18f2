/* The certificate and key the public listener presents, read again on SIGHUP (a renewed
 * certificate takes effect without a restart, in-flight transfers untouched).
 *
 * libmicrohttpd asks for them per handshake through GnuTLS's certificate callback
 * (MHD_OPTION_HTTPS_CERT_CALLBACK) instead of being given them once: the callback returns the
 * set in force, which a reload swaps atomically. A set in force may be in use by handshakes on
 * any event loop, and GnuTLS keeps pointers to it for the session, so a replaced set stays
 * allocated until the process ends (a few KiB per renewal). The callback carries no user data,
 * so there is one set per process: hubgate has one public listener. */
#ifndef HUBGATE_GATEWAY_SERVER_TLS_H
#define HUBGATE_GATEWAY_SERVER_TLS_H

#include <stddef.h>

/* Reads the PEM certificate chain at cert_path and the private key at key_path (which must be
 * private to its owner), checks that the key is the certificate's, and makes them the set in
 * force. At start: returns 0, or -1 with the reason logged. On a reload: 1 when the files held
 * a new pair (now in force; logged with the certificate's subject and expiry), 0 when they
 * hold the pair already in force, -1 when they cannot be read or do not match (the set in
 * force stays; the reason logged). Blocks (disk); one caller at a time. */
int gw_tls_load(const char *cert_path, const char *key_path);

/* The same checks without putting the pair in force (serve --check). 0 or -1, logged. */
int gw_tls_check(const char *cert_path, const char *key_path);

/* What to pass as MHD_OPTION_HTTPS_CERT_CALLBACK. */
void *gw_tls_callback(void);

/* A one-line description of the certificate in force ("CN=…, expires …"), for events and logs;
 * "" before the first load. */
const char *gw_tls_describe(void);

#endif
