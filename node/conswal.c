/* The consensus write-ahead log (see conswal.h): record encoding, the frame
 * and header checks, the torn-tail rule, the file with its append, fsync and
 * atomic rewrite, and feeding records back into an engine. Not for: deciding
 * what is logged or when it must be durable (node/consensus.c). */
#include "node/conswal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/sha256.h"

struct conswal {
	int fd;
	int dirty; /* appended since the last fsync */
	uint64_t size;
	int broken; /* a failed append could not be cut back, or an fsync failed: no more appends or syncs */
	int fail_sync;     /* tests: the next fsync fails */
	int fail_dir_sync; /* tests: the next rewrite's directory fsync fails */
	char *path;
};

void conswal_rec_free(struct conswal_rec *r)
{
	commit_free(&r->commit);
	free(r->block);
	r->block = NULL;
	r->block_len = 0;
}

void conswal_recs_free(struct conswal_rec *recs, size_t n)
{
	for (size_t i = 0; recs && i < n; i++)
		conswal_rec_free(&recs[i]);
	free(recs);
}

/* The file opens with MAGIC and the format version (u32); a version-1 log
 * (written before the header check) opens with its first frame, whose
 * length, under 2^26, never reads as MAGIC. */
static const uint8_t MAGIC[4] = {'A', 'W', 'A', 'L'};
#define FILE_HEADER 8     /* magic, version */
#define FRAME_HEADER 12   /* len, check, head */
#define V1_FRAME_HEADER 8 /* len, check */

