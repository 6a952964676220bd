/* Output chunks (see avail.h, docs/compute.md §15): codecs, range proofs
 * over the tile tree, and the check of a chunk against a job's root. Pure:
 * what a node accepts into its chunk store and what the state machine
 * counts are decided here and nowhere else. Not for: storing chunks
 * (node/chunkstore.c) or the upload deadlines (compute.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/compute/avail.h"
#include "core/error.h"

void avail_chunk_encode(const struct avail_chunk *c, struct buf *b)
{
	buf_put(b, c->job_id, HASH_LEN);
	buf_put(b, c->root, HASH_LEN);
	buf_put_u32(b, c->first_tile);
	buf_put_u32(b, c->tile_count);
	buf_put_bytes(b, c->data, c->data_len);
	buf_put_varint(b, c->proof_len);
	for (size_t i = 0; i < c->proof_len; i++)
		buf_put(b, c->proof[i], HASH_LEN);
}

int avail_chunk_decode(struct avail_chunk *c, const uint8_t *p, size_t n)
{
	struct reader r;
	memset(c, 0, sizeof(*c));
	rd_init(&r, p, n);
	rd_field(&r, "job_id");
	rd_copy(&r, c->job_id, HASH_LEN);
	rd_field(&r, "root");
	rd_copy(&r, c->root, HASH_LEN);
	rd_field(&r, "first_tile");
	c->first_tile = rd_u32(&r);
	rd_field(&r, "tile_count");
	size_t at = r.pos;
	c->tile_count = rd_u32(&r);
	if (!r.err && c->tile_count == 0)
		rd_fail(&r, ASSAY_EDECODE, at, "no tiles");
	rd_field(&r, "data");
	c->data = rd_bytes(&r, &c->data_len, AVAIL_CHUNK_MAX_BYTES);
	rd_field(&r, "proof");
	c->proof_len = rd_count(&r, AVAIL_MAX_PROOF);
	c->proof = (const uint8_t(*)[HASH_LEN])rd_fixed(&r, c->proof_len * HASH_LEN);
	if (!c->proof_len && !r.err)
		c->proof = NULL;
	return rd_finish(&r);
}

void avail_chunk_hash(const uint8_t *enc, size_t n, uint8_t out[HASH_LEN])
{
	hash_tagged("assay/chunk", enc, n, out);
}

void avail_chunks_encode(const struct job_chunks_payload *p, struct buf *b)
{
	buf_put(b, p->job_id, HASH_LEN);
	buf_put(b, p->root, HASH_LEN);
	buf_put_varint(b, p->count);
	for (uint32_t i = 0; i < p->count; i++) {
		buf_put_u32(b, p->refs[i].first_tile);
		buf_put_u32(b, p->refs[i].tile_count);
		buf_put_u32(b, p->refs[i].data_len);
		buf_put(b, p->refs[i].chunk_hash, HASH_LEN);
	}
}

int avail_chunks_decode(struct job_chunks_payload *p, const uint8_t *bytes, size_t n)
{
	struct reader r;
	memset(p, 0, sizeof(*p));
	rd_init(&r, bytes, n);
	rd_copy(&r, p->job_id, HASH_LEN);
	rd_copy(&r, p->root, HASH_LEN);
	rd_field(&r, "count");
	size_t at = r.pos;
	p->count = (uint32_t)rd_count(&r, AVAIL_MAX_REFS);
	if (!r.err && p->count == 0)
		rd_fail(&r, ASSAY_EDECODE, at, "no chunks");
	for (uint32_t i = 0; i < p->count && !r.err; i++) {
		struct avail_ref *f = &p->refs[i];
		rd_field(&r, "chunk");
		f->first_tile = rd_u32(&r);
		at = r.pos;
		f->tile_count = rd_u32(&r);
		f->data_len = rd_u32(&r);
		rd_copy(&r, f->chunk_hash, HASH_LEN);
		if (!r.err && (f->tile_count == 0 || f->data_len > AVAIL_CHUNK_MAX_BYTES))
			rd_fail(&r, f->tile_count ? ASSAY_ELIMIT : ASSAY_EDECODE, at,
				f->tile_count ? "chunk over AVAIL_CHUNK_MAX_BYTES" : "no tiles");
	}
	return rd_finish(&r);
}

uint64_t avail_chunks_declared(const struct job_chunks_payload *p)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < p->count; i++)
		sum += p->refs[i].data_len; /* at most 16 x 2^20: no overflow */
	return sum;
}

/* ---- range proofs over RFC 6962 trees ---- */

static size_t split_of(size_t size)
{
	size_t k = 1;
	while (k << 1 < size)
		k <<= 1;
	return k;
}

struct prove {
	avail_subtree_fn fn;
	void *ctx;
	size_t lo, hi;
	uint8_t (*out)[HASH_LEN];
	size_t count;
	int overflow;
};

/* The recursion of RFC 6962's MTH over [start, start + size): subtrees
 * wholly outside [lo, hi) go into the proof, wholly inside ones are the
 * verifier's to hash, and the rest are split. */
static void prove_walk(struct prove *p, size_t start, size_t size)
{
	if (start >= p->hi || start + size <= p->lo) {
		if (p->count == AVAIL_MAX_PROOF) {
			p->overflow = 1;
			return;
		}
		p->fn(p->ctx, start, size, p->out[p->count++]);
		return;
	}
	if (start >= p->lo && start + size <= p->hi)
		return;
	size_t k = split_of(size);
	prove_walk(p, start, k);
	prove_walk(p, start + k, size - k);
}

