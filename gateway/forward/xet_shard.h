/* What a Xet upload shard defines, for the audit log: each file's Xet hash, its size (the sum
 * of its terms' unpacked lengths) and, when the shard carries it, its SHA-256 (which ties it to
 * the commit's lfsFile oid). Parsed from the shard format's file-info section (little-endian,
 * 48-byte entries; docs/xet-storage.md); nothing else of the shard is read. Pure: no I/O. */
#ifndef HUBGATE_GATEWAY_FORWARD_XET_SHARD_H
#define HUBGATE_GATEWAY_FORWARD_XET_SHARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char hash[65];   /* Xet hash string: each 8-byte word as a little-endian u64, in hex */
    char sha256[65]; /* "" when the shard has no SHA-256 entry for the file */
    uint64_t size;
} gw_xet_shard_file_t;

/* Parses the file-info section of shard[0..len): fills out[0..cap) with the first files and
 * sets *total to how many the shard defines. Returns 0, or CMN_ERR_PARSE (not a shard: wrong
 * tag or version, an entry past the end, no bookend), with *total then 0. */
int gw_xet_shard_files(const unsigned char *shard, size_t len, gw_xet_shard_file_t *out,
                       size_t cap, size_t *total);

#endif
