/* Output chunks in LevelDB (see chunkstore.h, docs/storage.md §4): 'k' chunk
 * hash -> the encoded chunk, 'j' job_id || root || u32 BE first_tile ||
 * chunk hash -> u32 LE tile bytes, so a client can walk one slot's output in
 * tile order, the pruner can drop a job's chunks together and the per-root
 * bound can be summed from keys and small values. Written with their own batch,
 * never with a block's: a chunk is not chain data, only what makes a block
 * available here. The block and transactions waiting for chunks are two
 * meta records beside them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/exec.h"
#include "core/error.h"
#include "node/chunkstore.h"

#define IDX_PREFIX_LEN (1 + HASH_LEN + HASH_LEN + 4)
#define IDX_KEY_LEN (IDX_PREFIX_LEN + HASH_LEN)

static void chunk_key(const uint8_t hash[HASH_LEN], uint8_t key[1 + HASH_LEN])
{
	key[0] = STORE_P_CHUNK;
	memcpy(key + 1, hash, HASH_LEN);
}

static void idx_key(const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN], uint32_t first,
		    const uint8_t hash[HASH_LEN], uint8_t key[IDX_KEY_LEN])
{
	memcpy(key + IDX_PREFIX_LEN, hash, HASH_LEN);
	key[0] = STORE_P_CHUNKIDX;
	memcpy(key + 1, job_id, HASH_LEN);
	memcpy(key + 1 + HASH_LEN, root, HASH_LEN);
	for (int i = 0; i < 4; i++) /* big-endian: key order is tile order */
		key[1 + 2 * HASH_LEN + i] = (uint8_t)(first >> (24 - 8 * i));
}

/* Some slot of j holds root and may upload now (avail_slot_open, the
 * rule compute_apply_chunks applies). */
static int root_open(const struct job_record *j, const uint8_t root[HASH_LEN])
{
	uint64_t from;
	for (unsigned i = 0; i < j->spec.redundancy; i++)
		if (memcmp(j->slots[i].root, root, HASH_LEN) == 0 && avail_slot_open(j, i, &from))
			return 1;
	return 0;
}

/* Sums the tile bytes stored for one (job, root): the index values. */
static int add_len(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	if (vlen == 4)
		*(uint64_t *)arg += le32_get(val);
	return 0;
}

int chunkstore_accept(store_t *s, const struct ledger *l, const uint8_t *enc, size_t len, int needed,
		      uint8_t hash[HASH_LEN], char *err, size_t errlen)
{
	struct avail_chunk c;
	memset(hash, 0, HASH_LEN);
	int rc = avail_chunk_decode(&c, enc, len);
	if (rc)
		return assay_fail(err, errlen, rc, "chunk does not decode");
	avail_chunk_hash(enc, len, hash);
	if ((rc = chunkstore_has(s, hash)) != 0)
		return rc == 1 ? assay_fail(err, errlen, ASSAY_EEXISTS, "chunk already held") : rc;
	struct job_record j;
	rc = compute_get_job(l, c.job_id, &j);
	if (rc == ASSAY_ENOTFOUND)
		return assay_fail(err, errlen, rc, "no such job here");
	if (rc)
		return assay_fail(err, errlen, rc, "state read failed");
	if (!root_open(&j, c.root))
		return assay_fail(err, errlen, ASSAY_ENOTFOUND,
				  "no slot of the job has this root with uploads open");
	if ((rc = avail_chunk_check(&j.spec.shape, c.root, &c, err, errlen)) != 0)
		return rc;
	if (!needed) {
		/* Every chunking of an output proves, so its worker could make
		 * far more distinct chunks than the output holds: a root gets
		 * at most CHUNKSTORE_ROOT_FACTOR times its output unless a
		 * block or transaction here names the chunk. */
		uint8_t prefix[IDX_PREFIX_LEN], none[HASH_LEN] = {0}, key[IDX_KEY_LEN];
		uint64_t stored = 0;
		idx_key(c.job_id, c.root, 0, none, key);
		memcpy(prefix, key, 1 + 2 * HASH_LEN);
		if ((rc = store_iterate(s, prefix, 1 + 2 * HASH_LEN, add_len, &stored)) != 0)
			return assay_fail(err, errlen, rc, "chunk index read failed");
		if (stored + c.data_len > CHUNKSTORE_ROOT_FACTOR * avail_output_bytes(&j.spec.shape)) /* mlp: with its digests */
			return assay_fail(err, errlen, ASSAY_EFULL,
					  "%llu chunk bytes held for this root already, %u times its output",
					  (unsigned long long)stored, CHUNKSTORE_ROOT_FACTOR);
	}
	uint8_t ck[1 + HASH_LEN], ik[IDX_KEY_LEN];
	chunk_key(hash, ck);
	idx_key(c.job_id, c.root, c.first_tile, hash, ik);
	store_batch_t *b = store_batch_new();
	if (!b)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	uint8_t dl[4];
	le32_put(dl, (uint32_t)c.data_len);
	store_batch_put(b, ik, sizeof(ik), dl, sizeof(dl));
	store_batch_put(b, ck, sizeof(ck), enc, len);
	rc = store_write(s, b, 0);
	store_batch_free(b);
	return rc ? assay_fail(err, errlen, rc, "chunk write failed") : 0;
}

int chunkstore_save_waiting(store_t *s, const char *name, const uint8_t *val, size_t len)
{
	store_batch_t *b = store_batch_new();
	if (!b)
		return ASSAY_ENOMEM;
	store_batch_put_meta(b, name, val, len);
	int rc = store_write(s, b, 0);
	store_batch_free(b);
	return rc;
}

