/* The key a per-client limit counts a client under, from its address as
 * text: the RPC's lockout after wrong credentials (node/rpc.c) and the
 * faucet's per-IP interval (faucet/limit.c) count alike. Pure.
 * Not for: p2p net groups (net/evict.h). */
#ifndef ASSAY_CORE_IPKEY_H
#define ASSAY_CORE_IPKEY_H

#include <stddef.h>

/* The longest key with its NUL: an IPv6 prefix's text and "/64". */
#define IPKEY_MAX 52

/* An IPv4 address as it is; an IPv4-mapped IPv6 address as its IPv4 text;
 * any other IPv6 address as its /64 ("2001:db8:1:2::/64"), in one
 * spelling whatever the client's: one subscriber is commonly given a whole
 * /64, and keyed per address it would get a limit's allowance for each of
 * its 2^64 addresses. Text that is no address is copied as it is (cut to
 * cap - 1 bytes). */
void ipkey_client(const char *ip, char *out, size_t cap);

#endif