int avail_range_proof(avail_subtree_fn fn, void *ctx, size_t n, size_t lo, size_t hi,
		      uint8_t (*out)[HASH_LEN], size_t *count)
{
	*count = 0;
	if (!(lo < hi && hi <= n))
		return ASSAY_EARG;
	struct prove p = {fn, ctx, lo, hi, out, 0, 0};
	prove_walk(&p, 0, n);
	if (p.overflow)
		return ASSAY_ELIMIT;
	*count = p.count;
	return 0;
}

void avail_subtree_of_leaves(void *leaves, size_t start, size_t size, uint8_t out[HASH_LEN])
{
	const uint8_t(*all)[HASH_LEN] = leaves;
	merkle_root(all + start, size, out);
}

struct verify {
	const uint8_t (*leaves)[HASH_LEN];
	size_t lo, hi;
	const uint8_t (*proof)[HASH_LEN];
	size_t proof_len, used;
	int bad;
};

static void verify_walk(struct verify *v, size_t start, size_t size, uint8_t out[HASH_LEN])
{
	if (v->bad)
		return;
	if (start >= v->hi || start + size <= v->lo) {
		if (v->used == v->proof_len) {
			v->bad = 1;
			return;
		}
		memcpy(out, v->proof[v->used++], HASH_LEN);
		return;
	}
	if (size == 1) {
		memcpy(out, v->leaves[start - v->lo], HASH_LEN);
		return;
	}
	uint8_t l[HASH_LEN], r[HASH_LEN];
	size_t k = split_of(size);
	verify_walk(v, start, k, l);
	verify_walk(v, start + k, size - k, r);
	if (!v->bad)
		merkle_node_hash(l, r, out);
}

int avail_range_verify(const uint8_t (*leaves)[HASH_LEN], size_t n, size_t lo, size_t hi,
		       const uint8_t (*proof)[HASH_LEN], size_t proof_len, const uint8_t root[HASH_LEN])
{
	if (!(lo < hi && hi <= n))
		return ASSAY_EINVALID;
	struct verify v = {leaves, lo, hi, proof, proof_len, 0, 0};
	uint8_t got[HASH_LEN];
	verify_walk(&v, 0, n, got);
	if (v.bad || v.used != proof_len || memcmp(got, root, HASH_LEN) != 0)
		return ASSAY_ESIG;
	return 0;
}

/* ---- a chunk against its job ---- */

int avail_slot_open(const struct job_record *j, unsigned slot, uint64_t *from)
{
	*from = 0;
	if (slot >= j->spec.redundancy || j->slots[slot].state != SLOT_VERIFIED)
		return 0;
	/* its root was opened (and spot-checked) by its reveal, after every
	 * slot had committed to its own: the output can no longer be copied
	 * into a commitment (compute.md §1) */
	*from = j->slots[slot].reveal_height;
	return 1;
}

uint64_t avail_run_bytes(const struct job_shape *s, uint32_t first, uint32_t count)
{
	uint32_t tiles = kernel_tile_count(s);
	if (count == 0 || first >= tiles || count > tiles - first)
		return UINT64_MAX;
	uint64_t sum = 0;
	for (uint32_t i = first; i < first + count; i++)
		sum += kernel_leaf_bytes(s, i);
	return sum;
}

uint64_t avail_output_bytes(const struct job_shape *s)
{
	uint64_t tiles = kernel_tile_count(s);
	return kernel_output_bytes(s) + (s->kind == JOB_MLP_I8 ? tiles * HASH_LEN : 0);
}

int avail_chunk_check(const struct job_shape *s, const uint8_t root[HASH_LEN], const struct avail_chunk *c,
		      char *why, size_t whylen)
{
	if (memcmp(c->root, root, HASH_LEN) != 0)
		return assay_fail(why, whylen, ASSAY_EINVALID, "chunk is for another root");
	uint32_t tiles = kernel_tile_count(s);
	uint64_t want = avail_run_bytes(s, c->first_tile, c->tile_count);
	if (want == UINT64_MAX)
		return assay_fail(why, whylen, ASSAY_EINVALID, "tiles %u..+%u outside the job's %u tiles",
				  c->first_tile, c->tile_count, tiles);
	if (want != c->data_len)
		return assay_fail(why, whylen, ASSAY_EINVALID, "%zu bytes of tiles, the shape says %llu",
				  c->data_len, (unsigned long long)want);
	uint8_t(*leaves)[HASH_LEN] = malloc((size_t)c->tile_count * HASH_LEN);
	if (!leaves)
		return assay_fail(why, whylen, ASSAY_ENOMEM, "out of memory");
	size_t off = 0;
	for (uint32_t k = 0; k < c->tile_count; k++) {
		uint32_t i = c->first_tile + k;
		size_t len = (size_t)kernel_leaf_bytes(s, i); /* mlp: output bytes, then P_i */
		kernel_tile_leaf(i, c->data + off, len, leaves[k]);
		off += len;
	}
	int rc = avail_range_verify((const uint8_t(*)[HASH_LEN])leaves, tiles, c->first_tile,
				    (size_t)c->first_tile + c->tile_count, c->proof, c->proof_len, root);
	free(leaves);
	if (rc)
		return assay_fail(why, whylen, ASSAY_ESIG, "tiles %u..%u do not prove up to the root",
				  c->first_tile, c->first_tile + c->tile_count - 1);
	return 0;
}
