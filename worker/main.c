/* assay-worker: a compute worker (docs/compute.md "Running a
 * worker"). Registers its wallet as a worker, polls the node for the jobs
 * assigned to it, computes them with the cpu or opencl backend, commits to
 * the Merkle root, derives its challenge once the job's beacon and salt are
 * fixed, reveals the root with the challenged tiles, and serves whole
 * outputs over HTTP once their root is opened on chain. Talks
 * to assayd only over JSON-RPC with the clients' library (libassay_client.a)
 * and reads the chain's parameters from it; it never links node/. Single-threaded event loop (libevent): the output server
 * waits while a job computes. Not for: kernels (backend*.c, kernels.c). */
#define _GNU_SOURCE /* getopt_long_only */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "config.h"
#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "consensus/compute/kernels.h"
#include "consensus/header.h"
#include "core/block.h"
#include "core/conf.h"
#include "core/error.h"
#include "core/log.h"
#include "core/merkle.h"
#include "core/network.h"
#include "core/notify.h"
#include "core/tx.h"
#include "wallet/amount.h"
#include "wallet/chunk_client.h"
#include "wallet/client_app.h"
#include "wallet/client_chain.h"
#include "wallet/client_opts.h"
#include "wallet/keystore.h"
#include "wallet/passphrase.h"
#include "wallet/rpc_client.h"
#include "wallet/txbuild.h"
#include "worker/backend.h"
#include "worker/upload.h"
#include "worker/work.h"

#define WORKER_POLL_MS 250                  /* how often the node's height is read */
#define WORKER_MAX_POLL_MS 600000           /* -poll-ms at most (the node's longest long poll) */
#define WORKER_RETRY_MS 1000                /* after listjobs failed on a long-polling node: the next try */
#define WORKER_RPC_NETWORK "dev"            /* default -network: -rpcport follows it */
#define WORKER_LISTEN "127.0.0.1:29450"     /* default output server address */
#define WORKER_DEFAULT_BOND (1000ull * AMOUNT_UNITS_PER_ASY) /* raised to min_bond if lower */
#define WORKER_DEFAULT_MAX_FEE TXBUILD_MAX_DEFAULT_FEE /* -maxfee: 10 ASY, what every client pays unasked */
#define WORKER_REGISTER_WAIT_S 60           /* to see the registration committed */
#define WORKER_PATH_MAX 4096
#define WORKER_MAX_REVEALS 16               /* txids of JOB_ID.reveal read when judging an opened root */
#define WORKER_HTTP_IDLE_S 30               /* output server: a connection with no traffic this long closes */
#define WORKER_HTTP_MAX_HEADERS 8192        /* output server: bytes of a request's head */
#ifdef HAVE_OPENCL
#define WORKER_OPENCL_BUILT "this build has OpenCL"
#else
#define WORKER_OPENCL_BUILT "this build has no OpenCL"
#endif

/* Where one assigned job stands in this process. */
enum work_stage {
	STAGE_NEW = 0,         /* seen assigned; nothing computed */
	STAGE_COMMIT_SENT = 1, /* job_commit in the mempool or a block */
	STAGE_REVEAL_SENT = 2, /* job_reveal in the mempool or a block */
	STAGE_DONE = 3,        /* our slot verified, its root opened: the output is served */
	STAGE_FAILED = 4,      /* a transaction of ours failed; we stop acting on it */
};

struct work_item {
	uint8_t job_id[HASH_LEN];
	char job_hex[2 * HASH_LEN + 1];
	struct job_record rec;         /* as last read from the node */
	unsigned slot;                 /* our slot in rec */
	enum work_stage stage;
	uint8_t *output;               /* whole output while needed (NULL after verification) */
	uint8_t *pre;                  /* mlp: the whole job's pre-activations (mlp.h), kept with output */
	uint8_t (*digests)[HASH_LEN];  /* mlp: every tile's pre-activation digest P_i */
	outtree_t *tree;
	uint8_t root[HASH_LEN];
	char txid[2 * HASH_LEN + 1];   /* the last commit or reveal we sent */
	uint32_t upload_to;            /* tiles below this named by our job_chunks in flight (0: none) */
	char upload_txid[2 * HASH_LEN + 1];
	int seen;                      /* in the latest listjobs */
	int distrusted;                /* a record of it failed our checks: said once in the log */
	uint64_t refused_fee;          /* the fee last refused above -maxfee for it (0: none): logged once, and
					  the transaction not built again while the node's fee rule asks the same */
	uint64_t refused_gas;          /* that transaction's gas limit */
	uint8_t refused_kind;          /* and its kind */
	struct work_item *next;
};

struct worker_cfg {
	struct client_opts common;     /* node, wallet, -listen; a named network must be the node's */
	char backend[16];
	int threads;
	uint64_t bond;                 /* 0: WORKER_DEFAULT_BOND */
	uint64_t max_fee;              /* -maxfee: the most fee one transaction of ours pays */
	uint64_t min_price;            /* -minprice: least reward per 10^9 operations a slot pays (0: any) */
	char endpoint[WORKER_ENDPOINT_MAX + 1];
	char outdir[WORKER_PATH_MAX];
	double corrupt_fraction;       /* test only */
	uint32_t corrupt_tiles;        /* test only */
	int serve_wrong_output;        /* test only: serve outputs with one byte changed */
	int predict;                   /* test only: predict_seckey is set */
	uint8_t predict_seckey[SECKEY_LEN]; /* test only: the block producer's key */
	int withhold_output;           /* test only: never upload the output's chunks */
	uint32_t corrupt_pre;          /* test only: mlp tiles whose pre-activations are corrupted */
	unsigned poll_ms;
	unsigned debug;                /* LOG_CAT_* (-debug: all) */
};

