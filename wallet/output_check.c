/* The size and root check of a fetched output (see output_check.h). One
 * owner for every buffer it makes: on failure it frees them and says so,
 * so a caller's cleanup never frees them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "wallet/output_check.h"

int output_check_root(const struct job_shape *s, const uint8_t *output, size_t len,
		      const uint8_t (*pre_digests)[HASH_LEN], const uint8_t root[HASH_LEN],
		      uint8_t (**leaves)[HASH_LEN], char *why, size_t whylen)
{
	uint64_t want = kernel_output_bytes(s);
	uint8_t got[HASH_LEN];
	*leaves = NULL;
	if ((uint64_t)len != want) {
		snprintf(why, whylen, "it is %zu bytes; it should be %llu bytes", len,
			 (unsigned long long)want);
		return ASSAY_EINVALID;
	}
	/* No output hash: the root alone is what the worker opened, and
	 * hashing the whole output again would cost as much as the leaves. */
	int rc = kernel_commit_pre(s, output, pre_digests, leaves, got, NULL);
	if (rc != 0) {
		*leaves = NULL;
		snprintf(why, whylen, rc == ASSAY_ENOMEM ? "out of memory" : "no pre-activation digests for an mlp output");
		return rc == ASSAY_ENOMEM ? rc : ASSAY_EINVALID;
	}
	if (memcmp(got, root, HASH_LEN) != 0) {
		free(*leaves);
		*leaves = NULL;
		snprintf(why, whylen, "its Merkle root does not match the root the worker opened on chain");
		return ASSAY_EINVALID;
	}
	return 0;
}
