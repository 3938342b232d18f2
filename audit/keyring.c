/* Keys by key id: contract in keyring.h. */
#include "audit/keyring.h"
#include "common/err.h"

#include <string.h>

int aud_keyring_add(aud_keyring_t *ring, aud_key_t *key)
{
    if (ring->n >= AUD_KEYRING_MAX) {
        aud_key_free(key);
        return CMN_ERR_TOOBIG;
    }
    memcpy(ring->keys[ring->n].id, aud_key_id(key), AUD_KEY_ID_LEN + 1);
    ring->keys[ring->n++].key = key;
    return 0;
}

int aud_keyring_load(aud_keyring_t *ring, const char *const *paths, size_t n, char *err,
                     size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        char why[300];
        aud_key_t *k = aud_key_load(paths[i], why, sizeof(why));
        if (!k) {
            cmn_errf(err, errlen, "--pubkey %s", why);
            return CMN_ERR_IO;
        }
        aud_keyring_add(ring, k);
    }
    return 0;
}

aud_key_t *aud_keyring_find(const aud_keyring_t *ring, const char *id)
{
    for (size_t i = 0; i < ring->n; i++)
        if (strcmp(ring->keys[i].id, id) == 0)
            return ring->keys[i].key;
    return NULL;
}

int aud_keyring_check(const aud_keyring_t *ring, const aud_checkpoint_t *cp)
{
    aud_key_t *k = aud_keyring_find(ring, cp->key_id);
    if (!k)
        return -1;
    return aud_checkpoint_verify(cp, k) == 0;
}

void aud_keyring_free(aud_keyring_t *ring)
{
    if (!ring)
        return;
    for (size_t i = 0; i < ring->n; i++)
        aud_key_free(ring->keys[i].key);
    ring->n = 0;
}
