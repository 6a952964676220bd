/* Validator set and weighted round-robin proposer priority (docs/consensus.md
 * §4). The arithmetic follows the description of CometBFT's proposer
 * selection; every step is exact integer arithmetic so all nodes agree.
 * Not for: deciding who is bonded (consensus/validators.c). */
#include "consensus/bft/valset.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int by_pubkey(const void *a, const void *b)
{
	return memcmp(((const struct bft_validator *)a)->pubkey, ((const struct bft_validator *)b)->pubkey,
		      PUBKEY_LEN);
}

int bft_valset_init(struct bft_valset *vs, const struct bft_validator *vals, uint32_t n, char *err,
		    size_t errlen)
{
	memset(vs, 0, sizeof(*vs));
	if (n == 0 || n > BFT_MAX_VALIDATORS)
		return assay_fail(err, errlen, ASSAY_EINVALID, "validator count %u not in 1..%u", n,
				  BFT_MAX_VALIDATORS);
	struct bft_validator *v = calloc(n, sizeof(*v));
	if (!v)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	uint64_t total = 0;
	for (uint32_t i = 0; i < n; i++) {
		memcpy(v[i].pubkey, vals[i].pubkey, PUBKEY_LEN);
		v[i].power = vals[i].power;
		if (v[i].power == 0 || v[i].power > BFT_MAX_TOTAL_POWER - total) {
			int zero = v[i].power == 0;
			free(v);
			return assay_fail(err, errlen, ASSAY_EINVALID,
					  zero ? "validator %u has zero power" : "total power above the limit (validator %u)",
					  i);
		}
		total += v[i].power;
	}
	qsort(v, n, sizeof(*v), by_pubkey);
	for (uint32_t i = 1; i < n; i++) {
		if (memcmp(v[i - 1].pubkey, v[i].pubkey, PUBKEY_LEN) == 0) {
			free(v);
			return assay_fail(err, errlen, ASSAY_EINVALID, "repeated validator key");
		}
	}
	vs->n = n;
	vs->v = v;
	vs->total = total;
	bft_valset_step(vs);
	return 0;
}

int bft_valset_copy(struct bft_valset *dst, const struct bft_valset *src)
{
	*dst = *src;
	dst->v = malloc((size_t)src->n * sizeof(*src->v));
	if (!dst->v) {
		memset(dst, 0, sizeof(*dst));
		return ASSAY_ENOMEM;
	}
	memcpy(dst->v, src->v, (size_t)src->n * sizeof(*src->v));
	return 0;
}

void bft_valset_free(struct bft_valset *vs)
{
	free(vs->v);
	memset(vs, 0, sizeof(*vs));
}

/* floor(a / b) for b > 0 (CometBFT's average uses Euclidean division). */
static int64_t floor_div(__int128 a, int64_t b)
{
	__int128 q = a / b;
	if (a % b != 0 && a < 0)
		q--;
	return (int64_t)q;
}

void bft_valset_step(struct bft_valset *vs)
{
	int64_t total = (int64_t)vs->total;
	int64_t hi = vs->v[0].priority;
	int64_t lo = hi;
	for (uint32_t i = 1; i < vs->n; i++) {
		if (vs->v[i].priority > hi)
			hi = vs->v[i].priority;
		if (vs->v[i].priority < lo)
			lo = vs->v[i].priority;
	}
	/* Priorities stay within a window of a few totals (each term below is
	 * bounded by BFT_MAX_TOTAL_POWER), so the differences cannot overflow. */
	int64_t window = BFT_PRIORITY_WINDOW_FACTOR * total;
	int64_t diff = hi - lo;
	if (diff > window) {
		int64_t ratio = (diff + window - 1) / window;
		for (uint32_t i = 0; i < vs->n; i++)
			vs->v[i].priority /= ratio; /* truncates toward zero */
	}
	__int128 sum = 0;
	for (uint32_t i = 0; i < vs->n; i++)
		sum += vs->v[i].priority;
	int64_t avg = floor_div(sum, (int64_t)vs->n);
	uint32_t best = 0;
	for (uint32_t i = 0; i < vs->n; i++) {
		vs->v[i].priority = vs->v[i].priority - avg + (int64_t)vs->v[i].power;
		/* strict >: the lowest pubkey (lowest index) wins a tie */
		if (vs->v[i].priority > vs->v[best].priority)
			best = i;
	}
	vs->v[best].priority -= total;
	vs->proposer = best;
}

int bft_valset_find(const struct bft_valset *vs, const uint8_t pubkey[PUBKEY_LEN])
{
	uint32_t lo = 0, hi = vs->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(vs->v[mid].pubkey, pubkey, PUBKEY_LEN);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
