/* A small set of Ed25519 keys looked up by key id: the keys an auditor pinned (--pubkey), or
 * those a stream registered in the database; and the verdict on a checkpoint's signature
 * against them. */
#ifndef HUBGATE_AUDIT_KEYRING_H
#define HUBGATE_AUDIT_KEYRING_H

#include <stddef.h>

#include "audit/checkpoint.h"
#include "audit/key.h"
#include "audit/limits.h"


typedef struct {
    struct {
        char id[AUD_KEY_ID_LEN + 1];
        aud_key_t *key;
    } keys[AUD_KEYRING_MAX];
    size_t n;
} aud_keyring_t;

/* Adds key (the ring takes ownership). Returns 0, or CMN_ERR_TOOBIG when the ring is full: the
 * key is freed. */
int aud_keyring_add(aud_keyring_t *ring, aud_key_t *key);

/* Loads the PEM files paths[0..n) (public or private keys) into the ring, dropping those over
 * AUD_KEYRING_MAX. Returns 0, or CMN_ERR_IO with "--pubkey <reason>" in err. Blocks (disk). */
int aud_keyring_load(aud_keyring_t *ring, const char *const *paths, size_t n, char *err,
                     size_t errlen);

/* The key with this id (borrowed), or NULL. */
aud_key_t *aud_keyring_find(const aud_keyring_t *ring, const char *id);

/* Whether cp's signature verifies with the ring's key of cp->key_id: 1 it does, 0 it does not,
 * -1 the ring has no such key. */
int aud_keyring_check(const aud_keyring_t *ring, const aud_checkpoint_t *cp);

/* Frees the keys; the ring is empty afterwards. Accepts NULL. */
void aud_keyring_free(aud_keyring_t *ring);

#endif
