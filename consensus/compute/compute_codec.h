/* Canonical codecs of the compute protocol (docs/compute.md §7): the payloads
 * of the compute transaction kinds and the worker and job records kept in
 * state. Decoders read through core/buf.h and reject trailing bytes, unknown
 * enum values and lengths over the limits below. Not for: rules (compute.c). */
#ifndef ASSAY_COMPUTE_CODEC_H
#define ASSAY_COMPUTE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/compute/kernels.h"
#include "core/buf.h"
#include "core/keys.h"
#include "core/sha256.h"

#define WORKER_ENDPOINT_MAX 128 /* bytes of a worker's output-server endpoint */
#define WORKER_BACKEND_MAX 16   /* bytes of a backend name ("cpu", "opencl") */
#define JOB_MAX_SAMPLES 256     /* k at most: bounds reveal size and checking */
#define JOB_MAX_REDUNDANCY 3    /* r is 1..3 (docs/compute.md §1) */
#define JOB_MAX_EXCLUDED 16     /* workers that failed a job; one more fails it */
#define TILE_MAX_BYTES (1u << 20) /* one revealed tile */
#define TILE_MAX_PRE_BYTES (4u << 20) /* one revealed tile's mlp pre-activations (a transaction's hard ceiling) */

enum job_input_kind {
	JOB_INPUT_SEED = 0,  /* inputs expand from a 32-byte seed */
	JOB_INPUT_BLOBS = 1, /* one blob (by SHA-256) per input array */
};

/* What a submitter asks for: the job_submit payload. */
struct job_spec {
	struct job_shape shape;
	uint8_t input_kind;                         /* enum job_input_kind */
	uint8_t seed[HASH_LEN];                     /* JOB_INPUT_SEED */
	uint8_t blobs[KERNEL_MAX_INPUTS][HASH_LEN]; /* JOB_INPUT_BLOBS: kernel_input_count of them */
	uint32_t samples;                           /* k: challenged tiles per worker */
	uint8_t redundancy;                         /* r: workers computing the job */
	uint64_t reward;                            /* escrowed, base units */
	uint32_t deadline_blocks;                   /* job must verify within this many blocks */
	uint8_t salt_hash[HASH_LEN];                /* kernel_salt_hash of the submitter's secret salt */
};

struct worker_register_payload {
	uint64_t bond;                          /* base units moved into the bond */
	char endpoint[WORKER_ENDPOINT_MAX + 1]; /* NUL-terminated, printable ASCII */
	char backend[WORKER_BACKEND_MAX + 1];   /* NUL-terminated, [a-z0-9_-] */
};

/* A slot commits to its root without showing it (docs/compute.md §1). */
struct job_commit_payload {
	uint8_t job_id[HASH_LEN];
	uint8_t commitment[HASH_LEN]; /* kernel_root_commitment(root, worker) */
};

/* The submitter's salt, opened after every slot has committed. */
struct job_salt_payload {
	uint8_t job_id[HASH_LEN];
	uint8_t salt[HASH_LEN]; /* kernel_salt_hash(salt) == spec.salt_hash */
};

/* One revealed tile; pointers point into the decoded payload. */
struct tile_proof {
	uint32_t index;
	const uint8_t *tile;             /* the tile's output bytes */
	size_t tile_len;
	const uint8_t *pre;              /* mlp: a reveal's pre-activations of the tile (mlp.h), a dispute's
					    32-byte digest P_i; matmul: empty */
	size_t pre_len;                  /* <= TILE_MAX_PRE_BYTES */
	const uint8_t (*path)[HASH_LEN]; /* bottom-up audit path */
	size_t depth;
};

struct job_reveal_payload {
	uint8_t job_id[HASH_LEN];
	uint8_t root[HASH_LEN]; /* opens the slot's commitment */
	uint32_t count;
	struct tile_proof tiles[JOB_MAX_SAMPLES];
};

struct job_dispute_payload {
	uint8_t job_id[HASH_LEN];
	uint32_t index;                 /* the disputed tile */
	uint8_t parties;                /* 1: one worker's tile; 2: two workers' differing tiles */
	uint8_t worker[2][ADDR_LEN];
	struct tile_proof proof[2];     /* proof[i].index == index */
};

struct blob_payload {
	uint8_t hash[HASH_LEN]; /* must equal SHA256(data) */
	const uint8_t *data;
	size_t len;
};

void compute_spec_encode(const struct job_spec *s, struct buf *b);
int compute_spec_read(struct job_spec *s, struct reader *r);
int compute_spec_decode(struct job_spec *s, const uint8_t *p, size_t n);
void compute_register_encode(const struct worker_register_payload *w, struct buf *b);
int compute_register_decode(struct worker_register_payload *w, const uint8_t *p, size_t n);
void compute_commit_encode(const struct job_commit_payload *c, struct buf *b);
int compute_commit_decode(struct job_commit_payload *c, const uint8_t *p, size_t n);
void compute_salt_encode(const struct job_salt_payload *c, struct buf *b);
int compute_salt_decode(struct job_salt_payload *c, const uint8_t *p, size_t n);
void compute_reveal_encode(const struct job_reveal_payload *v, struct buf *b);
int compute_reveal_decode(struct job_reveal_payload *v, const uint8_t *p, size_t n);
void compute_dispute_encode(const struct job_dispute_payload *d, struct buf *b);
int compute_dispute_decode(struct job_dispute_payload *d, const uint8_t *p, size_t n);
void compute_blob_encode(const struct blob_payload *bl, struct buf *b);
int compute_blob_decode(struct blob_payload *bl, const uint8_t *p, size_t n);

