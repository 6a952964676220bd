/* assayd: the Assay full node. Reads the configuration, opens the chain in
 * the data directory, serves JSON-RPC, and on a dev chain produces a block
 * every -blocktime ms with the dev key. Runs in the foreground (systemd-
 * friendly) and shuts down cleanly on SIGINT/SIGTERM or the stop RPC. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <sodium.h>

#include <config.h>
#include "core/error.h"
#include "core/log.h"
#include "node/node.h"

uint64_t node_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

void node_request_stop(struct node *n)
{
	/* A short grace period lets the reply to a stop RPC reach its caller. */
	struct timeval grace = {0, 100000};
	if (n->produce_ev)
		event_del(n->produce_ev); /* no block after a stop was asked for */
	event_base_loopexit(n->base, &grace);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct node *n = arg;
	log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	node_request_stop(n);
}

int node_produce_block(struct node *n)
{
	size_t cap = chain_genesis(n->chain)->params.max_block_txs;
	const struct tx **cand = malloc(cap * sizeof(*cand));
	if (!cand)
		return ASSAY_ENOMEM;
	size_t k = mempool_select(n->mempool, cand, cap);
	struct block blk;
	char err[256];
	uint64_t now = node_now_ms();
	int rc = chain_build_block(n->chain, cand, k, now, n->key_sk, &blk, NULL, NULL, err, sizeof(err));
	free(cand);
	if (rc) {
		log_error("producer: cannot build block %llu: %s", (unsigned long long)chain_height(n->chain) + 1, err);
		return rc;
	}
	uint8_t hash[HASH_LEN];
	struct commit commit;
	block_hash(&blk, hash);
	chain_sign_commit(n->chain, n->key_sk, blk.hdr.height, hash, &commit);
	rc = chain_apply_block(n->chain, &blk, &commit, now, err, sizeof(err));
	commit_free(&commit);
	if (rc) {
		log_error("producer: block %llu rejected: %s", (unsigned long long)blk.hdr.height, err);
		block_free(&blk);
		return rc;
	}
	char hex[65];
	hex_encode(hash, HASH_LEN, hex);
	if (blk.ntx || blk.hdr.height % 60 == 0)
		log_info("block %llu %.16s txs=%zu mempool=%zu", (unsigned long long)blk.hdr.height, hex, blk.ntx,
			 mempool_size(n->mempool) - blk.ntx);
	n->blocks_produced++;
	n->txs_committed += blk.ntx;
	mempool_on_block(n->mempool, &blk);
	node_net_block_applied(n, hash, blk.hdr.height);
	block_free(&blk);
	return 0;
}

static void on_produce(evutil_socket_t fd, short what, void *arg)
{
	node_produce_block(arg);
}

static int load_key_file(struct node *n, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	uint8_t seed[SEED_LEN];
	if (!root) {
		snprintf(err, errlen, "cannot read validator key %s: %s", path, jerr.text);
		return ASSAY_EIO;
	}
	json_t *s = json_object_get(root, "seed");
	if (!json_is_string(s) || hex_decode(json_string_value(s), seed, SEED_LEN) != SEED_LEN) {
		json_decref(root);
		snprintf(err, errlen, "validator key %s: \"seed\" must be 64 hex digits", path);
		return ASSAY_EDECODE;
	}
	json_decref(root);
	key_from_seed(seed, n->key_pk, n->key_sk);
	sodium_memzero(seed, sizeof(seed));
	n->has_key = 1;
	return 0;
}