static uint32_t frame_check(const uint8_t *body, size_t n)
{
	uint8_t h[HASH_LEN];
	sha256(body, n, h);
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void encode_body(const struct conswal_rec *r, struct buf *b)
{
	buf_put_u8(b, r->kind);
	buf_put_u64(b, r->height);
	switch (r->kind) {
	case CONSWAL_HEIGHT:
		buf_put(b, r->value, HASH_LEN);
		break;
	case CONSWAL_START:
		buf_put_u32(b, r->round);
		break;
	case CONSWAL_PROPOSAL:
		bft_proposal_encode(&r->proposal, b);
		if (r->block_len)
			buf_put(b, r->block, r->block_len);
		break;
	case CONSWAL_VOTE:
		bft_vote_encode(&r->vote, b);
		break;
	case CONSWAL_TIMEOUT:
		buf_put_u8(b, r->step);
		buf_put_u32(b, r->round);
		break;
	case CONSWAL_VALUE:
		buf_put_u32(b, r->round);
		buf_put(b, r->value, HASH_LEN);
		if (r->block_len)
			buf_put(b, r->block, r->block_len);
		break;
	case CONSWAL_VALIDITY:
		buf_put_u8(b, r->valid);
		buf_put(b, r->value, HASH_LEN);
		break;
	case CONSWAL_COMMIT:
		commit_encode(&r->commit, b);
		break;
	case CONSWAL_SIGNED:
		buf_put_u8(b, r->step);
		buf_put_u32(b, r->round);
		buf_put(b, r->value, HASH_LEN);
		break;
	}
}

void conswal_encode(const struct conswal_rec *r, struct buf *b)
{
	struct buf body;
	buf_init(&body);
	encode_body(r, &body);
	if (body.oom) {
		b->oom = 1;
	} else {
		uint8_t head[FRAME_HEADER];
		set_u32(head, (uint32_t)body.len);
		set_u32(head + 4, frame_check(body.data, body.len));
		set_u32(head + 8, frame_check(head, 8));
		buf_put(b, head, sizeof(head));
		buf_put(b, body.data, body.len);
	}
	buf_free(&body);
}

void conswal_encode_log(const struct conswal_rec *recs, size_t n, struct buf *b)
{
	buf_put(b, MAGIC, sizeof(MAGIC));
	buf_put_u32(b, CONSWAL_VERSION);
	for (size_t i = 0; i < n; i++)
		conswal_encode(&recs[i], b);
}

/* The rest of the body is the record's block: copied out. */
static int take_block(struct conswal_rec *r, struct reader *rd)
{
	size_t n = rd_left(rd);
	if (n == 0)
		return 0;
	r->block = malloc(n);
	if (!r->block)
		return ASSAY_ENOMEM;
	memcpy(r->block, rd->p + rd->pos, n);
	r->block_len = n;
	rd->pos += n;
	return 0;
}

/* 0, ASSAY_EDECODE (not a record), ASSAY_ENOMEM. */
static int decode_body(struct conswal_rec *r, const uint8_t *p, size_t n)
{
	struct reader rd;
	rd_init(&rd, p, n);
	memset(r, 0, sizeof(*r));
	r->kind = rd_u8(&rd);
	r->height = rd_u64(&rd);
	if (rd.err)
		return ASSAY_EDECODE;
	int rc = 0;
	switch (r->kind) {
	case CONSWAL_HEIGHT:
		rd_copy(&rd, r->value, HASH_LEN);
		break;
	case CONSWAL_START:
		r->round = rd_u32(&rd);
		break;
	case CONSWAL_PROPOSAL:
		rc = n - rd.pos < BFT_PROPOSAL_BYTES ? ASSAY_EDECODE
						     : bft_proposal_decode(&r->proposal, p + rd.pos, BFT_PROPOSAL_BYTES);
		if (!rc) {
			rd.pos += BFT_PROPOSAL_BYTES;
			rc = take_block(r, &rd);
		}
		break;
	case CONSWAL_VOTE:
		rc = bft_vote_read(&r->vote, &rd);
		break;
	case CONSWAL_TIMEOUT:
		r->step = rd_u8(&rd);
		r->round = rd_u32(&rd);
		if (r->step > BFT_STEP_PRECOMMIT)
			rc = ASSAY_EDECODE;
		break;
	case CONSWAL_VALUE:
		r->round = rd_u32(&rd);
		rd_copy(&rd, r->value, HASH_LEN);
		rc = rd.err ? ASSAY_EDECODE : take_block(r, &rd);
		break;
	case CONSWAL_VALIDITY:
		r->valid = rd_u8(&rd);
		rd_copy(&rd, r->value, HASH_LEN);
		if (r->valid > 1)
			rc = ASSAY_EDECODE;
		break;
	case CONSWAL_COMMIT:
		rc = commit_read(&r->commit, &rd);
		if (rc == ASSAY_ENOMEM)
			return rc;
		break;
	case CONSWAL_SIGNED:
		r->step = rd_u8(&rd);
		r->round = rd_u32(&rd);
		rd_copy(&rd, r->value, HASH_LEN);
		if (r->step > 2)
			rc = ASSAY_EDECODE;
		break;
	default:
		rc = ASSAY_EDECODE;
	}
	if (rc == 0 && rd_finish(&rd) != 0)
		rc = ASSAY_EDECODE;
	if (rc) {
		conswal_rec_free(r);
		return rc == ASSAY_ENOMEM ? rc : ASSAY_EDECODE;
	}
	return 0;
}

/* Whether an image is laid out as this version writes it: MAGIC first, or
 * as much of it as a first write cut short left (an empty file included).
 * Anything else is a version-1 log. */
static int has_magic(const uint8_t *p, size_t len)
{
	if (len == 0)
		return 1;
	return memcmp(p, MAGIC, len < sizeof(MAGIC) ? len : sizeof(MAGIC)) == 0;
}

/* Where the frames stop short of the end of the image. A version-1 log
 * cannot tell a torn tail from a damaged length (it has no header check),
 * so it must end with a whole frame; such a tail is refused, never cut. */
static int torn_tail(int v1, size_t pos, char *err, size_t errlen)
{
	if (!v1)
		return 0;
	return assay_fail(err, errlen, ASSAY_ECORRUPT,
			  "a version-1 log ends in a partial or damaged record at offset %zu (that format "
			  "cannot tell a torn tail from damage)",
			  pos);
}

/* The frames from pos to len; v1: with the version-1 frame header. */
static int parse_frames(const uint8_t *p, size_t len, size_t pos, int v1, struct conswal_rec **recs,
			size_t *n, size_t *good_len, char *err, size_t errlen)
{
	size_t cap = 0, hlen = v1 ? V1_FRAME_HEADER : FRAME_HEADER;
	int rc = 0;
	*good_len = pos;
	while (pos < len) {
		if (len - pos < hlen) {
			rc = torn_tail(v1, pos, err, errlen); /* a frame header cut short */
			break;
		}
		uint32_t blen = get_u32(p + pos), check = get_u32(p + pos + 4);
		/* The header check vouches for the length: a damaged one is
		 * refused here, before it can send the reader past the end of
		 * the file, where it would look like a torn tail. */
		if (!v1 && frame_check(p + pos, 8) != get_u32(p + pos + 8)) {
			rc = assay_fail(err, errlen, ASSAY_ECORRUPT,
					"record at offset %zu: its header fails its check", pos);
			break;
		}
		if (blen == 0 || blen > CONSWAL_MAX_BODY) {
			rc = assay_fail(err, errlen, ASSAY_ECORRUPT, "record at offset %zu claims %u bytes",
					pos, blen);
			break;
		}
		if (len - pos - hlen < blen) {
			/* a checked length past the end: its body was cut short, and
			 * nothing was appended after it (the write that failed, or the
			 * crash, came first) */
			rc = torn_tail(v1, pos, err, errlen);
			break;
		}
		const uint8_t *body = p + pos + hlen;
		int last = pos + hlen + blen == len;
		if (frame_check(body, blen) != check) {
			if (last) {
				rc = torn_tail(v1, pos, err, errlen); /* the last write, interrupted */
				break;
			}
			rc = assay_fail(err, errlen, ASSAY_ECORRUPT, "record at offset %zu fails its check",
					pos);
			break;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct conswal_rec *grown = realloc(*recs, ncap * sizeof(*grown));
			if (!grown) {
				rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
				break;
			}
			*recs = grown;
			cap = ncap;
		}
		struct conswal_rec *r = &(*recs)[*n];
		int drc = decode_body(r, body, blen);
		if (drc == ASSAY_ENOMEM) {
			rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
			break;
		}
		if (drc) {
			rc = assay_fail(err, errlen, ASSAY_ECORRUPT, "record at offset %zu does not decode",
					pos);
			break;
		}
		if (*n == 0 && r->kind != CONSWAL_HEIGHT) {
			conswal_rec_free(r);
			rc = assay_fail(err, errlen, ASSAY_ECORRUPT,
					"the first record is not a height record");
			break;
		}
		(*n)++;
		pos += hlen + blen;
		*good_len = pos;
	}
	return rc;
}

int conswal_parse(const uint8_t *p, size_t len, struct conswal_rec **recs, size_t *n, size_t *good_len,
		  char *err, size_t errlen)
{
	*recs = NULL;
	*n = 0;
	*good_len = 0;
	int rc;
	if (!has_magic(p, len))
		rc = parse_frames(p, len, 0, 1, recs, n, good_len, err, errlen);
	else if (len < FILE_HEADER)
		return 0; /* the file header's write, cut short: an empty log */
	else if (get_u32(p + sizeof(MAGIC)) != CONSWAL_VERSION)
		return assay_fail(err, errlen, ASSAY_ECORRUPT, "unknown format version %u",
				  get_u32(p + sizeof(MAGIC)));
	else
		rc = parse_frames(p, len, FILE_HEADER, 0, recs, n, good_len, err, errlen);
	if (rc) {
		conswal_recs_free(*recs, *n);
		*recs = NULL;
		*n = 0;
		*good_len = 0;
	}
	return rc;
}

int conswal_feed(bft_engine_t *e, const struct conswal_rec *r)
{
	switch (r->kind) {
	case CONSWAL_START:
		return bft_start_at(e, r->round);
	case CONSWAL_PROPOSAL:
		return bft_on_proposal(e, &r->proposal);
	case CONSWAL_VOTE:
		return bft_on_vote(e, &r->vote);
	case CONSWAL_TIMEOUT:
		return bft_on_timeout(e, (enum bft_step)r->step, r->height, r->round);
	case CONSWAL_VALUE:
		return bft_on_value(e, r->height, r->round, r->value);
	case CONSWAL_VALIDITY:
		return bft_on_validity(e, r->height, r->value, r->valid);
	case CONSWAL_COMMIT:
		return bft_on_commit(e, &r->commit);
	default:
		return 0;
	}
}

/* ---- the file ---- */

static int read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) != 0)
		return ASSAY_EIO;
	size_t size = (size_t)st.st_size;
	uint8_t *p = malloc(size ? size : 1);
	if (!p)
		return ASSAY_ENOMEM;
	size_t got = 0;
	while (got < size) {
		ssize_t k = pread(fd, p + got, size - got, (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			free(p);
			return ASSAY_EIO;
		}
		got += (size_t)k;
	}
	*out = p;
	*len = size;
	return 0;
}

