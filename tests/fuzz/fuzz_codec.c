/* libFuzzer target for the smaller core decoders, chosen by the first input
 * byte: varint streams, account records, commits, block headers, and the
 * VRF and Merkle verifiers fed arbitrary proofs. Decoders must round-trip
 * what they accept; verifiers must only ever answer yes or no.
 * fuzz-sources: core/buf.c core/error.c core/sha256.c core/keys.c core/network.c core/bech32.c
 * fuzz-sources: core/merkle.c core/vrf.c core/tx.c core/block.c core/ledger.c
 */
#include <stdlib.h>
#include <string.h>

#include "core/block.h"
#include "core/ledger.h"
#include "core/merkle.h"
#include "core/vrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct buf *b, const uint8_t *p, size_t n)
{
	if (b->len != n || (n && memcmp(b->data, p, n) != 0))
		abort(); /* decoded, but not canonical */
}

static void varints(const uint8_t *p, size_t n)
{
	struct reader r;
	struct buf b;
	rd_init(&r, p, n);
	buf_init(&b);
	while (rd_left(&r) && !r.err) {
		uint64_t v = rd_varint(&r);
		if (!r.err)
			buf_put_varint(&b, v);
	}
	if (!r.err)
		check_same(&b, p, n);
	buf_free(&b);
}

static void account(const uint8_t *p, size_t n)
{
	struct account a;
	uint8_t enc[ACCOUNT_BYTES];
	if (account_decode(&a, p, n) != 0)
		return;
	account_encode(&a, enc);
	if (n != ACCOUNT_BYTES || memcmp(enc, p, n) != 0)
		abort();
}

static void commit(const uint8_t *p, size_t n)
{
	struct reader r;
	struct commit c;
	rd_init(&r, p, n);
	if (commit_read(&c, &r) == 0 && rd_finish(&r) == 0) {
		struct buf b;
		buf_init(&b);
		commit_encode(&c, &b);
		check_same(&b, p, n);
		buf_free(&b);
	}
	commit_free(&c);
}

static void header(const uint8_t *p, size_t n)
{
	struct reader r;
	struct block_header h;
	rd_init(&r, p, n);
	if (block_header_read(&h, &r) == 0 && rd_finish(&r) == 0) {
		struct buf b;
		buf_init(&b);
		block_header_encode(&h, &b);
		check_same(&b, p, n);
		buf_free(&b);
	}
}

static void vrf(const uint8_t *p, size_t n)
{
	/* pk (32) || proof (80) || alpha (rest) */
	if (n < 32 + VRF_PROOF_LEN)
		return;
	uint8_t beta[VRF_OUTPUT_LEN], beta2[VRF_OUTPUT_LEN];
	if (vrf_verify(p, p + 32 + VRF_PROOF_LEN, n - 32 - VRF_PROOF_LEN, p + 32, beta) == 0) {
		if (vrf_proof_to_hash(p + 32, beta2) != 0 || memcmp(beta, beta2, sizeof(beta)) != 0)
			abort();
	}
	vrf_proof_to_hash(p + 32, beta2);
}

static void merkle(const uint8_t *p, size_t n)
{
	/* u16 index || u16 size || leaf (32) || root (32) || path (rest) */
	if (n < 4 + 2 * HASH_LEN)
		return;
	size_t index = (size_t)(p[0] | p[1] << 8), leaves = (size_t)(p[2] | p[3] << 8);
	size_t depth = (n - 4 - 2 * HASH_LEN) / HASH_LEN;
	uint8_t path[MERKLE_MAX_DEPTH][HASH_LEN];
	if (depth > MERKLE_MAX_DEPTH)
		depth = MERKLE_MAX_DEPTH;
	memcpy(path, p + 4 + 2 * HASH_LEN, depth * HASH_LEN);
	merkle_verify(p + 4, index, leaves, (const uint8_t(*)[HASH_LEN])path, depth,
		      p + 4 + HASH_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 6) {
	case 0: varints(p, n); break;
	case 1: account(p, n); break;
	case 2: commit(p, n); break;
	case 3: header(p, n); break;
	case 4: vrf(p, n); break;
	default: merkle(p, n); break;
	}
	return 0;
}
