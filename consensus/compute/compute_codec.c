/* Codecs of compute payloads and records (see compute_codec.h). Field order
 * is the order of the structs; docs/compute.md §7 lists it byte by byte. */
#include <string.h>

#include "consensus/compute/compute_codec.h"
#include "core/error.h"
#include "core/ledger.h"
#include "core/merkle.h"

static int text_ok(const uint8_t *p, size_t n, int name)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (name ? !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
			 : (c < 0x20 || c > 0x7e))
			return 0;
	}
	return 1;
}

static void read_text(struct reader *r, char *out, size_t max, int name)
{
	size_t n;
	const uint8_t *p = rd_bytes(r, &n, max);
	out[0] = 0;
	if (!p)
		return;
	if (!text_ok(p, n, name) || (name && n == 0)) {
		r->err = ASSAY_EDECODE;
		return;
	}
	memcpy(out, p, n);
	out[n] = 0;
}

void compute_spec_encode(const struct job_spec *s, struct buf *b)
{
	const struct job_shape *sh = &s->shape;
	buf_put_u8(b, sh->kind);
	buf_put_u32(b, sh->m);
	if (sh->kind == JOB_MLP_I8) {
		buf_put_u8(b, sh->layers);
		for (unsigned l = 0; l <= sh->layers; l++)
			buf_put_u32(b, sh->dims[l]);
		for (unsigned l = 0; l < sh->layers; l++)
			buf_put_u8(b, sh->shifts[l]);
	} else {
		buf_put_u32(b, sh->n);
		buf_put_u32(b, sh->k);
	}
	buf_put_u32(b, sh->tile_rows);
	buf_put_u32(b, sh->tile_cols);
	buf_put_u8(b, s->input_kind);
	if (s->input_kind == JOB_INPUT_SEED)
		buf_put(b, s->seed, HASH_LEN);
	else
		for (unsigned i = 0; i < kernel_input_count(sh); i++)
			buf_put(b, s->blobs[i], HASH_LEN);
	buf_put_u32(b, s->samples);
	buf_put_u8(b, s->redundancy);
	buf_put_u64(b, s->reward);
	buf_put_u32(b, s->deadline_blocks);
	buf_put(b, s->salt_hash, HASH_LEN);
}

int compute_spec_read(struct job_spec *s, struct reader *r)
{
	memset(s, 0, sizeof(*s));
	struct job_shape *sh = &s->shape;
	sh->kind = rd_u8(r);
	sh->m = rd_u32(r);
	if (sh->kind == JOB_MLP_I8) {
		sh->layers = rd_u8(r);
		if (sh->layers < 1 || sh->layers > MLP_MAX_LAYERS)
			return r->err = ASSAY_EDECODE;
		for (unsigned l = 0; l <= sh->layers; l++)
			sh->dims[l] = rd_u32(r);
		for (unsigned l = 0; l < sh->layers; l++)
			sh->shifts[l] = rd_u8(r);
		sh->n = sh->dims[sh->layers];
	} else if (sh->kind == JOB_MATMUL_I8) {
		sh->n = rd_u32(r);
		sh->k = rd_u32(r);
	} else {
		return r->err = ASSAY_EDECODE;
	}
	sh->tile_rows = rd_u32(r);
	sh->tile_cols = rd_u32(r);
	s->input_kind = rd_u8(r);
	if (s->input_kind == JOB_INPUT_SEED)
		rd_copy(r, s->seed, HASH_LEN);
	else if (s->input_kind == JOB_INPUT_BLOBS)
		for (unsigned i = 0; i < kernel_input_count(sh); i++)
			rd_copy(r, s->blobs[i], HASH_LEN);
	else
		return r->err = ASSAY_EDECODE;
	s->samples = rd_u32(r);
	s->redundancy = rd_u8(r);
	s->reward = rd_u64(r);
	s->deadline_blocks = rd_u32(r);
	rd_copy(r, s->salt_hash, HASH_LEN);
	if (!r->err && (s->redundancy < 1 || s->redundancy > JOB_MAX_REDUNDANCY))
		r->err = ASSAY_EDECODE;
	return r->err;
}

int compute_spec_decode(struct job_spec *s, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	compute_spec_read(s, &r);
	return rd_finish(&r);
}

void compute_register_encode(const struct worker_register_payload *w, struct buf *b)
{
	buf_put_u64(b, w->bond);
	buf_put_bytes(b, w->endpoint, strlen(w->endpoint));
	buf_put_bytes(b, w->backend, strlen(w->backend));
}

int compute_register_decode(struct worker_register_payload *w, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	memset(w, 0, sizeof(*w));
	w->bond = rd_u64(&r);
	read_text(&r, w->endpoint, WORKER_ENDPOINT_MAX, 0);
	read_text(&r, w->backend, WORKER_BACKEND_MAX, 1);
	return rd_finish(&r);
}

void compute_commit_encode(const struct job_commit_payload *c, struct buf *b)
{
	buf_put(b, c->job_id, HASH_LEN);
	buf_put(b, c->commitment, HASH_LEN);
}