struct worker {
	struct worker_cfg cfg;
	struct client_app_conn rpc;
	struct keystore_key key;
	uint8_t addr[ADDR_LEN];
	char address[ADDR_STR_MAX];
	struct client_chain chain;     /* network, chain id and chain parameters */
	uint64_t gas_per_check_unit, min_bond;
	uint64_t chunk_budget_bytes;   /* chunk tile bytes one block takes (getcomputeparams) */
	enum chunk_path chunk_path;    /* how the node takes chunks (chunk_client.h) */
	uint32_t challenge_delay, salt_window; /* record checks (d); the test-only prediction */
	struct event_base *base;
	struct evhttp *http;
	struct event *tick_ev, *sigint_ev, *sigterm_ev;
	struct event *http_resume; /* client_app_http_listen's pause timer */
	backend_cl_t *cl;
	uint64_t last_height;
	uint64_t fee_rule_height; /* the block at which refresh_fee_rule last read the node's fee rule */
	int long_poll; /* the node answers waitfornewblock: the tick timer fires at once */
	int backing_off; /* listjobs failed: the tick timer waits WORKER_RETRY_MS (tick_backoff) */
	struct work_item *items;
	/* totals for the log */
	uint64_t jobs_computed;
	double ops_total, secs_total;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- RPC ---- */

/* Calls method (params stolen; NULL = []). 0 with *result, or -1 with the
 * failure in *fail (logged unless quiet). A stale cookie is reread once. */
static int call(struct worker *w, const char *method, json_t *params, json_t **result,
		struct rpc_failure *fail, int quiet)
{
	struct rpc_failure local;
	if (!fail)
		fail = &local;
	log_debugc(LOG_CAT_RPC, "rpc: %s to %s:%u", method, w->rpc.ep.host, (unsigned)w->rpc.ep.port);
	int rc = client_app_call(&w->rpc, method, params, result, fail);
	if (rc) {
		if (rc != ASSAY_EINVALID)
			fail->code = 0; /* not the node's error code */
		if (!quiet)
			log_warn("rpc %s: %s", method, fail->message);
		return -1;
	}
	return 0;
}

static uint64_t json_u64(const json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* The fee of a transaction of kind with gas_limit under the node's fee rule
 * (w->chain.params) into *fee. A reveal pays the chain's exact minimum: the
 * job's check escrow pays it back (compute.md §6.4), and reveals have their
 * own block budget, so there is nothing to outbid. The fee rule is the
 * node's word (getchainparams): a hostile node could name any floor, and a
 * reveal pays the floor exactly, so every fee is held to -maxfee whatever
 * kind pays it. 0; ASSAY_ELIMIT when the fee is above -maxfee (*fee is
 * UINT64_MAX when no fee in 64 bits can pay it). */
static int tx_fee(const struct worker *w, uint8_t kind, uint64_t gas_limit, uint64_t *fee)
{
	int rc = kind == TX_JOB_REVEAL ? chain_min_fee(&w->chain.params, gas_limit, fee)
				       : txbuild_default_fee(&w->chain.params, gas_limit, fee);
	if (rc != 0 && rc != ASSAY_ELIMIT) { /* ELIMIT: above 10 ASY, for -maxfee to judge */
		*fee = UINT64_MAX;           /* no fee in 64 bits pays it */
		return ASSAY_ELIMIT;
	}
	return *fee > w->cfg.max_fee ? ASSAY_ELIMIT : 0;
}

/* Says that a fee above -maxfee was not signed, and what the operator can
 * do about it. it: the job the transaction was for (NULL: none). */
static void log_fee_refused(const struct worker *w, const struct work_item *it, uint8_t kind, uint64_t fee)
{
	char asks[AMOUNT_STR_MAX], most[AMOUNT_STR_MAX], job[32] = "";
	amount_format(fee, asks);
	amount_format(w->cfg.max_fee, most);
	if (it)
		snprintf(job, sizeof(job), "job %.16s: ", it->job_hex);
	log_error("%sthe node's fee rule asks %s%s ASY for a %s, more than -maxfee=%s ASY: not signed; raise "
		  "-maxfee if the chain's fee rule really asks that much (%s)",
		  job, fee == UINT64_MAX ? "more than " : "", asks, tx_kind_name(kind), most,
		  it ? "said once; tried again when the fee asked changes" : "nothing sent");
}

/* Signs and sends a transaction from the worker's key; the txid into txid.
 * it: the job it is for (NULL: none), where a refused fee is kept so that
 * the refusal is logged once per fee asked (fee_unchanged). 0; ASSAY_ELIMIT
 * when the fee is above -maxfee (nothing signed); -1 otherwise. */
static int send_tx(struct worker *w, struct work_item *it, uint8_t kind, const uint8_t *payload, size_t len,
		   uint64_t gas_limit, char txid[2 * HASH_LEN + 1])
{
	json_t *acct;
	uint64_t fee;
	if (tx_fee(w, kind, gas_limit, &fee) != 0) {
		if (!it || it->refused_fee != fee || it->refused_kind != kind)
			log_fee_refused(w, it, kind, fee);
		if (it) {
			it->refused_fee = fee;
			it->refused_gas = gas_limit;
			it->refused_kind = kind;
		}
		return ASSAY_ELIMIT;
	}
	if (call(w, "getaccount", json_pack("[s]", w->address), &acct, NULL, 0) < 0)
		return -1;
	struct txbuild_spec spec = {.nonce = json_u64(acct, "pending_nonce"),
				    .gas_limit = gas_limit,
				    .fee = fee,
				    .kind = kind,
				    .payload = payload,
				    .payload_len = len};
	json_decref(acct);
	memcpy(spec.chain_id, w->chain.chain_id, HASH_LEN);
	struct buf enc;
	uint8_t id[HASH_LEN];
	buf_init(&enc);
	if (txbuild_sign(&spec, w->key.seckey, &enc, id) != 0) {
		buf_free(&enc);
		log_error("cannot build a %s transaction", tx_kind_name(kind));
		return -1;
	}
	char *hex = malloc(2 * enc.len + 1);
	if (!hex) {
		buf_free(&enc);
		return -1;
	}
	hex_encode(enc.data, enc.len, hex);
	buf_free(&enc);
	json_t *sent;
	int rc = call(w, "sendrawtransaction", json_pack("[s]", hex), &sent, NULL, 0);
	free(hex);
	if (rc < 0)
		return -1;
	json_decref(sent);
	hex_encode(id, HASH_LEN, txid);
	if (it && it->refused_fee) {
		char asks[AMOUNT_STR_MAX];
		amount_format(fee, asks);
		log_info("job %.16s: the node's fee rule now asks %s ASY for the %s, within -maxfee: sent",
			 it->job_hex, asks, tx_kind_name(kind));
		it->refused_fee = 0;
	}
	return 0;
}

/* Where a transaction we sent stands: 1 pending or committed ok, 0 gone from
 * the mempool without a trace (send again), -1 committed but failed. */
static int tx_outcome(struct worker *w, const char *txid, char *why, size_t whylen)
{
	json_t *tx;
	struct rpc_failure fail;
	if (call(w, "gettransaction", json_pack("[s]", txid), &tx, &fail, 1) < 0)
		return fail.code == -5 ? 0 : 1; /* RPC_NOT_FOUND; otherwise ask again later */
	json_t *result = json_object_get(tx, "result");
	int failed = json_is_object(result) && json_is_false(json_object_get(result, "ok"));
	if (failed)
		snprintf(why, whylen, "%s", json_string_value(json_object_get(result, "error"))
						    ? json_string_value(json_object_get(result, "error"))
						    : "unknown error");
	json_decref(tx);
	return failed ? -1 : 1;
}

/* ---- registration ---- */

static int get_worker_status(struct worker *w, char *status, size_t cap, char *endpoint, size_t ecap)
{
	json_t *rec;
	struct rpc_failure fail;
	if (call(w, "getworker", json_pack("[s]", w->address), &rec, &fail, 1) < 0)
		return fail.code == -5 ? 0 : -1;
	snprintf(status, cap, "%s", json_string_value(json_object_get(rec, "status")) ?: "");
	snprintf(endpoint, ecap, "%s", json_string_value(json_object_get(rec, "endpoint")) ?: "");
	json_decref(rec);
	return 1;
}

static int ensure_registered(struct worker *w)
{
	char status[32], endpoint[WORKER_ENDPOINT_MAX + 1];
	int have = get_worker_status(w, status, sizeof(status), endpoint, sizeof(endpoint));
	if (have < 0)
		return -1;
	if (have && strcmp(status, "unbonding") == 0) {
		log_error("%s is unbonding: it takes no new jobs (register again once it has exited)", w->address);
		return -1;
	}
	int active = have && strcmp(status, "active") == 0;
	if (active && strcmp(endpoint, w->cfg.endpoint) == 0) {
		log_info("registered worker %s (endpoint %s)", w->address, endpoint);
		return 0;
	}
	struct worker_register_payload reg;
	memset(&reg, 0, sizeof(reg));
	/* An active worker only updates its endpoint (a zero top-up). */
	reg.bond = active ? 0 : w->cfg.bond ? w->cfg.bond : WORKER_DEFAULT_BOND;
	if (!active && reg.bond < w->min_bond) {
		char asked[AMOUNT_STR_MAX], least[AMOUNT_STR_MAX];
		amount_format(reg.bond, asked);
		amount_format(w->min_bond, least);
		if (w->cfg.bond) { /* the user's amount: never more without asking */
			log_error("-bond=%s ASY is below the chain's min_bond %s ASY: not registering (give -bond=%s "
				  "or more)", asked, least, least);
			return -1;
		}
		log_warn("the default bond %s ASY is below the chain's min_bond: bonding %s ASY", asked, least);
		reg.bond = w->min_bond;
	}
	snprintf(reg.endpoint, sizeof(reg.endpoint), "%s", w->cfg.endpoint);
	snprintf(reg.backend, sizeof(reg.backend), "%s", w->cfg.backend);
	struct buf p;
	char txid[2 * HASH_LEN + 1], asy[AMOUNT_STR_MAX];
	buf_init(&p);
	compute_register_encode(&reg, &p);
	int rc = p.oom ? -1 : send_tx(w, NULL, TX_WORKER_REGISTER, p.data, p.len, 0, txid);
	buf_free(&p);
	if (rc < 0)
		return -1;
	amount_format(reg.bond, asy);
	log_info("worker_register %s sent: bond %s ASY, endpoint %s", txid, asy, reg.endpoint);
	for (unsigned i = 0; i < WORKER_REGISTER_WAIT_S * 10; i++) {
		char why[RPC_CLIENT_AUTH_MAX];
		if (tx_outcome(w, txid, why, sizeof(why)) < 0) {
			log_error("worker_register failed: %s", why);
			return -1;
		}
		if (get_worker_status(w, status, sizeof(status), endpoint, sizeof(endpoint)) == 1 &&
		    strcmp(status, "active") == 0 && strcmp(endpoint, w->cfg.endpoint) == 0) {
			log_info("registered worker %s (endpoint %s)", w->address, endpoint);
			return 0;
		}
		struct timespec nap = {0, 100000000L};
		nanosleep(&nap, NULL);
	}
	log_error("worker_register %s not committed after %d s", txid, WORKER_REGISTER_WAIT_S);
	return -1;
}

/* ---- computing ---- */

/* Fetches blob inputs and checks their hashes and sizes; *src points into
 * in[], which the caller frees. 0; 1 when the node did not answer (try
 * again); -1 when the inputs are wrong. */
static int load_inputs(struct worker *w, const struct job_record *j, struct kernel_src *src,
		       uint8_t *in[KERNEL_MAX_INPUTS])
{
	const struct job_shape *s = &j->spec.shape;
	memset(src, 0, sizeof(*src));
	if (j->spec.input_kind == JOB_INPUT_SEED) {
		src->from_seed = 1;
		memcpy(src->seed, j->spec.seed, HASH_LEN);
		return kernel_src_load(src, s, in) ? -1 : 0;
	}
	uint8_t *blob[KERNEL_MAX_INPUTS] = {0};
	int rc = 0;
	for (unsigned id = 0; id < kernel_input_count(s) && rc == 0; id++) {
		char hex[2 * HASH_LEN + 1];
		json_t *b;
		hex_encode(j->spec.blobs[id], HASH_LEN, hex);
		if (call(w, "getblob", json_pack("[s]", hex), &b, NULL, 0) < 0) {
			rc = 1; /* the node did not answer: not now */
			break;
		}
		char err[200];
		if (client_blob_parse(b, j->spec.blobs[id], kernel_input_bytes(s, id), &blob[id], err, sizeof(err))) {
			log_error("%s", err);
			rc = -1;
		}
		src->data[id] = blob[id];
		json_decref(b);
	}
	if (rc == 0 && kernel_src_load(src, s, in) != 0)
		rc = -1;
	for (unsigned id = 0; id < KERNEL_MAX_INPUTS; id++)
		free(blob[id]);
	memset(src->data, 0, sizeof(src->data));
	return rc;
}

/* Integer operations of a job (a multiply-add counts two), for GOPS. */
static double job_ops(const struct job_shape *s)
{
	if (s->kind == JOB_MATMUL_I8)
		return 2.0 * s->m * s->n * s->k;
	double ops = 0;
	for (unsigned l = 0; l < s->layers; l++)
		ops += 2.0 * s->m * s->dims[l] * s->dims[l + 1];
	return ops;
}

static int save_output(struct worker *w, const struct work_item *it, uint64_t len)
{
	char path[WORKER_PATH_MAX + 96], tmp[WORKER_PATH_MAX + 112];
	snprintf(path, sizeof(path), "%s/%s.out", w->cfg.outdir, it->job_hex);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	int ok = f && fwrite(it->output, 1, len, f) == len;
	if (f && fclose(f) != 0) /* closed either way: never close twice */
		ok = 0;
	if (!ok) {
		log_error("cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	return rename(tmp, path) == 0 ? 0 : -1;
}

/* The tip's height and beacon. 0, or -1 if the node did not say. */
static int tip_beacon(struct worker *w, uint64_t *height, uint8_t beacon[HASH_LEN])
{
	json_t *count, *blk;
	if (call(w, "getblockcount", NULL, &count, NULL, 1) < 0)
		return -1;
	*height = json_is_integer(count) ? (uint64_t)json_integer_value(count) : 0;
	json_decref(count);
	if (call(w, "getblock", json_pack("[I]", (json_int_t)*height), &blk, NULL, 1) < 0)
		return -1;
	const char *hex = json_string_value(json_object_get(blk, "beacon"));
	int ok = hex && strlen(hex) == 2 * HASH_LEN && hex_decode(hex, beacon, HASH_LEN) == HASH_LEN;
	json_decref(blk);
	return ok ? 0 : -1;
}

/* TEST ONLY (-predict-key): the attack of a worker that knows the block
 * producer's key (docs/compute.md §10). It picks the block its commit will
 * land in (c, ten blocks ahead of the tip), computes every beacon up to
 * c + challenge_delay + salt_window with the producer's VRF key, and, for the
 * challenge that beacon gives when the submitter never opens its salt,
 * grinds a corruption of 3 of every 4 tiles whose own challenge samples
 * only honest tiles (the seed is bound to the root, so each try recomputes
 * it). Then it waits for block c - 1 and lets the commit go. Against a
 * submitter that opens its salt the prediction is worthless. Single-slot
 * jobs only. */
static int predict_and_grind(struct worker *w, struct work_item *it)
{
	const struct job_shape *s = &it->rec.spec.shape;
	uint32_t tiles = kernel_tile_count(s), idx[JOB_MAX_SAMPLES];
	uint64_t tip, c;
	uint8_t beacon[HASH_LEN], proof[VRF_PROOF_LEN];
	if (it->rec.spec.redundancy != 1 || tip_beacon(w, &tip, beacon) != 0)
		return -1;
	c = tip + 10; /* room for the grinding, whose length is luck */
	for (uint64_t h = tip + 1; h <= c + w->challenge_delay + w->salt_window; h++)
		if (header_beacon_prove(w->cfg.predict_seckey, w->chain.chain_id, h, beacon, proof, beacon) != 0)
			return -1;
	/* Corrupt 3 of every 4 tiles once; each try then changes one entry of
	 * tile 1 only, so a try costs one leaf and the tree above it. */
	uint32_t eb = kernel_elem_bytes(s), r0, c0, nr, nc;
	for (uint32_t t = 0; t < tiles; t++) {
		if (t % 4 == 0)
			continue; /* the honest quarter */
		kernel_tile_rect(s, t, &r0, &c0, &nr, &nc);
		it->output[((size_t)r0 * s->n + c0) * eb] ^= 0x5a;
	}
	uint8_t (*leaves)[HASH_LEN] = NULL, root[HASH_LEN], oh[HASH_LEN], *tile = malloc(TILE_MAX_BYTES + HASH_LEN);
	uint8_t (*digests)[HASH_LEN] = NULL;
	if (!tile || tiles < 2 || (it->pre && mlp_pre_digests(s, it->pre, &digests) != 0) ||
	    kernel_commit_pre(s, it->output, (const uint8_t(*)[HASH_LEN])digests, &leaves, root, oh) != 0) {
		free(tile);
		free(digests);
		return -1;
	}
	kernel_tile_rect(s, 1, &r0, &c0, &nr, &nc);
	uint8_t *nonce = &it->output[((size_t)(r0 + nr - 1) * s->n + c0) * eb]; /* an entry of tile 1 */
	int found = 0;
	uint32_t tries;
	for (tries = 1; tries <= 4000000 && !found; tries++) {
		nonce[0] = (uint8_t)tries;
		if (eb > 1) {
			nonce[1] = (uint8_t)(tries >> 8);
			nonce[2] = (uint8_t)(tries >> 16);
		}
		kernel_leaf_extract(s, it->output, (const uint8_t(*)[HASH_LEN])digests, 1, tile);
		kernel_tile_leaf(1, tile, kernel_leaf_bytes(s, 1), leaves[1]);
		merkle_root((const uint8_t(*)[HASH_LEN])leaves, tiles, root);
		uint8_t seed[HASH_LEN];
		kernel_challenge_seed(beacon, NULL, it->job_id, w->addr, root, seed);
		uint32_t n = kernel_challenge_indices(seed, it->rec.spec.samples, tiles, idx);
		found = 1;
		for (uint32_t i = 0; i < n; i++)
			found &= idx[i] % 4 == 0;
	}
	free(leaves);
	free(tile);
	free(digests);
	if (!found)
		return -1;
	log_warn("job %.16s: predicted challenge beacon of height %llu; 3/4 of the tiles corrupted, challenge "
		 "avoids them after %u tries; commit planned for height %llu (test mode)",
		 it->job_hex, (unsigned long long)(c + w->challenge_delay + w->salt_window), tries - 1,
		 (unsigned long long)c);
	uint64_t h = tip;
	for (int i = 0; i < 1000 && h + 1 < c; i++) { /* until block c - 1 is on chain */
		if (tip_beacon(w, &h, beacon) != 0)
			return -1;
		if (h + 1 < c)
			usleep(10000);
	}
	if (h + 1 > c)
		log_warn("job %.16s: the grinding outlasted the plan (tip %llu)", it->job_hex, (unsigned long long)h);
	return 0;
}

static void release_item(struct work_item *it)
{
	free(it->output);
	it->output = NULL;
	free(it->pre);
	it->pre = NULL;
	free(it->digests);
	it->digests = NULL;
	outtree_destroy(it->tree);
	it->tree = NULL;
}

/* Computes the job's output, its tree and root, and saves the output. 0;
 * 1 when a failure of ours or of the node's answer (no blob fetched, out of
 * memory, the output not written) stopped it: tried again next block, for
 * a job given up then would cost the slot's lock; -1 when the job itself
 * cannot be done (wrong inputs, a failed computation). */
static int compute_item(struct worker *w, struct work_item *it)
{
	const struct job_shape *s = &it->rec.spec.shape;
	struct kernel_src src;
	uint8_t *in[KERNEL_MAX_INPUTS] = {0};
	uint64_t len = kernel_output_bytes(s);
	int rc = load_inputs(w, &it->rec, &src, in);
	if (rc > 0) {
		log_warn("job %.16s: cannot fetch its inputs from the node; trying again next block", it->job_hex);
		return 1;
	}
	const char *used = "cpu";
	uint64_t t0 = now_ns();
	log_debugc(LOG_CAT_COMPUTE, "job %.16s: inputs %s, output %llu bytes, slot %u", it->job_hex,
		   rc == 0 ? "loaded" : "not loaded", (unsigned long long)len, it->slot);
	if (rc == 0 && w->cl && s->kind == JOB_MATMUL_I8) {
#ifdef HAVE_OPENCL /* w->cl stays NULL without it, and the backend is not linked */
		used = "opencl";
		it->output = malloc(len ? len : 1);
		rc = it->output ? backend_opencl_matmul_i8(w->cl, (const int8_t *)in[0], (const int8_t *)in[1],
							   (int32_t *)it->output, s->m, s->n, s->k)
				: ASSAY_ENOMEM;
#endif
	} else if (rc == 0) {
		rc = backend_cpu_compute(s, in, &it->output, &it->pre, w->cfg.threads);
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	for (unsigned i = 0; i < KERNEL_MAX_INPUTS; i++)
		free(in[i]);
	if (rc) {
		free(it->output);
		it->output = NULL;
		free(it->pre);
		it->pre = NULL;
		if (rc == ASSAY_ENOMEM) { /* ours, not the job's: try again */
			log_warn("job %.16s: out of memory computing it; trying again next block", it->job_hex);
			return 1;
		}
		log_error("job %.16s: compute failed: %s", it->job_hex, rc < 0 ? assay_strerror(rc) : "inputs");
		return -1;
	}
	double ops = job_ops(s);
	w->jobs_computed++;
	w->ops_total += ops;
	w->secs_total += secs;
	if (s->kind == JOB_MATMUL_I8)
		log_info("job %.16s: computed matmul-i8 %ux%ux%u on %s in %.3f s (%.2f GOPS; %llu jobs, %.2f GOPS overall)",
			 it->job_hex, s->m, s->n, s->k, used, secs, secs > 0 ? ops / secs / 1e9 : 0.0,
			 (unsigned long long)w->jobs_computed, w->secs_total > 0 ? w->ops_total / w->secs_total / 1e9 : 0.0);
	else
		log_info("job %.16s: computed mlp-i8 batch %u, %u layers on %s in %.3f s (%.2f GOPS)", it->job_hex,
			 s->m, s->layers, used, secs, secs > 0 ? ops / secs / 1e9 : 0.0);
	if (w->cfg.corrupt_fraction > 0 || w->cfg.corrupt_tiles > 0) {
		uint32_t n = work_corrupt(s, it->job_id, it->output, w->cfg.corrupt_fraction, w->cfg.corrupt_tiles);
		log_warn("job %.16s: corrupted %u of %u tiles (test mode)", it->job_hex, n, kernel_tile_count(s));
	}
	if (w->cfg.corrupt_pre && it->pre) {
		/* the last N tiles' first z_1 entry: outputs stay right, roots do not */
		uint32_t tiles = kernel_tile_count(s), n = w->cfg.corrupt_pre < tiles ? w->cfg.corrupt_pre : tiles;
		for (uint32_t t = tiles - n; t < tiles; t++) {
			uint32_t r0, c0, nr, nc;
			kernel_tile_rect(s, t, &r0, &c0, &nr, &nc);
			it->pre[4ull * r0 * s->dims[1]] ^= 1;
		}
		log_warn("job %.16s: corrupted the pre-activations of %u of %u tiles (test mode)", it->job_hex, n, tiles);
	}
	if (w->cfg.predict && predict_and_grind(w, it) != 0)
		return -1;
	if (work_commit(s, it->output, it->pre, &it->tree, &it->digests, it->root) != 0) {
		log_warn("job %.16s: out of memory building the Merkle tree; trying again next block", it->job_hex);
		release_item(it);
		return 1;
	}
	if (save_output(w, it, len) != 0) { /* a full disk, no descriptor: ours, not the job's */
		log_warn("job %.16s: trying again next block", it->job_hex);
		release_item(it);
		return 1;
	}
	return 0;
}


/* ---- the job loop ---- */

static void commit_item(struct worker *w, struct work_item *it, uint64_t height)
{
	int rc = it->tree ? 0 : compute_item(w, it);
	if (rc < 0)
		it->stage = STAGE_FAILED;
	if (rc)
		return;
	struct job_commit_payload c;
	struct buf p;
	memcpy(c.job_id, it->job_id, HASH_LEN);
	/* the root stays ours until every slot has committed (compute.md §1) */
	kernel_root_commitment(it->root, w->addr, c.commitment);
	buf_init(&p);
	compute_commit_encode(&c, &p);
	if (!p.oom && send_tx(w, it, TX_JOB_COMMIT, p.data, p.len, 0, it->txid) == 0) {
		char root[2 * HASH_LEN + 1];
		hex_encode(it->root, HASH_LEN, root);
		log_info("job %.16s: job_commit %s at height %llu (root %s)", it->job_hex, it->txid,
			 (unsigned long long)height, root);
		it->stage = STAGE_COMMIT_SENT;
	}
	buf_free(&p);
}

/* Logs once per job why the worker does not act on what the node says of
 * it (a node that lies would otherwise fill the log every block). */
static void distrust(struct work_item *it, const char *what, const char *why)
{
	if (!it->distrusted)
		log_warn("job %.16s: not %s: %s (the node's word; waiting for a record the worker can believe)",
			 it->job_hex, what, why);
	it->distrusted = 1;
}

/* Whether the job's record, as the node gave it, can be the chain's: it
 * passes client_job_sealed_check at the node's tip, read after the record
 * (a tip read before could be older than the record), and with challenged
 * set its challenge is fixed. 1 yes; 0 no, logged once. */
static int record_believable(struct worker *w, struct work_item *it, int challenged)
{
	json_t *count;
	char why[256];
	const char *what = challenged ? "revealing" : "serving or uploading the output";
	if (call(w, "getblockcount", NULL, &count, NULL, 1) < 0)
		return 0; /* ask again next block */
	uint64_t tip = json_is_integer(count) ? (uint64_t)json_integer_value(count) : 0;
	json_decref(count);
	if (client_job_sealed_check(&it->rec, w->challenge_delay, tip, why, sizeof(why)) != 0) {
		distrust(it, what, why);
		return 0;
	}
	if (challenged && !it->rec.challenge_height) {
		distrust(it, what, "the job's challenge is not fixed");
		return 0;
	}
	return 1;
}

/* OUTDIR/JOB_ID.reveal: the txid of every job_reveal this worker sent for
 * the job, one a line, so that a restarted worker still knows whether its
 * own reveal opened the root before it serves (slot_opened). */
static void reveal_path(const struct worker *w, const struct work_item *it, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s.reveal", w->cfg.outdir, it->job_hex);
}

static void note_reveal(struct worker *w, const struct work_item *it)
{
	char path[WORKER_PATH_MAX + 96];
	reveal_path(w, it, path, sizeof(path));
	FILE *f = fopen(path, "a");
	if (!f || fprintf(f, "%s\n", it->txid) < 0 || fclose(f) != 0)
		log_warn("job %.16s: cannot write %s; after a restart the output will not be served", it->job_hex, path);
}

/* 1 if the node reports transaction txid committed and ok at height. */
static int committed_at(struct worker *w, const char *txid, uint64_t height)
{
	json_t *tx;
	if (call(w, "gettransaction", json_pack("[s]", txid), &tx, NULL, 1) < 0)
		return 0;
	const char *status = json_string_value(json_object_get(tx, "status"));
	json_t *h = json_object_get(tx, "height");
	int ok = status && strcmp(status, "committed") == 0 && json_is_integer(h) &&
		 (uint64_t)json_integer_value(h) == height &&
		 json_is_true(json_object_get(json_object_get(tx, "result"), "ok"));
	json_decref(tx);
	return ok;
}

/* Finds, in the block the node gives for height, a job_reveal for the job
 * signed by this worker's key over our chain id that opens our root, and
 * the node reports committed and ok there: its txid into txid. For a worker
 * whose JOB_ID.reveal is gone (lost, or written by no earlier version).
 * 1 found; 0 not. */
static int own_reveal_in_block(struct worker *w, const struct work_item *it, uint64_t height,
			       char txid[2 * HASH_LEN + 1])
{
	json_t *res;
	if (call(w, "getblock", json_pack("[I,i]", (json_int_t)height, 0), &res, NULL, 1) < 0)
		return 0;
	const char *hex = json_string_value(res);
	size_t n = hex ? strlen(hex) / 2 : 0;
	uint8_t *raw = n ? malloc(n) : NULL;
	struct job_reveal_payload *rv = malloc(sizeof(*rv));
	struct block blk;
	struct block_limits lim = {.max_txs = w->chain.params.max_block_txs,
				   .max_tx_payload = TX_MAX_BYTES_HARD};
	int found = 0;
	block_init(&blk);
	if (raw && rv && strlen(hex) % 2 == 0 && hex_decode(hex, raw, n) == (long)n &&
	    block_decode(&blk, raw, n, &lim) == 0 && blk.hdr.height == height) {
		for (size_t i = 0; i < blk.ntx && !found; i++) {
			const struct tx *t = &blk.txs[i];
			uint8_t sender[ADDR_LEN], id[HASH_LEN];
			if (t->kind != TX_JOB_REVEAL || memcmp(t->chain_id, w->chain.chain_id, HASH_LEN) != 0)
				continue;
			tx_sender_addr(t, sender);
			if (memcmp(sender, w->addr, ADDR_LEN) != 0 || tx_verify_sig(t) != 0 ||
			    compute_reveal_decode(rv, t->payload, t->payload_len) != 0 ||
			    memcmp(rv->job_id, it->job_id, HASH_LEN) != 0 ||
			    memcmp(rv->root, it->root, HASH_LEN) != 0)
				continue;
			tx_id(t, id);
			hex_encode(id, HASH_LEN, txid);
			found = committed_at(w, txid, height);
		}
	}
	block_free(&blk);
	free(rv);
	free(raw);
	json_decref(res);
	return found;
}

/* Whether our root is opened on chain as far as the worker can tell without
 * proofs (docs/compute.md §10 "A hostile node"): one of our own job_reveal
 * transactions for the job is reported committed and ok at the slot's
 * reveal_height, the slot shows our own root, and the record passes
 * client_job_sealed_check. Our reveals are known by their txids in
 * OUTDIR/JOB_ID.reveal or, when none of those is committed there (the file
 * lost, or written by no earlier version), by finding in the block at
 * reveal_height a job_reveal with our root signed by our own key
 * (own_reveal_in_block). Serving or uploading on less would let a node that
 * calls the slot verified early hand the output to a copier. Either way the
 * proof is of a reveal we signed, which we sign only on a record whose
 * challenge is fixed (reveal_item): a lying node can gain no more than
 * with the file, i.e. having been handed that reveal (root and k tiles),
 * it can keep it off the chain yet say it committed, and so have the
 * output served before the root is opened on the real chain. 1 yes; 0 no
 * (logged once). */
static int slot_opened(struct worker *w, struct work_item *it)
{
	const struct job_slot *sl = &it->rec.slots[it->slot];
	const char *what = "serving or uploading the output";
	char path[WORKER_PATH_MAX + 96], line[2 * HASH_LEN + 8], txid[2 * HASH_LEN + 1];
	int found = 0, ours = 0;
	struct stat st;
	/* judged so before a restart (mark_opened): no need to recompute */
	snprintf(path, sizeof(path), "%s/%s.opened", w->cfg.outdir, it->job_hex);
	if (stat(path, &st) == 0)
		return 1;
	if (!it->tree && compute_item(w, it) != 0)
		return 0; /* our root: the computation is deterministic */
	if (memcmp(it->root, sl->root, HASH_LEN) != 0) {
		distrust(it, what, "the root the node says our reveal opened is not ours");
		return 0;
	}
	reveal_path(w, it, path, sizeof(path));
	FILE *f = fopen(path, "r");
	for (unsigned n = 0; f && !found && n < WORKER_MAX_REVEALS && fgets(line, sizeof(line), f); n++) {
		line[strcspn(line, "\n")] = 0;
		ours = 1;
		found = strlen(line) == 2 * HASH_LEN && committed_at(w, line, sl->reveal_height);
	}
	if (f)
		fclose(f);
	if (!found && own_reveal_in_block(w, it, sl->reveal_height, txid)) {
		found = 1;
		log_warn("job %.16s: %s; found its own job_reveal %s, signed by this worker with our root, "
			 "in block %llu",
			 it->job_hex,
			 ours ? "no txid in JOB_ID.reveal is committed at the slot's reveal height"
			      : "no JOB_ID.reveal (lost, or from a version without it)",
			 txid, (unsigned long long)sl->reveal_height);
		memcpy(it->txid, txid, sizeof(it->txid));
		note_reveal(w, it); /* for the next restart */
	}
	if (!found) {
		distrust(it, what,
			 ours ? "none of our job_reveal transactions is committed at the slot's reveal "
				"height, nor is one signed by us in the block there"
			      : "the node says our slot is verified, but this worker has no job_reveal of "
				"its own for it, in JOB_ID.reveal or in the block at the slot's reveal height");
		return 0;
	}
	return record_believable(w, it, 0);
}

static void reveal_item(struct worker *w, struct work_item *it, const struct job_slot *sl)
{
	int rc = it->tree ? 0 : compute_item(w, it);
	if (rc < 0)
		it->stage = STAGE_FAILED;
	if (rc)
		return;
	uint8_t commitment[HASH_LEN], seed[HASH_LEN];
	kernel_root_commitment(it->root, w->addr, commitment);
	if (memcmp(commitment, sl->commitment, HASH_LEN) != 0) {
		log_error("job %.16s: our output's root differs from the one committed; cannot reveal", it->job_hex);
		it->stage = STAGE_FAILED;
		return;
	}
	/* The reveal hands the root and k tiles to the node: only on a record
	 * that can be the chain's with the challenge fixed (§10 "A hostile
	 * node"). */
	if (!record_believable(w, it, 1))
		return;
	/* The challenge is ours to derive: the job's beacon and salt are on
	 * chain, the root only we know until this reveal opens it (§4). */
	const struct job_record *j = &it->rec;
	kernel_challenge_seed(j->challenge_beacon, j->salt_posted ? j->salt : NULL, j->id, w->addr, it->root, seed);
	struct buf p;
	uint64_t units;
	buf_init(&p);
	if (work_reveal_payload(&it->rec.spec.shape, it->job_id, it->root, it->output, it->pre, it->tree, seed,
				it->rec.spec.samples, &p, &units) != 0) {
		log_error("job %.16s: cannot build the reveal", it->job_hex);
		buf_free(&p);
		it->stage = STAGE_FAILED;
		return;
	}
	if (p.len + WORK_TX_ENVELOPE_BYTES > w->chain.params.max_tx_bytes) {
		log_error("job %.16s: the reveal is %zu bytes, over the transaction limit", it->job_hex, p.len);
		buf_free(&p);
		it->stage = STAGE_FAILED;
		return;
	}
	uint64_t gas;
	if (compute_check_gas(w->gas_per_check_unit, units, &gas) != 0) {
		log_error("job %.16s: checking the reveal needs more gas than a transaction can carry", it->job_hex);
		buf_free(&p);
		it->stage = STAGE_FAILED;
		return;
	}
	if (send_tx(w, it, TX_JOB_REVEAL, p.data, p.len, gas, it->txid) == 0) {
		note_reveal(w, it);
		log_info("job %.16s: job_reveal %s (%u tiles, %zu bytes, gas %llu) challenged at height %llu",
			 it->job_hex, it->txid, it->rec.spec.samples, p.len, (unsigned long long)gas,
			 (unsigned long long)sl->challenge_height);
		it->stage = STAGE_REVEAL_SENT;
	}
	buf_free(&p);
}

/* Marks the job's output as servable: our root is opened on chain, so the
 * output can no longer be copied into a commitment (compute.md §1). The
 * marker survives a restart, which the output server reads. */
static void mark_opened(struct worker *w, const struct work_item *it)
{
	char path[WORKER_PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/%s.opened", w->cfg.outdir, it->job_hex);
	FILE *f = fopen(path, "wb");
	if (!f || fclose(f) != 0)
		log_warn("job %.16s: cannot write %s; the output will not be served", it->job_hex, path);
}

/* ---- output upload (docs/compute.md §15) ---- */

/* Hands one encoded chunk to the node (chunk_client_submit: raw bytes on
 * POST /chunk, or submitjobchunk with an older node). 0; 1 the node
 * answered and refused it (logged); -1 no answer (logged). A stale cookie
 * is reread once, as call() does. */
static int submit_chunk(struct worker *w, const uint8_t *enc, size_t len)
{
	struct rpc_failure fail;
	json_t *res = NULL;
	int rc = chunk_client_submit(&w->rpc.ep, &w->chunk_path, enc, len, &res, &fail);
	if (rc == ASSAY_EAUTH && !w->rpc.have_user && client_app_read_cookie(&w->rpc) == 0)
		rc = chunk_client_submit(&w->rpc.ep, &w->chunk_path, enc, len, &res, &fail);
	json_decref(res);
	if (rc) {
		log_warn("chunk upload to the node: %s", fail.message);
		return rc == ASSAY_EINVALID ? 1 : -1;
	}
	log_debugc(LOG_CAT_RPC, "rpc: chunk of %zu bytes to %s:%u (%s)", len, w->rpc.ep.host,
		   (unsigned)w->rpc.ep.port,
		   w->chunk_path == CHUNK_PATH_JSON ? "submitjobchunk" : "POST /chunk");
	return 0;
}

/* Our slot may upload (avail_slot_open: its root is opened and checked). */
static int uploads_open(const struct work_item *it)
{
	uint64_t from;
	return avail_slot_open(&it->rec, it->slot, &from);
}

/* Sends the next chunks of our output: each submitted to the node
 * (submit_chunk), then one job_chunks transaction naming them, at most
 * chunk_budget_bytes of tiles, so one block can take it. Up to
 * WORKER_UPLOAD_AHEAD transactions' worth is kept in flight, so the next
 * block finds the next run in the mempool; a lost or failed one makes the
 * worker go on from the chain's uploaded_tiles again. */
#define WORKER_UPLOAD_AHEAD 2
static void upload_item(struct worker *w, struct work_item *it)
{
	const struct job_slot *sl = &it->rec.slots[it->slot];
	const struct job_shape *s = &it->rec.spec.shape;
	uint32_t tiles = kernel_tile_count(s);
	if (w->cfg.withhold_output || sl->uploaded_tiles >= tiles || !uploads_open(it))
		return;
	uint64_t budget = w->chunk_budget_bytes ? w->chunk_budget_bytes : AVAIL_CHUNK_MAX_BYTES;
	if (it->upload_to > sl->uploaded_tiles) {
		char why[256];
		int o = tx_outcome(w, it->upload_txid, why, sizeof(why));
		if (o < 0)
			log_error("job %.16s: job_chunks %s failed: %s; sending again", it->job_hex, it->upload_txid, why);
		if (o <= 0)
			it->upload_to = 0;
		else if (avail_run_bytes(s, sl->uploaded_tiles, it->upload_to - sl->uploaded_tiles) >=
			 WORKER_UPLOAD_AHEAD * budget)
			return; /* enough in flight */
	}
	if (!it->tree && compute_item(w, it) != 0)
		return;
	if (memcmp(it->root, sl->root, HASH_LEN) != 0) {
		log_error("job %.16s: our output's root differs from the one committed; cannot upload", it->job_hex);
		return;
	}
	struct job_chunks_payload p;
	struct buf enc, hex;
	uint64_t declared = 0;
	uint32_t from = it->upload_to > sl->uploaded_tiles ? it->upload_to : sl->uploaded_tiles, next = from;
	memset(&p, 0, sizeof(p));
	memcpy(p.job_id, it->job_id, HASH_LEN);
	memcpy(p.root, it->root, HASH_LEN);
	buf_init(&enc);
	buf_init(&hex);
	/* chunks the node refused: anyone may store valid chunks cut from ours
	 * under our root until it is full for chunks nothing names; named by
	 * our job_chunks, which the node then parks, they are taken again */
	struct refused_chunk {
		uint32_t first; /* its first tile */
		uint64_t room;  /* upload_chunk's max_bytes for it */
	} refused[AVAIL_MAX_REFS];
	unsigned nrefused = 0;
	while (next < tiles && p.count < AVAIL_MAX_REFS && declared + kernel_leaf_bytes(s, next) <= budget) {
		struct avail_ref *f = &p.refs[p.count];
		if (upload_chunk(s, it->job_id, it->output, (const uint8_t(*)[HASH_LEN])it->digests, it->tree, next,
				 budget - declared, &enc, f) != 0)
			break;
		int sub = submit_chunk(w, enc.data, enc.len);
		if (sub < 0)
			break;
		if (sub > 0)
			refused[nrefused++] = (struct refused_chunk){next, budget - declared};
		declared += f->data_len;
		next += f->tile_count;
		p.count++;
	}
	if (p.count) {
		avail_chunks_encode(&p, &hex);
		if (!hex.oom && send_tx(w, it, TX_JOB_CHUNKS, hex.data, hex.len, 0, it->upload_txid) == 0) {
			log_info("job %.16s: job_chunks %s: tiles %u..%u of %u (%llu bytes in %u chunks)", it->job_hex,
				 it->upload_txid, from, next - 1, tiles, (unsigned long long)declared, p.count);
			it->upload_to = next;
		}
	}
	/* the same chunks again (the same bytes: the same first tile and
	 * room), now that the node holds the transaction naming them */
	for (unsigned i = 0; i < nrefused; i++) {
		struct avail_ref f;
		if (upload_chunk(s, it->job_id, it->output, (const uint8_t(*)[HASH_LEN])it->digests, it->tree,
				 refused[i].first, refused[i].room, &enc, &f) != 0 ||
		    submit_chunk(w, enc.data, enc.len) != 0)
			break;
		log_info("job %.16s: chunk at tile %u taken on a second try, named by our job_chunks", it->job_hex,
			 refused[i].first);
	}
	buf_free(&enc);
	buf_free(&hex);
}

/* Waits on a sent transaction; returns 1 to keep waiting, 0 to act again. */
static int still_waiting(struct worker *w, struct work_item *it, const char *what)
{
	char why[256];
	int o = tx_outcome(w, it->txid, why, sizeof(why));
	if (o > 0)
		return 1;
	if (o < 0) {
		log_error("job %.16s: %s %s failed: %s", it->job_hex, what, it->txid, why);
		it->stage = STAGE_FAILED;
		return 1;
	}
	log_warn("job %.16s: %s %s left the mempool; sending again", it->job_hex, what, it->txid);
	return 0;
}

/* Reads the node's fee rule (getchainparams) again, at most once a block,
 * for fee_unchanged: a floor the node named above -maxfee may fall back.
 * Only min_fee and gas_price are taken, and only from an answer for our
 * network and chain id; the rest of the parameters stay as first read. */
static void refresh_fee_rule(struct worker *w, uint64_t height)
{
	json_t *res;
	struct client_chain now;
	char err[200];
	if (w->fee_rule_height == height)
		return;
	w->fee_rule_height = height;
	if (call(w, "getchainparams", NULL, &res, NULL, 1) < 0)
		return;
	int rc = client_chain_parse(res, &now, err, sizeof(err));
	json_decref(res);
	if (rc != 0 || now.network != w->chain.network ||
	    memcmp(now.chain_id, w->chain.chain_id, HASH_LEN) != 0)
		return;
	w->chain.params.min_fee = now.params.min_fee;
	w->chain.params.gas_price = now.params.gas_price;
}

/* Whether the transaction of kind the job needs next was refused above
 * -maxfee and the node's fee rule still asks the same fee for it: then it
 * is neither built nor logged again this block. A fee that changed, under
 * -maxfee or not, lets it be built and judged again (send_tx), so a floor
 * that falls back inside the window does not cost the slot. */
static int fee_unchanged(struct worker *w, struct work_item *it, uint8_t kind, uint64_t height)
{
	uint64_t fee;
	if (!it->refused_fee || it->refused_kind != kind)
		return 0;
	refresh_fee_rule(w, height);
	return tx_fee(w, kind, it->refused_gas, &fee) != 0 && fee == it->refused_fee;
}

static void step_item(struct worker *w, struct work_item *it, uint64_t height)
{
	const struct job_slot *sl = &it->rec.slots[it->slot];
	if (it->stage == STAGE_FAILED)
		return;
	switch (sl->state) {
	case SLOT_ASSIGNED:
		if (it->stage == STAGE_COMMIT_SENT && still_waiting(w, it, "job_commit"))
			return;
		if (!fee_unchanged(w, it, TX_JOB_COMMIT, height))
			commit_item(w, it, height);
		break;
	case SLOT_CHALLENGED:
		if (it->stage == STAGE_REVEAL_SENT && still_waiting(w, it, "job_reveal"))
			return;
		if (!fee_unchanged(w, it, TX_JOB_REVEAL, height))
			reveal_item(w, it, sl);
		break;
	case SLOT_VERIFIED:
		if (it->stage < STAGE_DONE && !slot_opened(w, it))
			break;
		if (it->stage < STAGE_DONE) {
			if (it->rec.state == JOB_VERIFIED)
				log_info("job %.16s: verified at height %llu; payout at %llu unless disputed", it->job_hex,
					 (unsigned long long)sl->reveal_height, (unsigned long long)it->rec.payout_height);
			else
				log_info("job %.16s: our slot verified at height %llu; uploading, waiting for the other slots",
					 it->job_hex, (unsigned long long)sl->reveal_height);
			it->stage = STAGE_DONE;
			mark_opened(w, it);
		}
		if (!fee_unchanged(w, it, TX_JOB_CHUNKS, height))
			upload_item(w, it); /* avail: our root is opened on chain */
		if (it->stage == STAGE_DONE && it->tree && sl->uploaded_tiles >= kernel_tile_count(&it->rec.spec.shape))
			release_item(it); /* uploaded: the saved file serves the rest */
		break;
	default: /* committed: the challenge is fixed challenge_delay blocks after the last commit */
		break;
	}
}

static struct work_item *find_item(struct worker *w, const uint8_t id[HASH_LEN])
{
	for (struct work_item *it = w->items; it; it = it->next)
		if (memcmp(it->job_id, id, HASH_LEN) == 0)
			return it;
	return NULL;
}

/* Whether a job pays a slot less than -minprice for each 10^9 of its
 * operations (job_ops); says so when it does. Judged once, when the job is
 * first assigned to us: such a job is not taken, and the missed commit costs
 * missed_deadline_slash_bps of its lock, which is its reward (compute.md §5)
 * and so small when the reward is. */
static int underpaid(const struct worker *w, const struct job_record *rec, const char *job_hex)
{
	if (!w->cfg.min_price || !rec->spec.redundancy)
		return 0;
	double ops = job_ops(&rec->spec.shape);
	double per_slot = (double)rec->spec.reward / rec->spec.redundancy;
	if (per_slot * 1e9 >= (double)w->cfg.min_price * ops)
		return 0;
	char reward[AMOUNT_STR_MAX], min[AMOUNT_STR_MAX];
	amount_format((uint64_t)per_slot, reward);
	amount_format(w->cfg.min_price, min);
	log_warn("job %.16s: pays a slot %s ASY for %.3g Gop, below -minprice=%s ASY per Gop: not taken (its "
		 "commit is let lapse)",
		 job_hex, reward, ops / 1e9, min);
	return 1;
}

/* Reads one listjobs entry into a tracked item; NULL if it is not ours. */
static struct work_item *track(struct worker *w, json_t *job)
{
	struct job_record *rec = malloc(sizeof(*rec));
	struct work_item *it = NULL;
	char err[200];
	if (!rec || client_job_parse(job, rec, err, sizeof(err))) {
		log_warn("listjobs: %s", rec ? err : "out of memory");
		goto out;
	}
	unsigned slot = JOB_MAX_REDUNDANCY;
	for (unsigned i = 0; i < rec->spec.redundancy && i < JOB_MAX_REDUNDANCY; i++)
		if (rec->slots[i].state != SLOT_EMPTY && memcmp(rec->slots[i].worker, w->addr, ADDR_LEN) == 0)
			slot = i;
	if (slot == JOB_MAX_REDUNDANCY)
		goto out;
	it = find_item(w, rec->id);
	if (!it) {
		if (!(it = calloc(1, sizeof(*it))))
			goto out;
		memcpy(it->job_id, rec->id, HASH_LEN);
		hex_encode(it->job_id, HASH_LEN, it->job_hex);
		it->next = w->items;
		w->items = it;
		log_info("job %s: assigned to us (slot %u) at height %llu", it->job_hex, slot,
			 (unsigned long long)rec->slots[slot].assigned_height);
		if (underpaid(w, rec, it->job_hex))
			it->stage = STAGE_FAILED; /* never committed: the chain lets the slot lapse */
	}
	/* A job's spec never changes on chain: a node that says otherwise is
	 * not to be believed, and what we computed for the old shape must not
	 * be revealed or uploaded under the new one (it would read past it). */
	if (it->rec.spec.shape.kind && memcmp(&it->rec.spec, &rec->spec, sizeof(rec->spec)) != 0) {
		if (it->stage != STAGE_FAILED)
			log_warn("job %.16s: the node now gives this job another spec; we stop acting on it",
				 it->job_hex);
		release_item(it);
		it->stage = STAGE_FAILED; /* and the record we had stays */
	} else {
		it->rec = *rec;
	}
	it->slot = slot;
	it->seen = 1;
out:
	free(rec);
	return it;
}

/* A job that left our list: say how it ended, and forget it. */
static void report_gone(struct worker *w, struct work_item *it)
{
	json_t *j;
	if (call(w, "getjob", json_pack("[s]", it->job_hex), &j, NULL, 1) == 0) {
		const char *state = json_string_value(json_object_get(j, "state"));
		char reward[AMOUNT_STR_MAX];
		amount_format(it->rec.spec.reward, reward);
		if (state && strcmp(state, "paid") == 0)
			log_info("job %.16s: paid (reward %s ASY shared by %u)", it->job_hex, reward,
				 it->rec.spec.redundancy);
		else
			log_info("job %.16s: no longer ours (job %s)", it->job_hex, state ? state : "?");
		json_decref(j);
	}
}

/* A long poll answers at once while our last height is behind the tip,
 * so after a listjobs the node did not answer the worker would ask again
 * (and log the failure) in a tight loop: the next tries wait
 * WORKER_RETRY_MS, until one is answered. Polling a node without long polls
 * keeps its -poll-ms interval either way. */
static void tick_backoff(struct worker *w, int on)
{
	if (on == w->backing_off || !w->long_poll)
		return;
	w->backing_off = on;
	struct timeval tv = {0, 1000}; /* the wait is the interval again */
	if (on)
		tv = (struct timeval){WORKER_RETRY_MS / 1000, (WORKER_RETRY_MS % 1000) * 1000};
	event_add(w->tick_ev, &tv);
}

static void tick(struct worker *w)
{
	/* The node's long poll for the next block, up to -poll-ms (the HTTP
	 * server waits meanwhile); a node without it is polled every -poll-ms. */
	uint64_t height;
	long long tip;
	struct rpc_failure f;
	/* The node's wait must end well inside the client's own timeout, or a
	 * quiet chain turns every long poll into a timeout (and -poll-ms may be
	 * longer than that timeout): waits of half of it follow one another. */
	uint64_t client_ms = w->rpc.ep.timeout_ms > 0 ? (uint64_t)w->rpc.ep.timeout_ms : RPC_CLIENT_TIMEOUT_MS;
	uint64_t wait_ms = w->cfg.poll_ms < client_ms / 2 ? w->cfg.poll_ms : client_ms / 2;
	if (rpc_client_wait_block(&w->rpc.ep, wait_ms, (long long)w->last_height, &tip, &f) == 0) {
		height = (uint64_t)tip;
		if (!w->long_poll) {
			struct timeval soon = {0, 1000}; /* the wait is the interval now */
			w->long_poll = 1;
			w->backing_off = 0;
			event_add(w->tick_ev, &soon);
		}
	} else {
		json_t *count;
		if (w->long_poll) {
			struct timeval tv = {w->cfg.poll_ms / 1000, (w->cfg.poll_ms % 1000) * 1000};
			w->long_poll = 0;
			w->backing_off = 0;
			event_add(w->tick_ev, &tv);
		}
		if (call(w, "getblockcount", NULL, &count, NULL, 1) < 0)
			return;
		height = json_is_integer(count) ? (uint64_t)json_integer_value(count) : 0;
		json_decref(count);
	}
	if (height == w->last_height)
		return;
	json_t *jobs;
	if (call(w, "listjobs", json_pack("[n,n,s]", w->address), &jobs, NULL, 0) < 0) {
		tick_backoff(w, 1);
		return;
	}
	tick_backoff(w, 0);
	w->last_height = height;
	for (struct work_item *it = w->items; it; it = it->next)
		it->seen = 0;
	size_t i;
	json_t *job;
	json_array_foreach(jobs, i, job)
		track(w, job);
	json_decref(jobs);
	for (struct work_item **pp = &w->items; *pp;) {
		struct work_item *it = *pp;
		if (!it->seen) {
			report_gone(w, it);
			*pp = it->next;
			release_item(it);
			free(it);
			continue;
		}
		step_item(w, it, height);
		pp = &it->next;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	tick(arg);
}

/* ---- the output server ---- */

/* GET /job/JOB_ID: the whole output as committed (tiles row-major, elements
 * little-endian); GET /: who we are. */
static void on_http(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	uint8_t id[HASH_LEN];
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "GET only");
		return;
	}
	if (path && strcmp(path, "/") == 0) {
		evhttp_add_header(hdr, "Content-Type", "application/json");
		evbuffer_add_printf(out, "{\"worker\":\"%s\",\"backend\":\"%s\",\"jobs_computed\":%llu}\n", w->address,
				    w->cfg.backend, (unsigned long long)w->jobs_computed);
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if (!path || strncmp(path, "/job/", 5) != 0 || strlen(path + 5) != 2 * HASH_LEN ||
	    hex_decode(path + 5, id, HASH_LEN) != HASH_LEN) {
		evhttp_send_error(req, 404, "no such path (GET /job/JOB_ID)");
		return;
	}
	char file[WORKER_PATH_MAX + 96], hex[2 * HASH_LEN + 1];
	struct stat st;
	hex_encode(id, HASH_LEN, hex); /* canonical lower case, no path tricks */
	/* Nothing is served before our root is opened on chain: a copier could
	 * otherwise commit it as its own (compute.md §1). */
	snprintf(file, sizeof(file), "%s/%s.opened", w->cfg.outdir, hex);
	if (stat(file, &st) != 0) {
		evhttp_send_error(req, 404, "no opened output for this job here");
		return;
	}
	snprintf(file, sizeof(file), "%s/%s.out", w->cfg.outdir, hex);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		evhttp_send_error(req, 404, "no output for this job here");
		return;
	}
	evhttp_add_header(hdr, "Content-Type", "application/octet-stream");
	if (w->cfg.serve_wrong_output && st.st_size > 0) {
		/* test only: the bytes of the file with its last byte changed */
		uint8_t *bytes = malloc((size_t)st.st_size);
		int ok = bytes && read(fd, bytes, (size_t)st.st_size) == st.st_size;
		close(fd);
		if (ok) {
			bytes[st.st_size - 1] ^= 0x40;
			evbuffer_add(out, bytes, (size_t)st.st_size);
		}
		free(bytes);
		if (!ok) {
			evhttp_send_error(req, 500, "cannot read the output");
			return;
		}
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if (evbuffer_add_file(out, fd, 0, st.st_size) != 0) { /* takes the fd */
		evhttp_send_error(req, 500, "cannot read the output");
		return;
	}
	evhttp_send_reply(req, 200, "OK", NULL);
}

static int start_http(struct worker *w)
{
	char host[256], err[400];
	uint16_t port;
	if (client_opts_listen_split(w->cfg.common.listen, host, sizeof(host), &port, err, sizeof(err)) != 0) {
		log_error("%s", err); /* checked by parse_args */
		return -1;
	}
	/* anyone can reach it: idle connections closed, heads bounded, no
	 * bodies (GET only), and a failed accept pauses instead of spinning */
	if (client_app_http_listen(w->base, host, port, WORKER_HTTP_IDLE_S, WORKER_HTTP_MAX_HEADERS, 0, &w->http,
				   &w->http_resume) != 0) {
		log_error("cannot listen on %s for the output server", w->cfg.common.listen);
		return -1;
	}
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET);
	evhttp_set_gencb(w->http, on_http, w);
	if (!w->cfg.endpoint[0])
		snprintf(w->cfg.endpoint, sizeof(w->cfg.endpoint), "http://%s", w->cfg.common.listen);
	log_info("output server on http://%s/job/JOB_ID (advertised as %s)", w->cfg.common.listen, w->cfg.endpoint);
	return 0;
}

/* ---- flags and start-up ---- */

enum {
	OPT_BACKEND = CLIENT_OPT_OWN, OPT_THREADS, OPT_BOND, OPT_LISTEN, OPT_ENDPOINT, OPT_OUTDIR,
	OPT_CORRUPT_FRACTION, OPT_CORRUPT_TILES, OPT_POLL_MS, OPT_DEBUG, OPT_HELP,
	OPT_SERVE_WRONG, OPT_PREDICT, OPT_WITHHOLD, OPT_CORRUPT_PRE, OPT_MAX_FEE, OPT_MIN_PRICE,
};

static const struct option long_opts[] = {
	CLIENT_OPTS_LONG,
	{"backend", required_argument, NULL, OPT_BACKEND},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"bond", required_argument, NULL, OPT_BOND},
	{"maxfee", required_argument, NULL, OPT_MAX_FEE},
	{"minprice", required_argument, NULL, OPT_MIN_PRICE},
	{"endpoint", required_argument, NULL, OPT_ENDPOINT},
	{"outdir", required_argument, NULL, OPT_OUTDIR},
	{"corrupt-fraction", required_argument, NULL, OPT_CORRUPT_FRACTION},
	{"corrupt-tiles", required_argument, NULL, OPT_CORRUPT_TILES},
	{"serve-wrong-output", no_argument, NULL, OPT_SERVE_WRONG},
	{"predict-key", required_argument, NULL, OPT_PREDICT},
	{"withhold-output", no_argument, NULL, OPT_WITHHOLD},
	{"corrupt-pre", required_argument, NULL, OPT_CORRUPT_PRE},
	{"poll-ms", required_argument, NULL, OPT_POLL_MS},
	{"debug", optional_argument, NULL, OPT_DEBUG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static void usage(void)
{
	printf("usage: assay-worker [options]   (options as -name=value or --name=value)\n\n"
	       "  -datadir=DIR           data directory with wallet/, the node's .cookie and assay.conf (default ~/.assay)\n"
	       "  -network=NAME          dev, local or testnet: the node's must match (default %s)\n"
	       "  -rpcconnect=HOST       node address (default 127.0.0.1)\n"
	       "  -rpcport=PORT          node RPC port, 1 to 65535 (default: the network's, %u dev/local, %u testnet)\n"
	       "  -rpcuser=USER, -rpcpassword=PW   instead of DATADIR/.cookie (sent only to a\n"
	       "                         loopback -rpcconnect); ASSAY_RPCPASSWORD for the password\n"
	       "                         keeps it out of ps\n"
	       "  -rpccookiefile=PATH    send the cookie in PATH instead, to whatever host -rpcconnect\n"
	       "                         names (read again when the node refuses it)\n"
	       "  -wallet=NAME           the worker's key: DATADIR/wallet/NAME.json (required)\n"
	       "  -passphrase-file=FILE  its passphrase (else ASSAY_PASSPHRASE, else the terminal)\n"
	       "  -backend=cpu|opencl    compute backend (default cpu; opencl runs matmul-i8; %s)\n"
	       "  -threads=N             cpu threads, 0 to %d (default 0: one per CPU)\n"
	       "  -bond=ASY              bond to register with if not registered (default 1000, raised to min_bond\n"
	       "                         if below it; a -bond below min_bond is refused)\n"
	       "  -maxfee=ASY            most fee signed for one transaction, reveals included (default 10): the\n"
	       "                         fee rule is the node's word; above it nothing is signed and a log line says so,\n"
	       "                         once per fee asked; read again each block, a fee that falls under it is paid\n"
	       "  -minprice=ASY          least reward a slot must pay per 10^9 operations (a multiply-add is two;\n"
	       "                         default 0: any): a job paying less is not taken, and its missed commit\n"
	       "                         costs missed_deadline_slash_bps (1%%) of that job's lock\n"
	       "  -listen=HOST:PORT      output server address (default %s)\n"
	       "  -endpoint=URL          endpoint to register (default http://LISTEN)\n"
	       "  -outdir=DIR            where outputs are kept (default DATADIR/worker/WALLET)\n"
	       "  -poll-ms=MS            longest wait for a block; how often to poll a node without waitfornewblock,\n"
	       "                         1 to %d (default %d)\n"
	       "  -corrupt-fraction=F    TEST ONLY: corrupt each tile with probability F (dev/local only)\n"
	       "  -corrupt-tiles=N       TEST ONLY: corrupt exactly N tiles of each job (dev/local only)\n"
	       "  -serve-wrong-output    TEST ONLY: serve outputs with one byte changed (dev/local only)\n"
	       "  -predict-key=HEX       TEST ONLY: with the block producer's 32-byte key seed, predict the\n"
	       "                         challenge beacon (no salt) and cheat on 3/4 of the tiles (dev/local only)\n"
	       "  -withhold-output       TEST ONLY: commit and reveal but never upload the output (dev/local only)\n"
	       "  -corrupt-pre=N         TEST ONLY: corrupt the pre-activations of the last N tiles of each mlp job,\n"
	       "                         outputs left right (dev/local only)\n"
	       "  -debug[=CATS]          debug lines (categories %s; -debug alone: all)\n"
	       "  -help                  this text\n\n"
	       "DATADIR/assay.conf (the node's file, read as assayd reads it) gives network, rpcconnect,\n"
	       "rpcport, rpcuser and rpcpassword when no flag does; its other keys are the node's.\n",
	       WORKER_RPC_NETWORK, (unsigned)network_find("dev")->rpc_port,
	       (unsigned)network_find("testnet")->rpc_port, WORKER_OPENCL_BUILT, BACKEND_MAX_THREADS,
	       WORKER_LISTEN, WORKER_MAX_POLL_MS, WORKER_POLL_MS, log_category_list());
}

/* One of the worker's own flags (client_opts_own_fn). */
static int own_flag(void *ctx, int code, const char *value, char *err, size_t errlen)
{
	struct worker_cfg *c = ctx;
	uint64_t v;
	int bad = 0;
	switch (code) {
	case OPT_BACKEND: bad = client_app_copy_opt(c->backend, sizeof(c->backend), value, "backend"); break;
	case OPT_ENDPOINT: bad = client_app_copy_opt(c->endpoint, sizeof(c->endpoint), value, "endpoint"); break;
	case OPT_OUTDIR: bad = client_app_copy_opt(c->outdir, sizeof(c->outdir), value, "outdir"); break;
	case OPT_THREADS:
		bad = conf_parse_int("threads", value, 0, BACKEND_MAX_THREADS, &c->threads, err, errlen) < 0;
		break;
	case OPT_POLL_MS:
		bad = conf_parse_u64("poll-ms", value, 1, WORKER_MAX_POLL_MS, &v, err, errlen) < 0;
		c->poll_ms = (unsigned)v;
		break;
	case OPT_BOND: bad = amount_parse(value, &c->bond) != 0 || c->bond == 0; break;
	case OPT_MAX_FEE:
		bad = amount_parse(value, &c->max_fee) != 0 || c->max_fee == 0;
		if (bad)
			snprintf(err, errlen, "-maxfee must be an amount above 0 ASY, not '%s'", value);
		break;
	case OPT_MIN_PRICE:
		bad = amount_parse(value, &c->min_price) != 0;
		if (bad)
			snprintf(err, errlen, "-minprice must be an amount in ASY, not '%s'", value);
		break;
	case OPT_CORRUPT_FRACTION: {
		char *end;
		c->corrupt_fraction = strtod(value, &end);
		bad = *end || !(c->corrupt_fraction >= 0 && c->corrupt_fraction <= 1);
		break;
	}
	case OPT_CORRUPT_TILES:
		bad = conf_parse_u64("corrupt-tiles", value, 0, UINT32_MAX, &v, err, errlen) < 0;
		c->corrupt_tiles = (uint32_t)v;
		break;
	case OPT_DEBUG:
		bad = log_parse_categories(value ? value : "1", &c->debug, err, errlen) < 0;
		break;
	case OPT_SERVE_WRONG: c->serve_wrong_output = 1; break;
	case OPT_PREDICT: {
		uint8_t seed[SEED_LEN], pk[PUBKEY_LEN];
		bad = strlen(value) != 2 * SEED_LEN || hex_decode(value, seed, SEED_LEN) != SEED_LEN;
		if (!bad) {
			key_from_seed(seed, pk, c->predict_seckey);
			c->predict = 1;
		}
		sodium_memzero(seed, sizeof(seed));
		break;
	}
	case OPT_WITHHOLD: c->withhold_output = 1; break;
	case OPT_CORRUPT_PRE:
		bad = conf_parse_u64("corrupt-pre", value, 0, UINT32_MAX, &v, err, errlen) < 0;
		c->corrupt_pre = (uint32_t)v;
		break;
	case OPT_HELP: usage(); exit(0);
	default: bad = 1;
	}
	return bad ? ASSAY_EARG : 0;
}

static int parse_args(struct worker_cfg *c, int argc, char **argv)
{
	memset(c, 0, sizeof(*c));
	client_opts_init(&c->common, WORKER_LISTEN);
	snprintf(c->backend, sizeof(c->backend), "cpu");
	c->poll_ms = WORKER_POLL_MS;
	c->max_fee = WORKER_DEFAULT_MAX_FEE;
	const struct network_info *net;
	/* DATADIR/assay.conf is the node's file: its connection keys only */
	if (client_opts_parse(&c->common, argc, argv, long_opts, own_flag, c) < 0 ||
	    client_opts_read_conf(&c->common, NULL, NULL, NULL) < 0 ||
	    client_opts_finish(&c->common, WORKER_RPC_NETWORK, &net) < 0)
		return -1;
	if (strcmp(c->backend, "cpu") != 0 && strcmp(c->backend, "opencl") != 0) {
		fprintf(stderr, "error: -backend must be cpu or opencl\n");
		return -1;
	}
	if (!c->outdir[0] && snprintf(c->outdir, sizeof(c->outdir), "%s/worker/%s", c->common.datadir,
				      c->common.wallet) >= (int)sizeof(c->outdir)) {
		fprintf(stderr, "error: -datadir is too long\n");
		return -1;
	}
	return 0;
}

static int make_dirs(const char *path)
{
	char tmp[WORKER_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* The compute parameters from getcomputeparams (client_opts_start read the
 * network, chain id and fee rule). */
static int read_chain(struct worker *w)
{
	json_t *params;
	if (call(w, "getcomputeparams", NULL, &params, NULL, 0) < 0)
		return -1;
	w->gas_per_check_unit = json_u64(params, "gas_per_check_unit");
	w->chunk_budget_bytes = json_u64(params, "chunk_budget_bytes");
	w->min_bond = json_u64(params, "min_bond");
	w->challenge_delay = (uint32_t)json_u64(params, "challenge_delay");
	w->salt_window = (uint32_t)json_u64(params, "salt_window");
	json_decref(params);
	return 0;
}

static int start(struct worker *w)
{
	if (client_opts_start(&w->cfg.common, &w->rpc, &w->key, w->addr, &w->chain) < 0 || read_chain(w) < 0)
		return -1;
	address_encode(w->chain.network->family, w->addr, w->address);
	if ((w->cfg.corrupt_fraction > 0 || w->cfg.corrupt_tiles > 0 || w->cfg.serve_wrong_output || w->cfg.predict ||
	     w->cfg.withhold_output || w->cfg.corrupt_pre) &&
	    w->chain.network->family != NET_DEV) {
		log_error("-corrupt-fraction, -corrupt-tiles, -corrupt-pre, -serve-wrong-output, -predict-key and -withhold-output are for tests: refused on network %s",
			  w->chain.network->name);
		return -1;
	}
	if (strcmp(w->cfg.backend, "opencl") == 0) {
		char err[256];
#ifdef HAVE_OPENCL
		w->cl = backend_opencl_create(err, sizeof(err));
		if (!w->cl) {
			log_error("opencl backend: %s", err);
			return -1;
		}
		log_info("opencl backend on %s (mlp-i8 jobs run on the cpu backend)", backend_opencl_device(w->cl));
#else
		snprintf(err, sizeof(err), "this build has no OpenCL");
		log_error("opencl backend: %s", err);
		return -1;
#endif
	} else {
		log_info("cpu backend: %s, %d threads", backend_cpu_isa(),
			 w->cfg.threads > 0 ? w->cfg.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	}
	if (make_dirs(w->cfg.outdir) < 0) {
		log_error("cannot create %s: %s", w->cfg.outdir, strerror(errno));
		return -1;
	}
	w->base = event_base_new();
	if (!w->base || start_http(w) < 0)
		return -1;
	if (ensure_registered(w) < 0)
		return -1;
	struct timeval tv = {w->cfg.poll_ms / 1000, (w->cfg.poll_ms % 1000) * 1000};
	w->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
	if (!w->tick_ev || client_app_signals(w->base, &w->sigint_ev, &w->sigterm_ev) < 0)
		return -1;
	event_add(w->tick_ev, &tv);
	if (w->cfg.corrupt_fraction > 0 || w->cfg.corrupt_tiles > 0)
		log_warn("TEST MODE: corrupting %s of every job's tiles", w->cfg.corrupt_tiles ? "some" : "a fraction");
	return 0;
}

static void stop(struct worker *w)
{
	while (w->items) {
		struct work_item *it = w->items;
		w->items = it->next;
		release_item(it);
		free(it);
	}
	if (w->tick_ev)
		event_free(w->tick_ev);
	if (w->http_resume)
		event_free(w->http_resume);
	client_app_free_loop(w->base, w->http, w->sigint_ev, w->sigterm_ev);
#ifdef HAVE_OPENCL
	if (w->cl)
		backend_opencl_destroy(w->cl);
#endif
	keystore_key_wipe(&w->key);
}

int main(int argc, char **argv)
{
	struct worker *w = calloc(1, sizeof(*w));
	if (!w || parse_args(&w->cfg, argc, argv) < 0) {
		free(w);
		return 2;
	}
	log_set_categories(w->cfg.debug);
	int rc = 1;
	if (client_app_init() == 0 && start(w) == 0) {
		log_info("assay-worker %s: worker %s on %s, polling every %u ms", PACKAGE_VERSION, w->address,
			 w->chain.network->name, w->cfg.poll_ms);
		if (notify_service("READY=1\nSTATUS=registered, computing") < 0) /* systemd Type=notify */
			log_warn("cannot notify the service manager ($NOTIFY_SOCKET)");
		tick(w);
		event_base_dispatch(w->base);
		notify_service("STOPPING=1");
		log_info("stopped after %llu jobs (%.2f GOPS overall)", (unsigned long long)w->jobs_computed,
			 w->secs_total > 0 ? w->ops_total / w->secs_total / 1e9 : 0.0);
		rc = 0;
	}
	stop(w);
	free(w);
	return rc;
}
