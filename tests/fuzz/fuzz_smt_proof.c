/* libFuzzer target for the state-proof codec and verifier (core/smt_proof):
 * input = root (32) || key (32) || flags (1) || encoded proof (rest), as a
 * light client receives it from an untrusted node. What decodes must
 * re-encode to the same bytes; the verifier must only answer yes or no.
 * fuzz-sources: core/buf.c core/error.c core/sha256.c core/smt_proof.c
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/smt_proof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smt_proof p; /* 8 KiB: off the stack */
	if (size < 65)
		return 0;
	const uint8_t *root = data, *key = data + 32, *enc = data + 65;
	size_t n = size - 65;
	if (smt_proof_decode(&p, enc, n) != 0)
		return 0;
	struct buf b;
	buf_init(&b);
	smt_proof_encode(&p, &b);
	if (b.len != n || (n && memcmp(b.data, enc, n) != 0))
		abort(); /* decoded, but not canonical */
	buf_free(&b);
	/* flags bit 0: claim inclusion of the proof's own leaf, else absence. */
	int rc = smt_verify(root, key, (data[64] & 1) && p.has_leaf ? p.leaf_value_hash : NULL, &p);
	if (rc != 0 && rc != ASSAY_ESIG)
		abort();
	return 0;
}