static int make_dir(const char *path)
{
	char tmp[1024];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static void reindex_progress(uint64_t h, uint64_t tip)
{
	if (h % 1000 == 0 || h == tip)
		log_info("reindex: %llu / %llu blocks", (unsigned long long)h, (unsigned long long)tip);
}

static int fail(const char *msg)
{
	fprintf(stderr, "assayd: error: %s\n", msg);
	log_error("%s", msg);
	return 1;
}

int main(int argc, char **argv)
{
	struct node node;
	struct node *n = &node;
	char err[2400], path[1200];
	memset(n, 0, sizeof(*n));
	config_defaults(&n->cfg);
	if (config_parse_args(&n->cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "assayd: %s\n", err);
		return 2;
	}
	if (n->cfg.help) {
		config_print_help("assayd");
		return 0;
	}
	if (n->cfg.version) {
		printf("assayd %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (keys_init() < 0)
		return fail("libsodium failed to initialize");
	if (make_dir(n->cfg.datadir) < 0) {
		snprintf(err, sizeof(err), "cannot create data directory %s: %s", n->cfg.datadir, strerror(errno));
		return fail(err);
	}
	snprintf(path, sizeof(path), "%s/assay.conf", n->cfg.datadir);
	if (config_read_file(&n->cfg, path, err, sizeof(err)) < 0)
		return fail(err);
	config_finish(&n->cfg);
	log_set_stderr(n->cfg.printtoconsole);
	log_set_level(strcmp(n->cfg.debug, "debug") == 0 ? LOG_DEBUG
		      : strcmp(n->cfg.debug, "warn") == 0 ? LOG_WARN
		      : strcmp(n->cfg.debug, "error") == 0 ? LOG_ERROR : LOG_INFO);
	snprintf(path, sizeof(path), "%s/debug.log", n->cfg.datadir);
	if (log_open_file(path) < 0)
		fprintf(stderr, "assayd: warning: cannot open %s\n", path);

	/* One node per data directory. */
	snprintf(path, sizeof(path), "%s/.lock", n->cfg.datadir);
	int lockfd = open(path, O_RDWR | O_CREAT, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, sizeof(err), "cannot lock %s: is another assayd using this data directory?",
			 n->cfg.datadir);
		return fail(err);
	}

	int rc;
	if (strcmp(n->cfg.network, "dev") == 0) {
		rc = genesis_dev(&n->genesis);
		if (rc)
			return fail("cannot build the dev genesis");
	} else if (strcmp(n->cfg.network, "local") == 0 || strcmp(n->cfg.network, "testnet") == 0) {
		if (!n->cfg.genesis[0])
			snprintf(n->cfg.genesis, sizeof(n->cfg.genesis), "%s/genesis.json", n->cfg.datadir);
		if (genesis_load_file(&n->genesis, n->cfg.genesis, err, sizeof(err)) < 0)
			return fail(err);
		if (strcmp(n->genesis.network_name, n->cfg.network) != 0) {
			snprintf(err, sizeof(err), "genesis %s is for network \"%s\", not \"%s\"", n->cfg.genesis,
				 n->genesis.network_name, n->cfg.network);
			return fail(err);
		}
	} else {
		snprintf(err, sizeof(err), "unknown network \"%s\" (dev, local or testnet)", n->cfg.network);
		return fail(err);
	}
	n->blocktime_ms = n->cfg.blocktime ? n->cfg.blocktime : n->genesis.params.block_time_ms;

	if (!n->cfg.novalidator) {
		if (n->cfg.validator[0]) {
			if (load_key_file(n, n->cfg.validator, err, sizeof(err)) < 0)
				return fail(err);
		} else if (strcmp(n->cfg.network, "dev") == 0) {
			genesis_dev_key(n->key_pk, n->key_sk);
			n->has_key = 1;
		}
	}

	log_info("assayd %s starting: network %s, chain %s, data directory %s", PACKAGE_VERSION,
		 n->cfg.network, n->genesis.chain, n->cfg.datadir);
	snprintf(path, sizeof(path), "%s/chaindata", n->cfg.datadir);
	n->chain = chain_open(path, &n->genesis, err, sizeof(err));
	if (!n->chain)
		return fail(err);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	chain_set_verify_threads(n->chain, n->cfg.verifythreads ? n->cfg.verifythreads : (int)(ncpu > 0 ? ncpu : 1));
	if (n->cfg.reindex) {
		log_info("reindex: replaying %llu blocks from genesis", (unsigned long long)chain_height(n->chain));
		if (chain_reindex(n->chain, reindex_progress, err, sizeof(err)) < 0) {
			chain_close(n->chain);
			return fail(err);
		}
		log_info("reindex: done, state root matches at height %llu",
			 (unsigned long long)chain_height(n->chain));
	}
	n->mempool = mempool_new(n->chain, MEMPOOL_DEFAULT_MAX_TXS, MEMPOOL_DEFAULT_MAX_BYTES);
	n->base = event_base_new();
	if (!n->mempool || !n->base) {
		chain_close(n->chain);
		return fail("out of memory");
	}
	if (n->cfg.rpcuser[0] && !n->cfg.rpcpassword[0]) {
		mempool_free(n->mempool);
		chain_close(n->chain);
		return fail("-rpcuser needs -rpcpassword (an empty password would let anyone in)");
	}
	snprintf(path, sizeof(path), "%s/.cookie", n->cfg.datadir);
	n->rpc = rpc_new(n->base, n->cfg.rpcbind, n->cfg.rpcport, n->cfg.rpcuser[0] ? n->cfg.rpcuser : NULL,
			 n->cfg.rpcuser[0] ? n->cfg.rpcpassword : NULL, path, err, sizeof(err));
	if (!n->rpc) {
		mempool_free(n->mempool);
		chain_close(n->chain);
		return fail(err);
	}
	rpc_set_max_connections(n->rpc, n->cfg.rpcmaxconnections);
	node_register_rpc(n);
	node_register_contract_rpc(n);
	node_register_rpc_net(n);
	node_register_compute_rpc(n);
	n->sigint_ev = evsignal_new(n->base, SIGINT, on_signal, n);
	n->sigterm_ev = evsignal_new(n->base, SIGTERM, on_signal, n);
	event_add(n->sigint_ev, NULL);
	event_add(n->sigterm_ev, NULL);
	signal(SIGPIPE, SIG_IGN);

	uint8_t tip[HASH_LEN];
	char tiphex[65];
	chain_tip_hash(n->chain, tip);
	hex_encode(tip, HASH_LEN, tiphex);
	log_info("chain tip: height %llu %s", (unsigned long long)chain_height(n->chain), tiphex);
	log_info("JSON-RPC on http://%s:%d/ (%s)", n->cfg.rpcbind, n->cfg.rpcport,
		 n->cfg.rpcuser[0] ? "user/password" : "cookie auth, DATADIR/.cookie");

	if (node_net_start(n, err, sizeof(err)) < 0) {
		rpc_free(n->rpc);
		mempool_free(n->mempool);
		chain_close(n->chain);
		return fail(err);
	}

	int producing = 0;
	if (n->has_key) {
		uint64_t total = 0, mine = 0;
		for (size_t i = 0; i < n->genesis.nvalidators; i++) {
			total += n->genesis.validators[i].stake;
			if (memcmp(n->genesis.validators[i].pubkey, n->key_pk, PUBKEY_LEN) == 0)
				mine = n->genesis.validators[i].stake;
		}
		/* Without the BFT engine a validator produces alone only when it
		 * holds more than 2/3 of the stake (a one-validator chain). */
		producing = (unsigned __int128)mine * 3 > (unsigned __int128)total * 2;
		if (!producing)
			log_warn("validator key is not a >2/3 validator of this chain: not producing blocks");
	}
	if (producing) {
		struct timeval tv = {(time_t)(n->blocktime_ms / 1000), (suseconds_t)(n->blocktime_ms % 1000) * 1000};
		n->produce_ev = event_new(n->base, -1, EV_PERSIST, on_produce, n);
		event_add(n->produce_ev, &tv);
		char addr[ADDR_STR_MAX];
		uint8_t a[ADDR_LEN];
		address_from_pubkey(n->key_pk, a);
		address_encode(n->genesis.net, a, addr);
		log_info("producing a block every %llu ms as validator %s", (unsigned long long)n->blocktime_ms, addr);
	}
	n->started_ms = node_now_ms();
	event_base_dispatch(n->base);

	log_info("shutting down");
	node_net_stop(n);
	if (n->produce_ev)
		event_free(n->produce_ev);
	event_free(n->sigint_ev);
	event_free(n->sigterm_ev);
	rpc_free(n->rpc);
	mempool_free(n->mempool);
	chain_close(n->chain);
	event_base_free(n->base);
	genesis_free(&n->genesis);
	sodium_memzero(n->key_sk, sizeof(n->key_sk));
	log_info("shutdown complete");
	log_close_file();
	close(lockfd);
	return 0;
}
