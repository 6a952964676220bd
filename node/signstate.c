/* The sign-state file (see signstate.h): one line "height round step
 * value" in hex, replaced whole before each new signature: written to
 * "signstate.tmp" beside it, fsynced, renamed over it, the directory
 * fsynced. Not for: the engine's inputs (conswal.c) or the replay that
 * re-signs what the log says was signed (consensus.c). */
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

/* The longest line there is: two 20-digit and one 10-digit number, one
 * digit of step, 64 of value, three spaces and the newline. A file longer
 * than this is not one of ours. */
#define SIGNSTATE_MAX_LINE 120
#define SIGNSTATE_TMP_SUFFIX ".tmp"

struct signstate {
	int dir_fd;     /* the directory of the file: renames and its fsync go through it */
	char *name;     /* the file's name in it ("signstate") */
	char *tmp_name; /* where a new line is written before the rename ("signstate.tmp") */
	int broken;     /* a directory fsync failed: whether the last rename is durable is unknown */
	struct signstate_last last;
};

/* Reads one decimal number of at most max at *p (digits only: no sign, no
 * space), moving *p past it; -1 when there is none or it exceeds max. */
static int parse_decimal(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		unsigned digit = (unsigned)(*s - '0');
		if (digit > max || v > (max - digit) / 10)
			return -1;
		v = v * 10 + digit;
		s++;
	}
	if (s == *p)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

/* The whole file, exactly "height round step value\n" and nothing else: a
 * line cut short, or with bytes behind it, is refused, so that a file some
 * failure damaged is never read as a different signature. */
static int parse_line(const char *text, size_t len, struct signstate_last *out)
{
	const char *p = text, *end = text + len;
	uint64_t height, round, step;
	if (parse_decimal(&p, end, UINT64_MAX, &height) || p == end || *p++ != ' ' ||
	    parse_decimal(&p, end, UINT32_MAX, &round) || p == end || *p++ != ' ' ||
	    parse_decimal(&p, end, SIGNSTATE_PRECOMMIT, &step) || p == end || *p++ != ' ')
		return -1;
	if ((size_t)(end - p) != 2 * HASH_LEN + 1 || end[-1] != '\n' ||
	    hex_decode_n(p, 2 * HASH_LEN, out->value, HASH_LEN) != HASH_LEN)
		return -1;
	out->any = 1;
	out->height = height;
	out->round = (uint32_t)round;
	out->step = (uint32_t)step;
	return 0;
}

/* The last signature from the file at path: 0 with *last filled (nothing
 * signed when there is no file), ASSAY_EIO, or ASSAY_ECORRUPT. */