conswal_t *conswal_open(const char *path, struct conswal_rec **recs, size_t *n, int *rc, char *err,
			size_t errlen)
{
	*recs = NULL;
	*n = 0;
	conswal_t *w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path))) {
		free(w);
		*rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		return NULL;
	}
	w->fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0600);
	if (w->fd < 0) {
		*rc = assay_fail(err, errlen, ASSAY_EIO, "cannot open %s: %s", path, strerror(errno));
		conswal_close(w);
		return NULL;
	}
	uint8_t *img;
	size_t len, good;
	*rc = read_all(w->fd, &img, &len);
	if (*rc) {
		assay_fail(err, errlen, *rc, "cannot read %s", path);
		conswal_close(w);
		return NULL;
	}
	char why[200];
	*rc = conswal_parse(img, len, recs, n, &good, why, sizeof(why));
	int v1 = !has_magic(img, len);
	free(img);
	if (*rc) {
		assay_fail(err, errlen, *rc,
			   "%s is corrupt (%s): the validator cannot know what it saw before; move the file "
			   "away "
			   "to start this height afresh (the sign-state file still prevents double signing)",
			   path, why);
		conswal_close(w);
		return NULL;
	}
	w->size = good;
	if (v1) {
		/* whole, or the parse refused it: rewritten in this format, so
		 * that appends follow frames of one kind */
		*rc = conswal_rewrite(w, *recs, *n);
		if (*rc)
			assay_fail(err, errlen, *rc, "cannot rewrite %s in the current format: %s", path,
				   *rc == ASSAY_ENOMEM ? "out of memory" : strerror(errno));
	} else if (good < len && (ftruncate(w->fd, (off_t)good) != 0 || fsync(w->fd) != 0)) {
		*rc = assay_fail(err, errlen, ASSAY_EIO, "cannot cut the torn tail of %s: %s", path,
				 strerror(errno));
	}
	if (*rc) {
		conswal_recs_free(*recs, *n);
		*recs = NULL;
		*n = 0;
		conswal_close(w);
		return NULL;
	}
	return w;
}

