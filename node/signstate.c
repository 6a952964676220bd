/* The sign-state file (see signstate.h): one line "height round step
 * value" in hex, rewritten in place and fsynced before each new signature.
 * Not for: the engine's inputs (conswal.c) or the replay that re-signs what
 * the log says was signed (consensus.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/log.h"
#include "node/signstate.h"

struct signstate {
	int fd;
	struct signstate_last last;
};

int signstate_open(const char *path, signstate_t **out, char *err, size_t errlen)
{
	*out = NULL;
	signstate_t *s = calloc(1, sizeof(*s));
	if (!s)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	s->fd = open(path, O_RDWR | O_CREAT, 0600);
	if (s->fd < 0) {
		int rc = assay_fail(err, errlen, ASSAY_EIO, "cannot open %s: %s", path, strerror(errno));
		free(s);
		return rc;
	}
	char text[256];
	ssize_t got = pread(s->fd, text, sizeof(text) - 1, 0);
	int rc = 0;
	if (got < 0) {
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot read %s: %s", path, strerror(errno));
	} else if (got > 0) {
		text[got] = 0;
		char hex[2 * HASH_LEN + 1];
		unsigned long long h;
		unsigned r, step;
		if (sscanf(text, "%llu %u %u %64s", &h, &r, &step, hex) != 4 || step > SIGNSTATE_PRECOMMIT ||
		    hex_decode(hex, s->last.value, HASH_LEN) != HASH_LEN)
			rc = assay_fail(err, errlen, ASSAY_ECORRUPT,
					"%s is corrupt: refusing to sign without knowing what was signed (move it away "
					"only if this key never signed on another machine)", path);
		s->last.any = 1;
		s->last.height = h;
		s->last.round = r;
		s->last.step = step;
	}
	if (rc) {
		signstate_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void signstate_close(signstate_t *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}

const struct signstate_last *signstate_last(const signstate_t *s)
{
	return &s->last;
}

int signstate_cmp(const signstate_t *s, uint64_t height, uint32_t round, uint32_t step)
{
	const struct signstate_last *l = &s->last;
	if (!l->any)
		return 1;
	return height != l->height ? (height < l->height ? -1 : 1)
	       : round != l->round ? (round < l->round ? -1 : 1)
	       : step != l->step   ? (step < l->step ? -1 : 1)
				   : 0;
}

int signstate_allow(signstate_t *s, uint64_t height, uint32_t round, uint32_t step,
		    const uint8_t value[HASH_LEN])
{
	const struct signstate_last *l = &s->last;
	int cmp = signstate_cmp(s, height, round, step);
	if (cmp < 0 || (cmp == 0 && memcmp(value, l->value, HASH_LEN) != 0)) {
		log_warn("consensus: refused to sign step %u at height %llu round %u: already signed %sstep %u at "
			 "height %llu round %u (DATADIR/signstate)", step, (unsigned long long)height, round,
			 cmp == 0 ? "something else at " : "", l->step, (unsigned long long)l->height, l->round);
		return ASSAY_EEXISTS;
	}
	if (cmp == 0)
		return 0; /* the very same signature again: Ed25519 gives the same bytes */
	char hex[2 * HASH_LEN + 1], text[256];
	hex_encode(value, HASH_LEN, hex);
	int len = snprintf(text, sizeof(text), "%llu %u %u %s\n", (unsigned long long)height, round, step, hex);
	if (pwrite(s->fd, text, (size_t)len, 0) != len || ftruncate(s->fd, len) != 0 || fsync(s->fd) != 0) {
		log_error("consensus: cannot write DATADIR/signstate: %s; not signing", strerror(errno));
		return ASSAY_EIO;
	}
	s->last.any = 1;
	s->last.height = height;
	s->last.round = round;
	s->last.step = step;
	memcpy(s->last.value, value, HASH_LEN);
	return 0;
}

void signstate_vote_value(const struct bft_vote *v, uint8_t out[HASH_LEN])
{
	if (v->has_value)
		memcpy(out, v->value, HASH_LEN);
	else
		memset(out, 0, HASH_LEN);
}

void signstate_proposal_value(const uint8_t chain_id[HASH_LEN], const struct bft_proposal *p,
			      uint8_t out[HASH_LEN])
{
	bft_proposal_sighash(chain_id, p, out);
}