int compute_commit_decode(struct job_commit_payload *c, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	rd_copy(&r, c->job_id, HASH_LEN);
	rd_copy(&r, c->commitment, HASH_LEN);
	return rd_finish(&r);
}

void compute_salt_encode(const struct job_salt_payload *c, struct buf *b)
{
	buf_put(b, c->job_id, HASH_LEN);
	buf_put(b, c->salt, HASH_LEN);
}

int compute_salt_decode(struct job_salt_payload *c, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	rd_copy(&r, c->job_id, HASH_LEN);
	rd_copy(&r, c->salt, HASH_LEN);
	return rd_finish(&r);
}

static void put_proof(struct buf *b, const struct tile_proof *t, int with_index)
{
	if (with_index)
		buf_put_u32(b, t->index);
	buf_put_bytes(b, t->tile, t->tile_len);
	buf_put_bytes(b, t->pre, t->pre_len);
	buf_put_varint(b, t->depth);
	buf_put(b, t->path, t->depth * HASH_LEN);
}

static void read_proof(struct reader *r, struct tile_proof *t, int with_index)
{
	if (with_index)
		t->index = rd_u32(r);
	t->tile = rd_bytes(r, &t->tile_len, TILE_MAX_BYTES);
	t->pre = rd_bytes(r, &t->pre_len, TILE_MAX_PRE_BYTES);
	t->depth = (size_t)rd_count(r, MERKLE_MAX_DEPTH);
	t->path = (const uint8_t(*)[HASH_LEN])rd_fixed(r, t->depth * HASH_LEN);
	if (!t->path && t->depth == 0 && !r->err)
		t->path = (const uint8_t(*)[HASH_LEN])(r->p + r->pos);
}

void compute_reveal_encode(const struct job_reveal_payload *v, struct buf *b)
{
	buf_put(b, v->job_id, HASH_LEN);
	buf_put(b, v->root, HASH_LEN);
	buf_put_varint(b, v->count);
	for (uint32_t i = 0; i < v->count; i++)
		put_proof(b, &v->tiles[i], 1);
}

int compute_reveal_decode(struct job_reveal_payload *v, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	rd_copy(&r, v->job_id, HASH_LEN);
	rd_copy(&r, v->root, HASH_LEN);
	v->count = (uint32_t)rd_count(&r, JOB_MAX_SAMPLES);
	for (uint32_t i = 0; i < v->count && !r.err; i++)
		read_proof(&r, &v->tiles[i], 1);
	return rd_finish(&r);
}

void compute_dispute_encode(const struct job_dispute_payload *d, struct buf *b)
{
	buf_put(b, d->job_id, HASH_LEN);
	buf_put_u32(b, d->index);
	buf_put_u8(b, d->parties);
	for (unsigned i = 0; i < d->parties && i < 2; i++) {
		buf_put(b, d->worker[i], ADDR_LEN);
		put_proof(b, &d->proof[i], 0);
	}
}

int compute_dispute_decode(struct job_dispute_payload *d, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	memset(d, 0, sizeof(*d));
	rd_copy(&r, d->job_id, HASH_LEN);
	d->index = rd_u32(&r);
	d->parties = rd_u8(&r);
	if (!r.err && (d->parties < 1 || d->parties > 2))
		return ASSAY_EDECODE;
	for (unsigned i = 0; i < d->parties && !r.err; i++) {
		rd_copy(&r, d->worker[i], ADDR_LEN);
		read_proof(&r, &d->proof[i], 0);
		d->proof[i].index = d->index;
	}
	return rd_finish(&r);
}

void compute_blob_encode(const struct blob_payload *bl, struct buf *b)
{
	buf_put(b, bl->hash, HASH_LEN);
	buf_put_bytes(b, bl->data, bl->len);
}

int compute_blob_decode(struct blob_payload *bl, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	rd_copy(&r, bl->hash, HASH_LEN);
	bl->data = rd_bytes(&r, &bl->len, LEDGER_VALUE_MAX);
	return rd_finish(&r);
}

void compute_worker_encode(const struct worker_record *w, struct buf *b)
{
	buf_put(b, w->addr, ADDR_LEN);
	buf_put_u64(b, w->bond);
	buf_put_u64(b, w->locked);
	buf_put_u8(b, w->status);
	buf_put_u32(b, w->jobs_in_flight);
	buf_put_u64(b, w->slashed_total);
	buf_put_u64(b, w->jobs_done);
	buf_put_u64(b, w->jobs_failed);
	buf_put_u64(b, w->registered_height);
	buf_put_u64(b, w->unbond_height);
	buf_put_bytes(b, w->endpoint, strlen(w->endpoint));
	buf_put_bytes(b, w->backend, strlen(w->backend));
}

int compute_worker_decode(struct worker_record *w, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	memset(w, 0, sizeof(*w));
	rd_copy(&r, w->addr, ADDR_LEN);
	w->bond = rd_u64(&r);
	w->locked = rd_u64(&r);
	w->status = rd_u8(&r);
	w->jobs_in_flight = rd_u32(&r);
	w->slashed_total = rd_u64(&r);
	w->jobs_done = rd_u64(&r);
	w->jobs_failed = rd_u64(&r);
	w->registered_height = rd_u64(&r);
	w->unbond_height = rd_u64(&r);
	read_text(&r, w->endpoint, WORKER_ENDPOINT_MAX, 0);
	read_text(&r, w->backend, WORKER_BACKEND_MAX, 1);
	if (!r.err && (w->status < WORKER_ACTIVE || w->status > WORKER_EXITED || w->locked > w->bond))
		return ASSAY_EDECODE;
	return rd_finish(&r);
}

