/* RFC 6962 Merkle trees (see merkle.h). Recursive on the split point k, the
 * largest power of two below n; depth is bounded by log2(n) <= 64. */
#include <assert.h>
#include <string.h>

#include "core/error.h"
#include "core/merkle.h"

void merkle_leaf_hash(const void *data, size_t n, uint8_t out[HASH_LEN])
{
	static const uint8_t zero = 0x00;
	sha256_2(&zero, 1, data, n, out);
}

void merkle_node_hash(const uint8_t l[HASH_LEN], const uint8_t r[HASH_LEN], uint8_t out[HASH_LEN])
{
	uint8_t in[1 + 2 * HASH_LEN];
	in[0] = 0x01;
	memcpy(in + 1, l, HASH_LEN);
	memcpy(in + 1 + HASH_LEN, r, HASH_LEN);
	sha256(in, sizeof(in), out);
}

static size_t split_point(size_t n)
{
	assert(n >= 2); /* callers stop at one leaf */
	size_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	assert(k < n && n <= 2 * k); /* both halves non-empty: the recursion ends */
	return k;
}

static void root_of(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t out[HASH_LEN])
{
	if (n == 1) {
		memcpy(out, leaves[0], HASH_LEN);
		return;
	}
	size_t k = split_point(n);
	uint8_t l[HASH_LEN], r[HASH_LEN];
	root_of(leaves, k, l);
	root_of(leaves + k, n - k, r);
	merkle_node_hash(l, r, out);
}

void merkle_root(const uint8_t (*leaves)[HASH_LEN], size_t n, uint8_t root[HASH_LEN])
{
	if (n == 0) {
		sha256("", 0, root);
		return;
	}
	root_of(leaves, n, root);
}

int merkle_proof(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t i,
		 uint8_t (*path)[HASH_LEN], size_t *depth)
{
	if (i >= n)
		return ASSAY_EARG;
	/* Walk down recording siblings top-down, then reverse to bottom-up. */
	size_t d = 0, lo = 0, len = n;
	while (len > 1) {
		size_t k = split_point(len);
		if (i - lo < k) {
			root_of(leaves + lo + k, len - k, path[d]);
			len = k;
		} else {
			root_of(leaves + lo, k, path[d]);
			lo += k;
			len -= k;
		}
		d++;
	}
	for (size_t a = 0, b = d ? d - 1 : 0; a < b; a++, b--) {
		uint8_t t[HASH_LEN];
		memcpy(t, path[a], HASH_LEN);
		memcpy(path[a], path[b], HASH_LEN);
		memcpy(path[b], t, HASH_LEN);
	}
	*depth = d;
	return 0;
}

int merkle_verify(const uint8_t leaf[HASH_LEN], size_t i, size_t n,
		  const uint8_t (*path)[HASH_LEN], size_t depth, const uint8_t root[HASH_LEN])
{
	/* RFC 9162 §2.1.3.2 verification, iterative. */
	if (i >= n || depth > MERKLE_MAX_DEPTH)
		return ASSAY_ESIG;
	size_t fn = i, sn = n - 1;
	uint8_t r[HASH_LEN];
	memcpy(r, leaf, HASH_LEN);
	for (size_t p = 0; p < depth; p++) {
		if (sn == 0)
			return ASSAY_ESIG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(path[p], r, r);
			if (!(fn & 1)) {
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			merkle_node_hash(r, path[p], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return (sn == 0 && memcmp(r, root, HASH_LEN) == 0) ? 0 : ASSAY_ESIG;
}
