#include "gateway/http/ratelimit.h"

#include "common/sha256.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Two adjacent one-minute windows per slot: the attempts of the previous minute count in
 * proportion to how much of it the sliding minute still covers. */
typedef struct {
    int64_t window; /* index of the current minute */
    unsigned current, previous;
} slot_t;

struct gw_ratelimit {
    pthread_mutex_t mu;
    unsigned per_minute;
    slot_t slots[GW_RATELIMIT_SLOTS];
};

gw_ratelimit_t *gw_ratelimit_create(unsigned per_minute)
{
    gw_ratelimit_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->per_minute = per_minute;
    return r;
}

void gw_ratelimit_destroy(gw_ratelimit_t *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int gw_ratelimit_take(gw_ratelimit_t *r, const char *key, int64_t now_ms)
{
    unsigned char h[CMN_SHA256_BYTES];
    cmn_sha256(key, strlen(key), h);
    size_t i = ((size_t)h[0] << 8 | h[1]) % GW_RATELIMIT_SLOTS;
    int64_t window = now_ms / 60000, into = now_ms % 60000;
    pthread_mutex_lock(&r->mu);
    slot_t *s = &r->slots[i];
    if (s->window != window) {
        s->previous = s->window == window - 1 ? s->current : 0;
        s->current = 0;
        s->window = window;
    }
    /* the part of the previous minute still inside the sliding one */
    uint64_t weighted = (uint64_t)s->previous * (uint64_t)(60000 - into) / 60000 + s->current;
    int ok = weighted < r->per_minute;
    if (ok)
        s->current++;
    pthread_mutex_unlock(&r->mu);
    return ok;
}
