/* Output chunks in LevelDB (see chunkstore.h, docs/storage.md §4): 'k' chunk
 * hash -> the encoded chunk; 'p' chunk hash -> nothing (the chunk is held:
 * a few bytes to read, where 'k' is up to a MiB); 'j' job_id || root || u32
 * BE first_tile || chunk hash -> u32 LE tile bytes || u32 LE encoded bytes
 * || u32 LE tiles || u8 flags (a connected block named it), so a client can
 * walk one slot's output in tile order along the chunks the chain names and
 * the pruner can drop a root's chunks together; 'c' job_id || root -> the
 * root's running total (u64 LE encoded bytes || u32 LE chunks || u32 LE
 * flags || u32 LE the most tiles of one chunk), which the per-root bounds
 * read in place of the root's index and which bounds the walk that finds a
 * chunk's tiles held already. Written with their own batch, never with a
 * block's: a chunk is not chain data, only what makes a block available
 * here. The block and transactions waiting for chunks are two meta records
 * beside them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/exec.h"
#include "core/error.h"
#include "node/chunkstore.h"

#define ROOT_KEY_LEN (1 + HASH_LEN + HASH_LEN)
#define IDX_PREFIX_LEN (ROOT_KEY_LEN + 4)
#define IDX_KEY_LEN (IDX_PREFIX_LEN + HASH_LEN)
#define IDX_VAL_LEN 13  /* u32 LE tile bytes || u32 LE encoded bytes || u32 LE tiles || u8 flags */
#define IDX_NAMED 0x01  /* index flag: a connected block's job_chunks names the chunk */
#define ROOT_VAL_LEN 20 /* u64 LE encoded bytes || u32 LE chunks || u32 LE flags || u32 LE max tiles */
/* Root flag: every chunk of the root that a connected block named carries
 * IDX_NAMED (the record was made by an accept that marks; one rebuilt from
 * an older database was not), so the chunks without it are no block's. */
#define ROOT_MARKS_WHOLE 0x01u
/* Root flag: max_tiles bounds the tiles of every chunk the root holds (the
 * record was made by an accept that counts them), so a chunk that covers a
 * tile starts at most max_tiles - 1 tiles before it. */
#define ROOT_SPAN_KNOWN 0x02u
/* Meta record: every root's 'c' record is there ("1"), and every chunk's
 * 'p' record ("2"). A database written before them has 'j' entries without
 * them; the first look at the store after the upgrade sums the roots and
 * writes the 'p' records once, from the 'j' entries (roots_ready). */
#define ROOTS_META "chunk_roots"
#define ROOTS_META_HELD "2"
#define MIB (1u << 20)

static void chunk_key(const uint8_t hash[HASH_LEN], uint8_t key[1 + HASH_LEN])
{
	key[0] = STORE_P_CHUNK;
	memcpy(key + 1, hash, HASH_LEN);
}

/* The 'p' record that says a chunk is held: a few bytes to read where the
 * chunk is up to a MiB (LevelDB reads a value to answer for its key). */
static void held_key(const uint8_t hash[HASH_LEN], uint8_t key[1 + HASH_LEN])
{
	key[0] = STORE_P_CHUNKHELD;
	memcpy(key + 1, hash, HASH_LEN);
}

/* A chunk goes: its record, its 'p' record and its index entry ik. */
static void batch_del_chunk(store_batch_t *b, const uint8_t *ik, size_t iklen)
{
	uint8_t key[1 + HASH_LEN];
	chunk_key(ik + IDX_PREFIX_LEN, key);
	store_batch_del(b, key, sizeof(key));
	held_key(ik + IDX_PREFIX_LEN, key);
	store_batch_del(b, key, sizeof(key));
	store_batch_del(b, ik, iklen);
}