int conswal_read(conswal_t *w, struct conswal_rec **recs, size_t *n, char *err, size_t errlen)
{
	uint8_t *img;
	size_t len, good;
	*recs = NULL;
	*n = 0;
	int rc = read_all(w->fd, &img, &len);
	if (rc)
		return assay_fail(err, errlen, rc, "cannot read %s", w->path);
	rc = conswal_parse(img, len, recs, n, &good, err, errlen);
	free(img);
	/* Damage in a file this process has been writing: records it logged,
	 * perhaps ones that led to signatures, cannot be read back. Nothing
	 * more is appended to it or trusted from it (the driver stops). */
	if (rc == ASSAY_ECORRUPT)
		w->broken = 1;
	return rc;
}

void conswal_close(conswal_t *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w->path);
	free(w);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return ASSAY_EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int append(conswal_t *w, const struct conswal_rec *r, int dirty)
{
	if (w->broken)
		return ASSAY_EIO;
	struct buf b;
	buf_init(&b);
	if (w->size == 0)
		conswal_encode_log(NULL, 0, &b); /* the file header goes with the first record */
	conswal_encode(r, &b);
	int rc = b.oom ? ASSAY_ENOMEM : write_all(w->fd, b.data, b.len);
	int saved = errno;
	if (!rc) {
		w->size += b.len;
		w->dirty |= dirty;
	} else if (rc == ASSAY_EIO && ftruncate(w->fd, (off_t)w->size) != 0) {
		/* Part of the record may be in the file: cut back to the last
		 * whole one (O_APPEND puts the next record there), or a record
		 * written after the fragment would sit behind damage that the
		 * next open refuses. Failing that, nothing more may be added. */
		w->broken = 1;
	}
	buf_free(&b);
	errno = saved;
	return rc;
}

