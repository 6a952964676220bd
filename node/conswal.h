/* The consensus write-ahead log (docs/consensus.md §10, "WAL"): the BFT
 * engine's inputs of the current height, appended before the engine sees
 * them, so that a restarted validator replays them into a fresh engine and
 * comes back in the same round with the same lock. Framing, encoding, the
 * torn-tail rule and feeding a record into an engine; the driver decides
 * what to log and when (node/consensus.c). Not for: the sign-state file
 * (the last line of defence, consensus.c) or block storage. */
#ifndef ASSAY_NODE_CONSWAL_H
#define ASSAY_NODE_CONSWAL_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/bft/bft.h"

/* Record kinds (the first byte of a record's body). */
enum conswal_kind {
	CONSWAL_HEIGHT = 1,   /* first record of a file: the height it was opened for, chain_id */
	CONSWAL_START = 2,    /* bft_start_at(round) */
	CONSWAL_PROPOSAL = 3, /* bft_on_proposal; the block it names follows */
	CONSWAL_VOTE = 4,     /* bft_on_vote */
	CONSWAL_TIMEOUT = 5,  /* bft_on_timeout(step, height, round) */
	CONSWAL_VALUE = 6,    /* bft_on_value(height, round, value); our block follows */
	CONSWAL_VALIDITY = 7, /* bft_on_validity(height, value, valid) */
	CONSWAL_COMMIT = 8,   /* bft_on_commit */
	CONSWAL_SIGNED = 9,   /* a signature we released: step (0 proposal, 1 prevote, 2 precommit) */
};

/* A body is at most this long (a proposal with its block); a frame that
 * claims more is corrupt. */
#define CONSWAL_MAX_BODY (64u << 20)

/* The file format this version writes: "AWAL" version:u32, then frames
 * (docs/consensus.md §11). */
#define CONSWAL_VERSION 2

struct conswal_rec {
	uint8_t kind;            /* enum conswal_kind */
	uint64_t height;         /* every record names its height */
	uint32_t round;          /* START, TIMEOUT, VALUE, SIGNED */
	uint8_t step;            /* TIMEOUT: enum bft_step; SIGNED: 0 proposal, 1 prevote, 2 precommit */
	uint8_t valid;           /* VALIDITY: 1 or 0 */
	uint8_t value[HASH_LEN]; /* HEIGHT: chain_id; VALUE, VALIDITY, SIGNED: the block hash (zero: nil) */
	struct bft_proposal proposal; /* PROPOSAL */
	struct bft_vote vote;         /* VOTE */
	struct commit commit;         /* COMMIT: sigs malloc()ed (conswal_rec_free) */
	uint8_t *block;               /* PROPOSAL, VALUE: the encoded block (may be empty); malloc()ed when parsed */
	size_t block_len;
};

/* Frees what a parsed record owns (commit signatures, block bytes). A
 * record built by the caller around borrowed bytes is not passed here. */
void conswal_rec_free(struct conswal_rec *r);
void conswal_recs_free(struct conswal_rec *recs, size_t n);

/* One framed record: len:u32 check:u32 head:u32 body, check = the first 4
 * bytes of SHA-256(body) read little-endian, head = the same of the frame's
 * first 8 bytes (len and check), so that a damaged length is told from a
 * torn tail. */
void conswal_encode(const struct conswal_rec *r, struct buf *b);
/* A whole log image: the file header, then each of recs framed (n may be 0). */
void conswal_encode_log(const struct conswal_rec *recs, size_t n, struct buf *b);

/* Parses a whole log image. Records up to a torn tail are returned in *recs
 * (malloc()ed array; conswal_recs_free) and *good_len is the byte length
 * they cover, the file header included: a file header cut short, a last
 * frame whose header is cut short, one whose header passes its check but
 * whose body runs past the end, or one that reaches the end of the file
 * exactly with a body check that fails, is a write interrupted by a crash
 * and is ignored. A header that fails its check, a frame that fails its
 * check or does not decode with more bytes after it, a length of 0 or above
 * CONSWAL_MAX_BODY, an unknown version, or a first record that is not
 * HEIGHT, is ASSAY_ECORRUPT with err filled. A version-1 image (no file
 * header, no header checks) parses only when it ends with a whole frame:
 * that format cannot tell a torn tail from a damaged length, so either is
 * ASSAY_ECORRUPT. 0 or an error; ASSAY_ENOMEM. */
int conswal_parse(const uint8_t *p, size_t len, struct conswal_rec **recs, size_t *n, size_t *good_len,
		  char *err, size_t errlen);

/* Hands one input record to e (HEIGHT and SIGNED are not inputs: 0). The
 * engine's return code. */
int conswal_feed(bft_engine_t *e, const struct conswal_rec *r);

/* The log file. */
typedef struct conswal conswal_t;

/* Opens (creating) path and reads it: *recs as conswal_parse, a torn tail
 * cut off the file so that appends follow the last good record; a
 * version-1 file is rewritten in the current format (as conswal_rewrite).
 * NULL on failure with err filled (corrupt: ASSAY_ECORRUPT in *rc; the
 * file is then left as it was). */
conswal_t *conswal_open(const char *path, struct conswal_rec **recs, size_t *n, int *rc, char *err,
			size_t errlen);
void conswal_close(conswal_t *w);
/* Reads the records in the file now, as conswal_parse (a torn tail, which
 * conswal_open cut already, cannot reappear). ASSAY_ECORRUPT (damage since
 * the open) leaves the log broken, as a failed fsync does: records it
 * held are lost to this process, so nothing more is appended or synced. */
int conswal_read(conswal_t *w, struct conswal_rec **recs, size_t *n, char *err, size_t errlen);
/* Appends one record with one write(2); not yet durable: conswal_sync
 * makes it so. A write that fails part way is cut back off the file, so the
 * next record follows the last whole one (when even that fails, every later
 * append fails too). A record appended with conswal_append_lazy does not by itself
 * make the next conswal_sync write (it reaches the disk with the next
 * record that does, or the rotation). */
int conswal_append(conswal_t *w, const struct conswal_rec *r);
int conswal_append_lazy(conswal_t *w, const struct conswal_rec *r);
/* Cuts the file back to size bytes (a record just appended that turned out
 * to change nothing). */
int conswal_truncate(conswal_t *w, uint64_t size);
/* fsync when something was appended since the last one. One that fails
 * leaves the log broken: every later sync and append fails too, since the
 * kernel may have dropped the pages it could not write, and a later fsync
 * that succeeds would say nothing of them. */
int conswal_sync(conswal_t *w);
/* For tests: the next fsync fails as a failing disk's would. */
void conswal_fail_next_sync(conswal_t *w);
/* For tests: the next conswal_rewrite's fsync of the directory fails. */
void conswal_fail_next_dir_sync(conswal_t *w);
/* (An ASSAY_EIO from these leaves errno saying why.) */
/* Replaces the file with exactly recs (a temporary file written, fsynced
 * and renamed over it, the directory fsynced): a height's rotation. When
 * the directory's fsync fails the rename may not survive a power cut: the
 * log is left broken (as after a failed conswal_sync), and ASSAY_EIO. A
 * broken log is not rewritten (ASSAY_EIO). */
int conswal_rewrite(conswal_t *w, const struct conswal_rec *recs, size_t n);
/* Bytes in the file (for figures and tests). */
uint64_t conswal_size(const conswal_t *w);

#endif