/* The first tile of an index entry's key (big-endian in it). */
static uint32_t idx_first(const uint8_t key[IDX_KEY_LEN])
{
	const uint8_t *p = key + 1 + 2 * HASH_LEN;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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

/* Every slot of j that holds root has uploaded all of the output (some
 * slot does): no job_chunks transaction can name a chunk of the root any
 * more (compute.md §15.4: a reference starts at the slot's uploaded_tiles). */
static int root_uploaded(const struct job_record *j, const uint8_t root[HASH_LEN])
{
	uint32_t tiles = kernel_tile_count(&j->spec.shape);
	int some = 0;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		if (memcmp(j->slots[i].root, root, HASH_LEN) != 0)
			continue;
		if (j->slots[i].uploaded_tiles < tiles)
			return 0;
		some = 1;
	}
	return some;
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

static void root_key(const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN], uint8_t key[ROOT_KEY_LEN])
{
	key[0] = STORE_P_CHUNKROOT;
	memcpy(key + 1, job_id, HASH_LEN);
	memcpy(key + 1 + HASH_LEN, root, HASH_LEN);
}

static void root_put(store_batch_t *b, const uint8_t key[ROOT_KEY_LEN], const struct chunkstore_root *u)
{
	uint8_t val[ROOT_VAL_LEN];
	le64_put(val, u->bytes);
	le32_put(val + 8, u->chunks);
	le32_put(val + 12, u->flags);
	le32_put(val + 16, u->max_tiles);
	if (u->chunks)
		store_batch_put(b, key, ROOT_KEY_LEN, val, sizeof(val));
	else
		store_batch_del(b, key, ROOT_KEY_LEN);
}

/* The encoded size an index entry records; an entry of the first layout
 * (tile bytes alone) has its chunk read. 0 when the chunk is gone. */
static int entry_encoded(store_t *s, const uint8_t *key, const uint8_t *val, size_t vlen, uint64_t *bytes)
{
	if (vlen >= 8) {
		*bytes = le32_get(val + 4);
		return 0;
	}
	uint8_t *enc;
	size_t len;
	int rc = chunkstore_get(s, key + IDX_PREFIX_LEN, &enc, &len);
	*bytes = rc == 0 ? len : 0;
	if (rc == 0)
		free(enc);
	return rc == ASSAY_ENOTFOUND ? 0 : rc;
}

struct rebuild {
	store_t *s;
	store_batch_t *b;
	int roots;                 /* the roots' records are summed too (else they are there) */
	uint8_t key[ROOT_KEY_LEN]; /* the root being summed */
	struct chunkstore_root u;
};

static int rebuild_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct rebuild *r = arg;
	uint64_t bytes;
	if (klen != IDX_KEY_LEN)
		return 0;
	uint8_t hk[1 + HASH_LEN];
	held_key(key + IDX_PREFIX_LEN, hk);
	store_batch_put(r->b, hk, sizeof(hk), NULL, 0);
	if (!r->roots)
		return 0;
	if (memcmp(r->key + 1, key + 1, ROOT_KEY_LEN - 1) != 0) {
		if (r->u.chunks)
			root_put(r->b, r->key, &r->u);
		root_key(key + 1, key + 1 + HASH_LEN, r->key);
		memset(&r->u, 0, sizeof(r->u));
	}
	int rc = entry_encoded(r->s, key, val, vlen, &bytes);
	if (rc)
		return rc;
	r->u.bytes += bytes;
	r->u.chunks++;
	return 0;
}

/* Makes sure every root held has its 'c' record and every chunk its 'p'
 * record: once, for a database written before them, from the whole index
 * (the roots summed only when their records are not there either). */
static int roots_ready(store_t *s)
{
	uint8_t *v, prefix = STORE_P_CHUNKIDX;
	size_t vlen;
	int rc = store_get_meta(s, ROOTS_META, &v, &vlen);
	int done = rc == 0 && vlen == 1 && v[0] == ROOTS_META_HELD[0];
	if (rc == 0)
		free(v);
	if (done || (rc && rc != ASSAY_ENOTFOUND))
		return rc;
	struct rebuild r;
	memset(&r, 0, sizeof(r));
	r.s = s;
	r.roots = rc == ASSAY_ENOTFOUND;
	if (!(r.b = store_batch_new()))
		return ASSAY_ENOMEM;
	rc = store_iterate(s, &prefix, 1, rebuild_entry, &r);
	if (!rc && r.u.chunks)
		root_put(r.b, r.key, &r.u);
	store_batch_put_meta(r.b, ROOTS_META, ROOTS_META_HELD, 1);
	if (!rc)
		rc = store_write(s, r.b, 0);
	store_batch_free(r.b);
	return rc;
}