void compute_job_encode(const struct job_record *j, struct buf *b)
{
	buf_put(b, j->id, HASH_LEN);
	buf_put(b, j->submitter, ADDR_LEN);
	compute_spec_encode(&j->spec, b);
	buf_put_u8(b, j->state);
	buf_put_u64(b, j->submit_height);
	buf_put_u64(b, j->deadline_height);
	buf_put_u64(b, j->escrow);
	buf_put_u64(b, j->verified_height);
	buf_put_u64(b, j->payout_height);
	buf_put_u64(b, j->check_escrow);
	buf_put_u64(b, j->sealed_height);
	buf_put_u64(b, j->challenge_height);
	buf_put(b, j->challenge_beacon, HASH_LEN);
	buf_put_u8(b, j->salt_posted);
	buf_put(b, j->salt, HASH_LEN);
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		const struct job_slot *s = &j->slots[i];
		buf_put_u8(b, s->state);
		buf_put(b, s->worker, ADDR_LEN);
		buf_put_u64(b, s->assigned_height);
		buf_put_u64(b, s->commit_height);
		buf_put_u64(b, s->challenge_height);
		buf_put_u64(b, s->reveal_height);
		buf_put_u64(b, s->lock);
		buf_put(b, s->commitment, HASH_LEN);
		buf_put(b, s->root, HASH_LEN);
		buf_put(b, s->challenge_seed, HASH_LEN);
		buf_put_u32(b, s->uploaded_tiles); /* output availability (avail.h) */
	}
	buf_put_u8(b, j->excluded_count);
	for (unsigned i = 0; i < j->excluded_count; i++)
		buf_put(b, j->excluded[i], ADDR_LEN);
}

/* Field by field as compute_job_encode writes them. */
#define JOB_RECORD_FIXED_BYTES (HASH_LEN + ADDR_LEN + 1 + 8 * 8 + HASH_LEN + 1 + HASH_LEN + 1)
#define JOB_SLOT_BYTES (1 + ADDR_LEN + 5 * 8 + 3 * HASH_LEN + 4)

size_t compute_job_record_max_bytes(size_t spec_len, unsigned r)
{
	return JOB_RECORD_FIXED_BYTES + spec_len + (size_t)r * JOB_SLOT_BYTES + JOB_MAX_EXCLUDED * ADDR_LEN;
}

int compute_job_decode(struct job_record *j, const uint8_t *p, size_t n)
{
	struct reader r;
	rd_init(&r, p, n);
	memset(j, 0, sizeof(*j));
	rd_copy(&r, j->id, HASH_LEN);
	rd_copy(&r, j->submitter, ADDR_LEN);
	if (compute_spec_read(&j->spec, &r))
		return ASSAY_EDECODE;
	j->state = rd_u8(&r);
	j->submit_height = rd_u64(&r);
	j->deadline_height = rd_u64(&r);
	j->escrow = rd_u64(&r);
	j->verified_height = rd_u64(&r);
	j->payout_height = rd_u64(&r);
	j->check_escrow = rd_u64(&r);
	j->sealed_height = rd_u64(&r);
	j->challenge_height = rd_u64(&r);
	rd_copy(&r, j->challenge_beacon, HASH_LEN);
	j->salt_posted = rd_u8(&r);
	rd_copy(&r, j->salt, HASH_LEN);
	if (j->salt_posted > SALT_OPENED_LATE)
		r.err = ASSAY_EDECODE;
	for (unsigned i = 0; i < j->spec.redundancy && !r.err; i++) {
		struct job_slot *s = &j->slots[i];
		s->state = rd_u8(&r);
		rd_copy(&r, s->worker, ADDR_LEN);
		s->assigned_height = rd_u64(&r);
		s->commit_height = rd_u64(&r);
		s->challenge_height = rd_u64(&r);
		s->reveal_height = rd_u64(&r);
		s->lock = rd_u64(&r);
		rd_copy(&r, s->commitment, HASH_LEN);
		rd_copy(&r, s->root, HASH_LEN);
		rd_copy(&r, s->challenge_seed, HASH_LEN);
		s->uploaded_tiles = rd_u32(&r); /* output availability (avail.h) */
		if (s->state > SLOT_FAILED)
			r.err = ASSAY_EDECODE;
	}
	j->excluded_count = rd_u8(&r);
	if (j->excluded_count > JOB_MAX_EXCLUDED)
		return ASSAY_EDECODE;
	for (unsigned i = 0; i < j->excluded_count; i++)
		rd_copy(&r, j->excluded[i], ADDR_LEN);
	if (!r.err && j->state >= JOB_STATE_COUNT)
		return ASSAY_EDECODE;
	return rd_finish(&r);
}