int chunkstore_load_waiting(store_t *s, const char *name, uint8_t **val, size_t *len)
{
	return store_get_meta(s, name, val, len);
}

int chunkstore_has(store_t *s, const uint8_t hash[HASH_LEN])
{
	uint8_t *enc;
	size_t len;
	int rc = chunkstore_get(s, hash, &enc, &len);
	if (rc == 0) {
		free(enc);
		return 1;
	}
	return rc == ASSAY_ENOTFOUND ? 0 : rc;
}

int chunkstore_get(store_t *s, const uint8_t hash[HASH_LEN], uint8_t **enc, size_t *len)
{
	uint8_t key[1 + HASH_LEN];
	chunk_key(hash, key);
	return store_get(s, key, sizeof(key), enc, len);
}

static int first_hash(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	if (klen != IDX_KEY_LEN)
		return 0;
	memcpy(arg, key + IDX_PREFIX_LEN, HASH_LEN);
	return 1;
}

int chunkstore_get_at(store_t *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
		      uint32_t first_tile, uint8_t **enc, size_t *len)
{
	uint8_t key[IDX_KEY_LEN], hash[HASH_LEN] = {0}, none[HASH_LEN] = {0};
	idx_key(job_id, root, first_tile, none, key);
	int rc = store_iterate(s, key, IDX_PREFIX_LEN, first_hash, hash);
	if (rc)
		return rc;
	if (memcmp(hash, none, HASH_LEN) == 0)
		return ASSAY_ENOTFOUND;
	return chunkstore_get(s, hash, enc, len);
}

int chunkstore_check_block(store_t *s, const struct block *blk, uint8_t (*missing)[HASH_LEN], size_t max,
			   size_t *nmissing, char *err, size_t errlen)
{
	*nmissing = 0;
	for (size_t i = 0; i < blk->ntx; i++) {
		const struct tx *t = &blk->txs[i];
		struct job_chunks_payload p;
		if (t->kind != TX_JOB_CHUNKS || avail_chunks_decode(&p, t->payload, t->payload_len))
			continue; /* an undecodable one makes the block invalid in execution */
		for (uint32_t k = 0; k < p.count; k++) {
			const struct avail_ref *f = &p.refs[k];
			uint8_t *enc;
			size_t len;
			int rc = chunkstore_get(s, f->chunk_hash, &enc, &len);
			if (rc == ASSAY_ENOTFOUND) {
				if (*nmissing < max)
					memcpy(missing[*nmissing], f->chunk_hash, HASH_LEN);
				(*nmissing)++;
				continue;
			}
			if (rc)
				return assay_fail(err, errlen, rc, "chunk read failed");
			struct avail_chunk c;
			rc = avail_chunk_decode(&c, enc, len);
			int same = !rc && memcmp(c.job_id, p.job_id, HASH_LEN) == 0 &&
				   memcmp(c.root, p.root, HASH_LEN) == 0 && c.first_tile == f->first_tile &&
				   c.tile_count == f->tile_count && c.data_len == f->data_len;
			free(enc);
			if (rc)
				return assay_fail(err, errlen, ASSAY_ECORRUPT,
						  "a stored chunk does not decode");
			if (!same)
				return assay_fail(
					err, errlen, ASSAY_EINVALID,
					"transaction %zu: chunk %u is not the chunk its reference describes",
					i, k);
		}
	}
	if (*nmissing)
		return assay_fail(err, errlen, ASSAY_EUNAVAIL, "%zu referenced chunk(s) not received",
				  *nmissing);
	return 0;
}

/* ---- pruning ---- */

struct prune {
	store_t *s;
	const struct ledger *l;
	const struct compute_params *p;
	uint64_t height;
	store_batch_t *b;
	uint8_t job[HASH_LEN]; /* the job of the last index entry seen */
	int have_job, drop;    /* drop: that job's chunks go */
	size_t pruned;
	int err;
};

static int prune_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct prune *pr = arg;
	(void)val;
	(void)vlen;
	if (klen != IDX_KEY_LEN)
		return 0;
	if (!pr->have_job || memcmp(pr->job, key + 1, HASH_LEN) != 0) {
		struct job_record j;
		memcpy(pr->job, key + 1, HASH_LEN);
		pr->have_job = 1;
		int rc = compute_get_job(pr->l, pr->job, &j);
		if (rc && rc != ASSAY_ENOTFOUND)
			return rc;
		uint64_t end =
			rc ? 0 : (j.payout_height > j.deadline_height ? j.payout_height : j.deadline_height);
		pr->drop = rc == ASSAY_ENOTFOUND ||
			   (j.state >= JOB_PAID && pr->height > end + pr->p->chunk_retention_blocks);
	}
	if (!pr->drop)
		return 0;
	uint8_t ck[1 + HASH_LEN];
	chunk_key(key + IDX_PREFIX_LEN, ck);
	store_batch_del(pr->b, ck, sizeof(ck));
	store_batch_del(pr->b, key, klen);
	pr->pruned++;
	return 0;
}

int chunkstore_prune(store_t *s, const struct ledger *l, const struct compute_params *p, uint64_t height,
		     size_t *pruned)
{
	uint8_t prefix = STORE_P_CHUNKIDX;
	struct prune pr;
	memset(&pr, 0, sizeof(pr));
	pr.s = s;
	pr.l = l;
	pr.p = p;
	pr.height = height;
	*pruned = 0;
	if (!(pr.b = store_batch_new()))
		return ASSAY_ENOMEM;
	int rc = store_iterate(s, &prefix, 1, prune_entry, &pr);
	if (!rc && pr.pruned)
		rc = store_write(s, pr.b, 0);
	store_batch_free(pr.b);
	if (!rc)
		*pruned = pr.pruned;
	return rc;
}
