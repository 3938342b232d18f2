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

typedef struct tls_set gw_tls_pair_t;

/* Reads the PEM certificate chain at cert_path and the private key at key_path (which must be
 * private to its owner) and checks that the key is the certificate's. Returns the pair (not in
 * force yet), or NULL with the reason logged. Blocks (disk). */
gw_tls_pair_t *gw_tls_read(const char *cert_path, const char *key_path);

/* 1 when p holds the same two files' texts as the pair in force. */
int gw_tls_same(const gw_tls_pair_t *p);

/* The pair's id for events and logs: the first 8 bytes of the SHA-256 of the leaf certificate
 * (DER), in hex; "" for NULL. gw_tls_in_force_id: the pair in force's. */
const char *gw_tls_pair_id(const gw_tls_pair_t *p);
const char *gw_tls_in_force_id(void);

/* Makes p the pair in force (taking it; logged with its subject and expiry). One caller at a
 * time (the signal thread). gw_tls_discard frees a pair never installed; accepts NULL. */
void gw_tls_install(gw_tls_pair_t *p);
void gw_tls_discard(gw_tls_pair_t *p);

/* At start: read and install. 0, or -1 with the reason logged. */
int gw_tls_load(const char *cert_path, const char *key_path);

/* Read and discard (serve --check). 0 or -1, logged. */
int gw_tls_check(const char *cert_path, const char *key_path);

/* What to pass as MHD_OPTION_HTTPS_CERT_CALLBACK. */
void *gw_tls_callback(void);

/* A one-line description of the certificate in force ("CN=…, expires …"), for events and logs;
 * "" before the first load. */
const char *gw_tls_describe(void);

#endif
