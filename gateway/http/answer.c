#include "gateway/http/answer.h"
#include "common/err.h"
#include "common/sha256.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Queues body[0..len) (copied) with its Content-Type, X-Request-Id, and the error headers
 * when given. */
static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, const char *type,
                             const char *body, size_t len, const char *request_id,
                             const char *code, const char *message, const char *www_authenticate)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (code)
        MHD_add_response_header(r, "X-Error-Code", code);
    if (message)
        MHD_add_response_header(r, "X-Error-Message", message);
    if (request_id)
        MHD_add_response_header(r, "X-Request-Id", request_id);
    if (www_authenticate)
        MHD_add_response_header(r, "WWW-Authenticate", www_authenticate);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result gw_answer_body(struct MHD_Connection *conn, unsigned status,
                               const char *content_type, const char *body, size_t len,
                               const char *request_id)
{
    return queue(conn, status, content_type, body, len, request_id, NULL, NULL, NULL);
}

enum MHD_Result gw_answer_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                const char *message, const char *request_id,
                                const char *www_authenticate)
{
    json_t *o = json_pack("{s:s}", "error", message);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    const char *text = body ? body : "{\"error\":\"internal error\"}";
    enum MHD_Result ret = queue(conn, status, "application/json; charset=utf-8", text,
                                strlen(text), request_id, code, message, www_authenticate);
    free(body);
    return ret;
}

static uint64_t id_prefix;
static atomic_uint_fast64_t id_counter;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_seed(void)
{
    if (getrandom(&id_prefix, sizeof(id_prefix), 0) != (ssize_t)sizeof(id_prefix))
        abort(); /* no entropy at all: refuse to run rather than issue guessable ids */
}

void gw_answer_request_id(char out[33])
{
    pthread_once(&id_once, id_seed);
    uint64_t n = atomic_fetch_add_explicit(&id_counter, 1, memory_order_relaxed);
    unsigned char b[16];
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(id_prefix >> (56 - 8 * i));
        b[8 + i] = (unsigned char)(n >> (56 - 8 * i));
    }
    cmn_hex(b, sizeof(b), out);
}

unsigned gw_answer_status(int err)
{
    switch (err) {
    case CMN_ERR_OK:
        return 200;
    case CMN_ERR_PARSE:
        return 400;
    case CMN_ERR_UNAUTHENTICATED:
        return 401;
    case CMN_ERR_DENIED:
    case CMN_ERR_EXPIRED:
        return 403;
    case CMN_ERR_NOTFOUND:
        return 404;
    case CMN_ERR_METHOD:
        return 405;
    case CMN_ERR_CONFLICT:
        return 409;
    case CMN_ERR_TOOBIG:
        return 413;
    case CMN_ERR_UNSUPPORTED:
        return 501;
    case CMN_ERR_IO:
    case CMN_ERR_UPSTREAM:
        return 502;
    case CMN_ERR_DB:
    case CMN_ERR_UNAVAILABLE:
        return 503;
    case CMN_ERR_TIMEOUT:
        return 504;
    default: /* NOMEM, INVAL, CRYPTO: hubgate's own failure */
        return 500;
    }
}