static int read_last(const char *path, struct signstate_last *last, char *err, size_t errlen)
{
	memset(last, 0, sizeof(*last));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* this key never signed here (the file is made by the first signature) */
	if (fd < 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot open %s: %s", path, strerror(errno));
	char text[SIGNSTATE_MAX_LINE + 2];
	size_t len = 0;
	int rc = 0;
	while (len < sizeof(text)) {
		ssize_t got = read(fd, text + len, sizeof(text) - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = assay_fail(err, errlen, ASSAY_EIO, "cannot read %s: %s", path, strerror(errno));
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	if (rc)
		return rc;
	/* An empty file included: the file is only ever replaced whole, so an
	 * empty one was left by something else (a copy that failed, a full disk
	 * under another tool), and reading it as "nothing signed" would let the
	 * key sign again what it signed before. */
	if (len == 0 || len > SIGNSTATE_MAX_LINE || parse_line(text, len, last) != 0)
		return assay_fail(err, errlen, ASSAY_ECORRUPT,
				  "%s is %s: refusing to sign without knowing what was signed (move it away only "
				  "once the chain is past the height this key last signed at, docs/operations.md)",
				  path, len == 0 ? "empty" : "torn or corrupt");
	return 0;
}

int signstate_open(const char *path, signstate_t **out, char *err, size_t errlen)
{
	*out = NULL;
	signstate_t *s = calloc(1, sizeof(*s));
	if (!s)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	s->dir_fd = -1;
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	s->name = strdup(base);
	s->tmp_name = malloc(strlen(base) + sizeof(SIGNSTATE_TMP_SUFFIX));
	int rc = 0;
	if (!dir || !s->name || !s->tmp_name) {
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto done;
	}
	snprintf(s->tmp_name, strlen(base) + sizeof(SIGNSTATE_TMP_SUFFIX), "%s%s", base, SIGNSTATE_TMP_SUFFIX);
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot open %s: %s", dir, strerror(errno));
		goto done;
	}
	/* A temporary file left by a crash before its rename: the signature it
	 * was written for was never released (that waits for the rename and
	 * the directory's fsync), so it says nothing. */
	if (unlinkat(s->dir_fd, s->tmp_name, 0) == 0)
		log_info("consensus: removed %s/%s, a sign-state write a crash interrupted", dir, s->tmp_name);
	else if (errno != ENOENT) {
		rc = assay_fail(err, errlen, ASSAY_EIO, "cannot remove %s/%s: %s", dir, s->tmp_name, strerror(errno));
		goto done;
	}
	rc = read_last(path, &s->last, err, errlen);
done:
	free(dir);
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
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->name);
	free(s->tmp_name);
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

/* Writes text to the temporary file and fsyncs it; on failure removes it
 * (errno kept). */
static int write_tmp(signstate_t *s, const char *text, size_t len)
{
	int fd = openat(s->dir_fd, s->tmp_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return ASSAY_EIO;
	size_t off = 0;
	int rc = 0;
	while (off < len && !rc) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = ASSAY_EIO;
		else
			off += (size_t)w;
	}
	if (!rc && fsync(fd) != 0)
		rc = ASSAY_EIO;
	if (close(fd) != 0 && !rc)
		rc = ASSAY_EIO;
	if (rc) {
		int saved = errno;
		unlinkat(s->dir_fd, s->tmp_name, 0);
		errno = saved;
	}
	return rc;
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
	if (s->broken) {
		log_error("consensus: DATADIR/%s may not be on disk (an fsync of its directory failed); not signing "
			  "until a restart", s->name);
		errno = EIO;
		return ASSAY_EIO;
	}
	if (cmp == 0)
		return 0; /* the very same signature again: Ed25519 gives the same bytes */
	char hex[2 * HASH_LEN + 1], text[SIGNSTATE_MAX_LINE + 1];
	hex_encode(value, HASH_LEN, hex);
	int len = snprintf(text, sizeof(text), "%llu %u %u %s\n", (unsigned long long)height, round, step, hex);
	/* Until the rename the old line stands whole, whatever fails; after it
	 * the file holds the new one, kept in memory too (refusing more, never
	 * less) even when the directory's fsync then fails. */
	int saved;
	if (write_tmp(s, text, (size_t)len) != 0) {
		saved = errno;
		log_error("consensus: cannot write DATADIR/%s: %s; not signing", s->tmp_name, strerror(saved));
		errno = saved;
		return ASSAY_EIO;
	}
	if (renameat(s->dir_fd, s->tmp_name, s->dir_fd, s->name) != 0) {
		saved = errno;
		log_error("consensus: cannot rename DATADIR/%s over %s: %s; not signing", s->tmp_name, s->name,
			  strerror(saved));
		unlinkat(s->dir_fd, s->tmp_name, 0);
		errno = saved;
		return ASSAY_EIO;
	}
	s->last.any = 1;
	s->last.height = height;
	s->last.round = round;
	s->last.step = step;
	memcpy(s->last.value, value, HASH_LEN);
	if (fsync(s->dir_fd) != 0) {
		/* the rename may not survive a power cut, and a later fsync that
		 * succeeds proves nothing (the kernel may have dropped what it
		 * could not write): nothing is signed until a restart reads the
		 * file again */
		s->broken = 1;
		saved = errno;
		log_error("consensus: cannot fsync DATADIR after writing %s: %s; not signing", s->name,
			  strerror(saved));
		errno = saved;
		return ASSAY_EIO;
	}
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