void chunkstore_root_limits(const struct job_shape *s, uint64_t *max_bytes, uint64_t *max_chunks)
{
	uint64_t out = avail_output_bytes(s); /* mlp: with its digests */
	*max_bytes = CHUNKSTORE_ROOT_FACTOR * out + CHUNKSTORE_ROOT_SLACK_BYTES;
	*max_chunks = CHUNKSTORE_ROOT_BASE_CHUNKS + CHUNKSTORE_ROOT_CHUNKS_PER_MIB * ((out + MIB - 1) / MIB);
}

static int root_read(store_t *s, const uint8_t key[ROOT_KEY_LEN], struct chunkstore_root *u)
{
	uint8_t *val;
	size_t vlen;
	memset(u, 0, sizeof(*u));
	int rc = store_get(s, key, ROOT_KEY_LEN, &val, &vlen);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	/* 12: written before the flags, 16: before max_tiles */
	int ok = vlen == ROOT_VAL_LEN || vlen == 16 || vlen == 12;
	if (ok) {
		u->bytes = le64_get(val);
		u->chunks = le32_get(val + 8);
		u->flags = vlen >= 16 ? le32_get(val + 12) : 0;
		u->max_tiles = vlen == ROOT_VAL_LEN ? le32_get(val + 16) : 0;
		if (vlen < ROOT_VAL_LEN)
			u->flags &= ~ROOT_SPAN_KNOWN;
	}
	free(val);
	return ok ? 0 : ASSAY_ECORRUPT;
}

int chunkstore_root_usage(store_t *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
			  struct chunkstore_root *u)
{
	uint8_t key[ROOT_KEY_LEN];
	int rc = roots_ready(s);
	root_key(job_id, root, key);
	return rc ? rc : root_read(s, key, u);
}

/* Whether the chunks held for a root cover tiles [reach, hi): a walk of its
 * index in tile order from the first entry that could reach that far,
 * stopping at the first gap or once hi is reached. An entry of an older
 * layout, without its tile count, covers nothing. */
struct cover {
	uint32_t reach; /* the tiles before it are covered */
	uint32_t hi;
	int covered;
};

static int cover_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct cover *cv = arg;
	if (klen != IDX_KEY_LEN || vlen < IDX_VAL_LEN)
		return 0;
	uint32_t first = idx_first(key);
	uint64_t end = (uint64_t)first + le32_get(val + 8);
	if (first > cv->reach)
		return 1; /* a gap: every later entry starts later still */
	if (end > cv->reach)
		cv->reach = end > cv->hi ? cv->hi : (uint32_t)end;
	cv->covered = cv->reach >= cv->hi;
	return cv->covered;
}

/* 1 when every tile of c lies in chunks held for its root (u, its record;
 * tiles, the job's), 0 when some does not, or a local failure. The walk
 * starts at the first tile that a held chunk reaching c's first tile can
 * start at (the record's max_tiles, else the job's first tile), so it
 * reads the entries about c's run, not the root's. */
static int root_covers(store_t *s, const struct chunkstore_root *u, uint32_t tiles,
		       const struct avail_chunk *c)
{
	if (u->chunks == 0)
		return 0;
	uint32_t span = (u->flags & ROOT_SPAN_KNOWN) ? u->max_tiles : tiles;
	uint32_t from = span > 0 && c->first_tile >= span ? c->first_tile - span + 1 : 0;
	uint8_t start[IDX_KEY_LEN], none[HASH_LEN] = {0};
	struct cover cv = {c->first_tile, c->first_tile + c->tile_count, 0};
	idx_key(c->job_id, c->root, from, none, start);
	int rc = store_iterate_from(s, start, ROOT_KEY_LEN, start, IDX_PREFIX_LEN, cover_entry, &cv);
	return rc ? rc : cv.covered;
}