int conswal_append(conswal_t *w, const struct conswal_rec *r)
{
	return append(w, r, 1);
}

int conswal_append_lazy(conswal_t *w, const struct conswal_rec *r)
{
	return append(w, r, 0);
}

int conswal_truncate(conswal_t *w, uint64_t size)
{
	if (size > w->size || ftruncate(w->fd, (off_t)size) != 0)
		return ASSAY_EIO;
	w->size = size;
	return 0;
}

int conswal_sync(conswal_t *w)
{
	if (w->broken)
		return ASSAY_EIO;
	if (!w->dirty)
		return 0;
	if (w->fail_sync || fsync(w->fd) != 0) {
		/* the kernel may have dropped the pages it could not write: a
		 * later fsync that succeeds says nothing of them */
		w->broken = 1;
		return ASSAY_EIO;
	}
	w->dirty = 0;
	return 0;
}

void conswal_fail_next_sync(conswal_t *w)
{
	w->fail_sync = 1;
}

void conswal_fail_next_dir_sync(conswal_t *w)
{
	w->fail_dir_sync = 1;
}

/* fsync of the directory that holds path: what makes a rename durable. */
static int sync_dir(conswal_t *w, char *path)
{
	if (w->fail_dir_sync) {
		w->fail_dir_sync = 0;
		errno = EIO;
		return ASSAY_EIO;
	}
	int dfd = open(dirname(path), O_RDONLY | O_DIRECTORY);
	int rc = dfd >= 0 && fsync(dfd) == 0 ? 0 : ASSAY_EIO;
	int saved = errno;
	if (dfd >= 0)
		close(dfd);
	errno = saved;
	return rc;
}

int conswal_rewrite(conswal_t *w, const struct conswal_rec *recs, size_t n)
{
	if (w->broken) { /* what it would write came from a log it cannot trust */
		errno = EIO;
		return ASSAY_EIO;
	}
	struct buf b;
	buf_init(&b);
	conswal_encode_log(recs, n, &b);
	if (b.oom) {
		buf_free(&b);
		return ASSAY_ENOMEM;
	}
	size_t plen = strlen(w->path) + 8;
	char *tmp = malloc(plen), *dir = strdup(w->path);
	if (!tmp || !dir) {
		free(tmp);
		free(dir);
		buf_free(&b);
		return ASSAY_ENOMEM;
	}
	snprintf(tmp, plen, "%s.new", w->path);
	int rc = ASSAY_EIO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0 && write_all(fd, b.data, b.len) == 0 && fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		int nfd = rename(tmp, w->path) == 0 ? open(w->path, O_RDWR | O_APPEND) : -1;
		if (nfd >= 0) {
			close(w->fd);
			w->fd = nfd;
			w->size = b.len;
			w->dirty = 0;
			/* the rename is durable only once its directory is: unsure,
			 * the log is broken (a power cut could bring back the old one) */
			rc = sync_dir(w, dir);
			if (rc)
				w->broken = 1;
		}
	}
	int saved = errno; /* what failed, for the caller's message */
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir);
	buf_free(&b);
	errno = saved;
	return rc;
}

uint64_t conswal_size(const conswal_t *w)
{
	return w->size;
}
