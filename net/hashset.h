/* A bounded set of 32-byte hashes that forgets its oldest entry when full:
 * the per-peer known-inventory sets and the global recently-seen set of the
 * gossip layer (docs/p2p.md §6). Not for: anything that must never forget. */
#ifndef ASSAY_NET_HASHSET_H
#define ASSAY_NET_HASHSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct net_hashset net_hashset_t;

/* capacity >= 1; NULL on allocation failure. */
net_hashset_t *net_hashset_new(size_t capacity);
void net_hashset_free(net_hashset_t *s);
int net_hashset_has(const net_hashset_t *s, const uint8_t key[32]);
/* Adds key (evicting the oldest when full). Returns 1 if it was new, 0 if
 * already present. */
int net_hashset_add(net_hashset_t *s, const uint8_t key[32]);
size_t net_hashset_count(const net_hashset_t *s);
/* Longest run of occupied index slots: the worst lookup's probe count, for
 * tests and diagnostics (stays small whatever keys peers choose). */
size_t net_hashset_longest_run(const net_hashset_t *s);

#endif