int chunkstore_accept(store_t *s, const struct ledger *l, const uint8_t *enc, size_t len,
		      enum chunkstore_need needed, uint8_t hash[HASH_LEN], char *err, size_t errlen)
{
	avail_chunk_hash(enc, len, hash);
	int rc = chunkstore_accept_hashed(s, l, enc, len, hash, needed, err, errlen);
	if (rc == ASSAY_EDECODE)
		memset(hash, 0, HASH_LEN);
	return rc;
}

int chunkstore_accept_hashed(store_t *s, const struct ledger *l, const uint8_t *enc, size_t len,
			     const uint8_t hash[HASH_LEN], enum chunkstore_need needed, char *err,
			     size_t errlen)
{
	struct avail_chunk c;
	uint8_t ck[1 + HASH_LEN], ik[IDX_KEY_LEN], *held;
	size_t held_len;
	int rc = avail_chunk_decode(&c, enc, len);
	if (rc)
		return assay_fail(err, errlen, rc, "chunk does not decode");
	/* held: its index entry, a few bytes, written and deleted with the
	 * chunk itself, answers without reading the chunk */
	idx_key(c.job_id, c.root, c.first_tile, hash, ik);
	rc = store_get(s, ik, sizeof(ik), &held, &held_len);
	if (rc == 0) {
		free(held);
		return assay_fail(err, errlen, ASSAY_EEXISTS, "chunk already held");
	}
	if (rc != ASSAY_ENOTFOUND)
		return assay_fail(err, errlen, rc, "chunk index read failed");
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
	/* the running total, not the root's index: an accept costs the same
	 * however many chunks the root holds. Every chunking of an output
	 * proves, so its worker could make far more distinct chunks than the
	 * output holds: unless a committed block here names the chunk, the
	 * root's bounds hold, widened by CHUNKSTORE_PARKED_FACTOR when only a
	 * parked transaction does (the worker signs as many of those as it
	 * likes). */
	struct chunkstore_root u;
	uint8_t rk[ROOT_KEY_LEN];
	root_key(c.job_id, c.root, rk);
	if ((rc = roots_ready(s)) != 0 || (rc = root_read(s, rk, &u)) != 0)
		return assay_fail(err, errlen, rc, "chunk root record read failed");
	uint64_t max_bytes, max_chunks;
	chunkstore_root_limits(&j.spec.shape, &max_bytes, &max_chunks);
	if (needed == CHUNKSTORE_NEED_PARKED) {
		max_bytes += CHUNKSTORE_PARKED_FACTOR * avail_output_bytes(&j.spec.shape);
		max_chunks += max_chunks * CHUNKSTORE_PARKED_FACTOR / CHUNKSTORE_ROOT_FACTOR;
	}
	int bounded = needed != CHUNKSTORE_NEED_BLOCK;
	if (bounded && root_uploaded(&j, c.root))
		return assay_fail(err, errlen, ASSAY_EFULL,
				  "every slot with this root has uploaded its output already");
	if (bounded && u.chunks + 1ull > max_chunks)
		return assay_fail(err, errlen, ASSAY_EFULL,
				  "%u chunks held for this root already, the most it may hold", u.chunks);
	if (bounded && u.bytes + len > max_bytes)
		return assay_fail(err, errlen, ASSAY_EFULL,
				  "%llu chunk bytes held for this root already, of at most %llu",
				  (unsigned long long)u.bytes, (unsigned long long)max_bytes);
	/* a chunk that nothing here names and that brings no tile the root's
	 * chunks lack: anyone holding chunks of the root can cut sub-runs out
	 * of them, each with its own proof, and would fill the bound above
	 * with them (docs/compute.md §15.6) */
	if (needed == CHUNKSTORE_NEED_NONE &&
	    (rc = root_covers(s, &u, kernel_tile_count(&j.spec.shape), &c)) != 0)
		return rc == 1 ? assay_fail(err, errlen, ASSAY_EFULL,
					    "every tile of this chunk is in chunks held for its root already")
			       : assay_fail(err, errlen, rc, "chunk index read failed");
	chunk_key(hash, ck);
	store_batch_t *b = store_batch_new();
	if (!b)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	uint8_t iv[IDX_VAL_LEN];
	le32_put(iv, (uint32_t)c.data_len);
	le32_put(iv + 4, (uint32_t)len);
	le32_put(iv + 8, c.tile_count);
	iv[12] = 0;
	if (u.chunks == 0) { /* a new root: every block that names its chunks will mark them */
		u.flags = ROOT_MARKS_WHOLE | ROOT_SPAN_KNOWN;
		u.max_tiles = 0;
	}
	if (c.tile_count > u.max_tiles)
		u.max_tiles = c.tile_count;
	u.bytes += len;
	u.chunks++;
	uint8_t hk[1 + HASH_LEN];
	held_key(hash, hk);
	store_batch_put(b, ik, sizeof(ik), iv, sizeof(iv));
	store_batch_put(b, ck, sizeof(ck), enc, len);
	store_batch_put(b, hk, sizeof(hk), NULL, 0);
	root_put(b, rk, &u);
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
	uint8_t key[1 + HASH_LEN], *val;
	size_t len;
	int rc = roots_ready(s);
	if (rc)
		return rc;
	held_key(hash, key);
	rc = store_get(s, key, sizeof(key), &val, &len);
	if (rc == 0) {
		free(val);
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

/* The chunk to serve among those starting at one tile: one a connected
 * block named (so the walk goes on along the chain's own chunks), else the
 * longest (the most tiles from here; tile bytes grow with tiles). */
struct pick {
	uint8_t hash[HASH_LEN];
	int found, named;
	uint32_t data_len;
};

static int pick_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct pick *pk = arg;
	if (klen != IDX_KEY_LEN || vlen < 4)
		return 0;
	int named = vlen >= IDX_VAL_LEN && (val[12] & IDX_NAMED);
	uint32_t data_len = le32_get(val);
	if (!pk->found || (named && !pk->named) || (named == pk->named && data_len > pk->data_len)) {
		memcpy(pk->hash, key + IDX_PREFIX_LEN, HASH_LEN);
		pk->found = 1;
		pk->named = named;
		pk->data_len = data_len;
	}
	return 0;
}

int chunkstore_get_at(store_t *s, const uint8_t job_id[HASH_LEN], const uint8_t root[HASH_LEN],
		      uint32_t first_tile, uint8_t **enc, size_t *len)
{
	uint8_t key[IDX_KEY_LEN], none[HASH_LEN] = {0};
	struct pick pk;
	memset(&pk, 0, sizeof(pk));
	idx_key(job_id, root, first_tile, none, key);
	int rc = store_iterate(s, key, IDX_PREFIX_LEN, pick_entry, &pk);
	if (rc)
		return rc;
	if (!pk.found)
		return ASSAY_ENOTFOUND;
	return chunkstore_get(s, pk.hash, enc, len);
}

/* Whether the index entry where reference f of p would be (its job, root,
 * first tile and chunk hash) says it is that chunk: REF_SAME when its tile
 * count and tile bytes match, REF_OTHER when they do not; 0 when the entry
 * is absent or of the older layout without a tile count (the caller then
 * reads the chunk itself: a few bytes here against up to a MiB there); or a
 * local failure (a negative ASSAY_E*). */
enum { REF_SAME = 1, REF_OTHER = 2 };
static int ref_indexed(store_t *s, const struct job_chunks_payload *p, const struct avail_ref *f)
{
	uint8_t ik[IDX_KEY_LEN], *val;
	size_t vlen;
	idx_key(p->job_id, p->root, f->first_tile, f->chunk_hash, ik);
	int rc = store_get(s, ik, sizeof(ik), &val, &vlen);
	if (rc == ASSAY_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	rc = 0;
	if (vlen >= IDX_VAL_LEN)
		rc = le32_get(val) == f->data_len && le32_get(val + 8) == f->tile_count ? REF_SAME : REF_OTHER;
	free(val);
	return rc;
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
			int rc = ref_indexed(s, &p, f);
			if (rc == REF_SAME)
				continue;
			if (rc == REF_OTHER)
				return assay_fail(err, errlen, ASSAY_EINVALID,
						  "transaction %zu: chunk %u is not the chunk its reference describes",
						  i, k);
			if (rc)
				return assay_fail(err, errlen, rc, "chunk index read failed");
			rc = chunkstore_get(s, f->chunk_hash, &enc, &len);
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

/* ---- what connected blocks name ---- */

/* Marks the index entries p names (those held) IDX_NAMED, in one batch. */
static int mark_refs(store_t *s, const struct job_chunks_payload *p)
{
	store_batch_t *b = store_batch_new();
	int rc = 0, any = 0;
	if (!b)
		return ASSAY_ENOMEM;
	for (uint32_t k = 0; k < p->count && !rc; k++) {
		const struct avail_ref *f = &p->refs[k];
		uint8_t ik[IDX_KEY_LEN], *val;
		size_t vlen;
		idx_key(p->job_id, p->root, f->first_tile, f->chunk_hash, ik);
		rc = store_get(s, ik, sizeof(ik), &val, &vlen);
		if (rc == ASSAY_ENOTFOUND) { /* not held: a block connected without it (old enough) */
			rc = 0;
			continue;
		}
		if (rc)
			break;
		int named = vlen >= IDX_VAL_LEN && (val[12] & IDX_NAMED);
		if (!named && vlen >= 8) {
			uint8_t nv[IDX_VAL_LEN];
			memcpy(nv, val, 8);
			le32_put(nv + 8, f->tile_count);
			nv[12] = IDX_NAMED;
			store_batch_put(b, ik, sizeof(ik), nv, sizeof(nv));
			any = 1;
		}
		free(val);
	}
	if (!rc && any)
		rc = store_write(s, b, 0);
	store_batch_free(b);
	return rc;
}

/* Dropping the chunks of an uploaded root that no block named: the named
 * ones must lead from tile 0 to the last (reach: the tiles a walk along
 * them arrives at, the entries coming in tile order). */
struct unnamed {
	store_t *s;
	store_batch_t *b;
	struct chunkstore_root *u;
	uint8_t *reach; /* tiles + 1 flags */
	uint32_t tiles;
	size_t dropped;
};

static int reach_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct unnamed *un = arg;
	if (klen != IDX_KEY_LEN || vlen < IDX_VAL_LEN || !(val[12] & IDX_NAMED))
		return 0;
	uint32_t first = idx_first(key);
	uint32_t count = le32_get(val + 8);
	if (first < un->tiles && count <= un->tiles - first && un->reach[first])
		un->reach[first + count] = 1;
	return 0;
}

static int drop_unnamed(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct unnamed *un = arg;
	uint64_t bytes;
	if (klen != IDX_KEY_LEN || (vlen >= IDX_VAL_LEN && (val[12] & IDX_NAMED)))
		return 0;
	int rc = entry_encoded(un->s, key, val, vlen, &bytes);
	if (rc)
		return rc;
	batch_del_chunk(un->b, key, klen);
	un->u->bytes -= bytes < un->u->bytes ? bytes : un->u->bytes;
	un->u->chunks -= un->u->chunks ? 1 : 0;
	un->dropped++;
	return 0;
}

/* Once every slot with the root has uploaded, the root's chunks that no
 * block named go: no block can name them any more, and the named ones hold
 * the output whole. */
static int drop_unnamed_of(store_t *s, const struct ledger *l, const uint8_t job_id[HASH_LEN],
			   const uint8_t root[HASH_LEN], size_t *dropped)
{
	struct chunkstore_root u;
	struct job_record j;
	uint8_t rk[ROOT_KEY_LEN], prefix[ROOT_KEY_LEN];
	root_key(job_id, root, rk);
	int rc = root_read(s, rk, &u);
	if (rc || !(u.flags & ROOT_MARKS_WHOLE) || u.chunks == 0)
		return rc;
	rc = compute_get_job(l, job_id, &j);
	if (rc == ASSAY_ENOTFOUND || (!rc && !root_uploaded(&j, root)))
		return 0;
	if (rc)
		return rc;
	struct unnamed un;
	memset(&un, 0, sizeof(un));
	un.s = s;
	un.u = &u;
	un.tiles = kernel_tile_count(&j.spec.shape);
	if (!(un.reach = calloc((size_t)un.tiles + 1, 1)) || !(un.b = store_batch_new())) {
		free(un.reach);
		return ASSAY_ENOMEM;
	}
	un.reach[0] = 1;
	memcpy(prefix, rk, sizeof(prefix));
	prefix[0] = STORE_P_CHUNKIDX;
	rc = store_iterate(s, prefix, sizeof(prefix), reach_entry, &un);
	if (!rc && un.reach[un.tiles])
		rc = store_iterate(s, prefix, sizeof(prefix), drop_unnamed, &un);
	if (!rc && un.dropped) {
		root_put(un.b, rk, &u);
		rc = store_write(s, un.b, 0);
	}
	if (!rc)
		*dropped += un.dropped;
	store_batch_free(un.b);
	free(un.reach);
	return rc;
}

int chunkstore_mark_block(store_t *s, const struct ledger *l, const struct block *blk, size_t *dropped)
{
	*dropped = 0;
	int rc = roots_ready(s);
	/* every reference first: two slots with one root may upload in one block */
	for (size_t i = 0; i < blk->ntx && !rc; i++) {
		struct job_chunks_payload p;
		const struct tx *t = &blk->txs[i];
		if (t->kind == TX_JOB_CHUNKS && avail_chunks_decode(&p, t->payload, t->payload_len) == 0)
			rc = mark_refs(s, &p);
	}
	for (size_t i = 0; i < blk->ntx && !rc; i++) {
		struct job_chunks_payload p;
		const struct tx *t = &blk->txs[i];
		if (t->kind == TX_JOB_CHUNKS && avail_chunks_decode(&p, t->payload, t->payload_len) == 0)
			rc = drop_unnamed_of(s, l, p.job_id, p.root, dropped);
	}
	return rc;
}

/* ---- pruning ---- */

struct prune {
	store_t *s;
	const struct ledger *l;
	const struct compute_params *p;
	uint64_t height;
	store_batch_t *b;
	uint8_t job[HASH_LEN]; /* the job of the last root record seen */
	int have_job, drop;    /* drop: that job's chunks go */
	size_t pruned;
};

/* One index entry of a root that goes: its chunk and itself. */
static int drop_entry(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct prune *pr = arg;
	(void)val;
	(void)vlen;
	if (klen != IDX_KEY_LEN)
		return 0;
	batch_del_chunk(pr->b, key, klen);
	pr->pruned++;
	return 0;
}

/* One root record: the job is read once for all its roots (records are in
 * job order); the root's chunks are walked only when they go. */
static int prune_root(void *arg, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	struct prune *pr = arg;
	(void)val;
	(void)vlen;
	if (klen != ROOT_KEY_LEN)
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
	uint8_t prefix[ROOT_KEY_LEN];
	memcpy(prefix, key, ROOT_KEY_LEN);
	prefix[0] = STORE_P_CHUNKIDX;
	int rc = store_iterate(pr->s, prefix, sizeof(prefix), drop_entry, pr);
	store_batch_del(pr->b, key, klen);
	return rc;
}

int chunkstore_prune(store_t *s, const struct ledger *l, const struct compute_params *p, uint64_t height,
		     size_t *pruned)
{
	uint8_t prefix = STORE_P_CHUNKROOT;
	struct prune pr;
	memset(&pr, 0, sizeof(pr));
	pr.s = s;
	pr.l = l;
	pr.p = p;
	pr.height = height;
	*pruned = 0;
	int rc = roots_ready(s);
	if (rc)
		return rc;
	if (!(pr.b = store_batch_new()))
		return ASSAY_ENOMEM;
	rc = store_iterate(s, &prefix, 1, prune_root, &pr);
	if (!rc && pr.pruned)
		rc = store_write(s, pr.b, 0);
	store_batch_free(pr.b);
	if (!rc)
		*pruned = pr.pruned;
	return rc;
}