enum worker_status {
	WORKER_ACTIVE = 1,    /* eligible for assignment */
	WORKER_UNBONDING = 2, /* no new jobs; bond returns at unbond_height with no job in flight */
	WORKER_EXITED = 3,    /* bond returned; may register again */
};

struct worker_record {
	uint8_t addr[ADDR_LEN];
	uint64_t bond;             /* held by the protocol, slashable */
	uint64_t locked;           /* part of bond locked by assignments in flight (sum of their locks) */
	uint8_t status;            /* enum worker_status */
	uint32_t jobs_in_flight;   /* assignments not yet paid, failed or refunded */
	uint64_t slashed_total;    /* all bond ever slashed */
	uint64_t jobs_done;        /* assignments paid */
	uint64_t jobs_failed;      /* assignments lost to a slash */
	uint64_t registered_height;
	uint64_t unbond_height;    /* WORKER_UNBONDING: earliest release */
	char endpoint[WORKER_ENDPOINT_MAX + 1];
	char backend[WORKER_BACKEND_MAX + 1];
};

enum job_state {
	JOB_OPEN = 0,      /* some assignee slot waits for a worker */
	JOB_ASSIGNED = 1,  /* every slot has a worker; not all committed */
	JOB_COMMITTED = 2, /* every slot committed or further; not all verified */
	JOB_VERIFIED = 3,  /* every slot passed its spot-check; dispute window runs */
	JOB_PAID = 4,      /* terminal: reward paid to the workers */
	JOB_FAILED = 5,    /* terminal: output proven wrong or roots disagree; escrow refunded */
	JOB_REFUNDED = 6,  /* terminal: deadline passed unverified; escrow refunded */
	JOB_STATE_COUNT
};

enum slot_state {
	SLOT_EMPTY = 0,      /* waiting for assignment */
	SLOT_ASSIGNED = 1,   /* worker drawn, commit due by assigned_height + commit_window */
	SLOT_COMMITTED = 2,  /* root commitment posted; waits for the job's challenge */
	SLOT_CHALLENGED = 3, /* challenge beacon fixed; reveal (opening the root) due by challenge_height + reveal_window */
	SLOT_VERIFIED = 4,   /* root opened and sampled tiles passed */
	SLOT_FAILED = 5,     /* proven wrong or silent once a root of the job was opened (no reassignment then) */
};

struct job_slot {
	uint8_t state;                    /* enum slot_state */
	uint8_t worker[ADDR_LEN];
	uint64_t assigned_height;         /* SLOT_EMPTY: the height it became empty (drawn challenge_delay later) */
	uint64_t commit_height;
	uint64_t challenge_height;        /* the job's challenge_height once the slot is challenged */
	uint64_t reveal_height;           /* when its sampled tiles passed (SLOT_VERIFIED) */
	uint64_t lock;                    /* bond locked by this assignment (compute.md §5) */
	uint8_t commitment[HASH_LEN];     /* kernel_root_commitment(root, worker) */
	uint8_t root[HASH_LEN];           /* opened by the reveal; zero before */
	uint8_t challenge_seed[HASH_LEN]; /* kernel_challenge_seed, known once the root is opened */
	uint32_t uploaded_tiles;          /* tiles 0..uploaded_tiles-1 uploaded as chunks (compute.md §15) */
};

/* job_record.salt_posted. SALT_OPENED_LATE: the salt was opened when it
 * could no longer be a secret beside the beacon of block c + d, so the
 * challenge waits for the beacon of c + d + salt_window as if there were no
 * salt (compute.md §1.2): opened before the job was sealed again (a redraw
 * after the challenge; the redrawn worker knew it when it committed), or
 * after block c + d, when that beacon was known (its holder could have
 * chosen between the challenge it gives and a fresh draw). */
#define SALT_OPENED 1
#define SALT_OPENED_LATE 2

struct job_record {
	uint8_t id[HASH_LEN];
	uint8_t submitter[ADDR_LEN];
	struct job_spec spec;
	uint8_t state;                    /* enum job_state */
	uint64_t submit_height;
	uint64_t deadline_height;         /* submit_height + deadline_blocks */
	uint64_t escrow;                  /* reward still held */
	uint64_t verified_height;
	uint64_t payout_height;           /* verified_height + dispute_window */
	uint64_t check_escrow;            /* priced at submit: pays the reveals' and a dispute's fees */
	uint64_t sealed_height;           /* c: block of the commit that completed every slot; 0 before */
	uint64_t challenge_height;        /* block whose end fixed the challenge beacon and salt; 0 before */
	uint8_t challenge_beacon[HASH_LEN]; /* beacon(c + challenge_delay), or (c + d + salt_window) without salt */
	uint8_t salt_posted;              /* SALT_OPENED, or SALT_OPENED_LATE; 0: not opened */
	uint8_t salt[HASH_LEN];
	struct job_slot slots[JOB_MAX_REDUNDANCY]; /* spec.redundancy of them */
	uint8_t excluded_count;
	uint8_t excluded[JOB_MAX_EXCLUDED][ADDR_LEN]; /* never drawn again for this job */
};

void compute_worker_encode(const struct worker_record *w, struct buf *b);
int compute_worker_decode(struct worker_record *w, const uint8_t *p, size_t n);
void compute_job_encode(const struct job_record *j, struct buf *b);
/* The most bytes compute_job_encode writes for a job whose spec encodes in
 * spec_len bytes, with r slots: its fixed fields, its slots and a full
 * excluded list (what a job_submit pays to store, protocol.md §5.2). */
size_t compute_job_record_max_bytes(size_t spec_len, unsigned r);
int compute_job_decode(struct job_record *j, const uint8_t *p, size_t n);

#endif
