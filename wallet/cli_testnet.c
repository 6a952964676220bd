/* The testnet group of assay-cli (see cli_testnet.h): gentx entries and
 * their signature, collect into a genesis, and init of a whole network's
 * directories. init makes its genesis through the same gentx and collect
 * path an operator's launch takes. Not for: starting nodes
 * (scripts/localnet) or the node's own genesis checks (node/genesis.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "consensus/bft/valset.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/ledger.h"
#include "core/network.h"
#include "core/sha256.h"
#include "wallet/amount.h"
#include "wallet/cli_testnet.h"
#include "wallet/cli_validator.h"
#include "wallet/keystore.h"

const struct cli_optdef cli_testnet_init_opts[] = {
	{"validators", 1}, {"followers", 1}, {"workers", 1},    {"dir", 1}, {"base-port", 1},
	{"chain", 1},      {"stake", 1},     {"block-time", 1}, {NULL, 0},
};
const struct cli_optdef cli_testnet_gentx_opts[] = {
	{"from", 1}, {"stake", 1}, {"chain", 1}, {"out", 1}, {NULL, 0},
};
const struct cli_optdef cli_testnet_collect_opts[] = {
	{"out", 1}, {"base", 1}, {"fund", 1}, {"time-ms", 1}, {NULL, 0},
};

/* ---- gentx ---- */

void cli_gentx_digest(const struct cli_gentx *g, uint8_t out[HASH_LEN])
{
	struct buf b;
	buf_init(&b);
	buf_put_bytes(&b, g->chain, strlen(g->chain));
	buf_put_bytes(&b, g->network, strlen(g->network));
	buf_put(&b, g->pubkey, PUBKEY_LEN);
	buf_put_u64(&b, g->stake);
	hash_tagged(CLI_GENTX_TAG, b.data, b.len, out);
	buf_free(&b);
}

void cli_gentx_sign(struct cli_gentx *g, const uint8_t sk[SECKEY_LEN])
{
	uint8_t digest[HASH_LEN];
	memcpy(g->pubkey, sk + SEED_LEN, PUBKEY_LEN);
	cli_gentx_digest(g, digest);
	sig_sign(sk, digest, HASH_LEN, g->sig);
}

json_t *cli_gentx_to_json(const struct cli_gentx *g)
{
	char pk[2 * PUBKEY_LEN + 1], sig[2 * SIG_LEN + 1], address[ADDR_STR_MAX], stake[24];
	uint8_t addr[ADDR_LEN];
	const struct network_info *net = network_find(g->network);
	hex_encode(g->pubkey, PUBKEY_LEN, pk);
	hex_encode(g->sig, SIG_LEN, sig);
	address_from_pubkey(g->pubkey, addr);
	address_encode(net ? net->family : NET_DEV, addr, address);
	snprintf(stake, sizeof(stake), "%llu", (unsigned long long)g->stake);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "type", CLI_GENTX_TYPE, "chain", g->chain,
			 "network", g->network, "pubkey", pk, "stake", stake, "address", address, "signature",
			 sig);
}

/* A u64 as genesis files write it (docs/protocol.md §7): a JSON integer
 * >= 0 or a string of decimal digits. */
static int json_u64(const json_t *v, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, NULL, 10);
	if (errno == ERANGE)
		return -1;
	*out = x;
	return 0;
}

static int hex_field(const json_t *j, const char *name, uint8_t *out, size_t n)
{
	const char *s = json_string_value(json_object_get(j, name));
	return s && strlen(s) == 2 * n && hex_decode(s, out, n) == (long)n ? 0 : -1;
}

int cli_gentx_from_json(const json_t *j, struct cli_gentx *g, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *chain = json_string_value(json_object_get(j, "chain"));
	const char *network = json_string_value(json_object_get(j, "network"));
	const char *address = json_string_value(json_object_get(j, "address"));
	if (!json_is_object(j) || !type || strcmp(type, CLI_GENTX_TYPE) != 0)
		return assay_fail(err, errlen, ASSAY_EDECODE, "not a gentx (\"type\" must be \"%s\")",
				  CLI_GENTX_TYPE);
	if (!chain || !*chain || strlen(chain) >= sizeof(g->chain))
		return assay_fail(err, errlen, ASSAY_EDECODE, "\"chain\" must be 1 to %zu characters",
				  sizeof(g->chain) - 1);
	const struct network_info *net = network ? network_find(network) : NULL;
	if (!net || strcmp(network, "dev") == 0)
		return assay_fail(err, errlen, ASSAY_EDECODE, "\"network\" must be local, testnet or main");
	snprintf(g->chain, sizeof(g->chain), "%s", chain);
	snprintf(g->network, sizeof(g->network), "%s", network);
	if (hex_field(j, "pubkey", g->pubkey, PUBKEY_LEN) < 0)
		return assay_fail(err, errlen, ASSAY_EDECODE, "\"pubkey\" must be 64 hex digits");
	if (json_u64(json_object_get(j, "stake"), &g->stake) < 0 || g->stake == 0)
		return assay_fail(err, errlen, ASSAY_EDECODE,
				  "\"stake\" must be a positive integer (voting power: whole ASY of bond)");
	if (hex_field(j, "signature", g->sig, SIG_LEN) < 0)
		return assay_fail(err, errlen, ASSAY_EDECODE, "\"signature\" must be 128 hex digits");
	if (address) { /* informational, but a wrong one is a sign of a hand-edited file */
		uint8_t want[ADDR_LEN], got[ADDR_LEN];
		enum network fam;
		address_from_pubkey(g->pubkey, want);
		if (address_decode(address, &fam, got) != 0 || fam != net->family ||
		    memcmp(want, got, ADDR_LEN))
			return assay_fail(err, errlen, ASSAY_EDECODE,
					  "\"address\" is not the address of \"pubkey\"");
	}
	uint8_t digest[HASH_LEN];
	cli_gentx_digest(g, digest);
	if (sig_verify(g->pubkey, digest, HASH_LEN, g->sig) != 0)
		return assay_fail(err, errlen, ASSAY_ESIG,
				  "bad signature: the entry was not signed by its pubkey for this chain, "
				  "network and stake");
	return 0;
}

/* ---- collect ---- */

int cli_testnet_collect(const struct cli_gentx *txs, size_t n, const json_t *base, uint64_t fund,
			uint64_t time_ms, json_t **genesis, char *err, size_t errlen)
{
	*genesis = NULL;
	if (n == 0)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "no gentx entries: a genesis needs at least one validator");
	if (n > CLI_GENESIS_MAX_VALIDATORS)
		return assay_fail(err, errlen, ASSAY_EINVALID, "%zu entries: at most %d validators", n,
				  CLI_GENESIS_MAX_VALIDATORS);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(txs[i].chain, txs[0].chain) || strcmp(txs[i].network, txs[0].network))
			return assay_fail(
				err, errlen, ASSAY_EINVALID,
				"entry %zu is for chain %s on %s, entry 0 for %s on %s: one chain only", i,
				txs[i].chain, txs[i].network, txs[0].chain, txs[0].network);
		for (size_t k = 0; k < i; k++)
			if (memcmp(txs[k].pubkey, txs[i].pubkey, PUBKEY_LEN) == 0) {
				char pk[2 * PUBKEY_LEN + 1];
				hex_encode(txs[i].pubkey, PUBKEY_LEN, pk);
				return assay_fail(err, errlen, ASSAY_EINVALID,
						  "validator %s appears twice (entries %zu and %zu)", pk, k,
						  i);
			}
		if (amount_add(total, txs[i].stake, &total) || total > BFT_MAX_TOTAL_POWER)
			return assay_fail(err, errlen, ASSAY_EINVALID, "total stake above %llu",
					  (unsigned long long)BFT_MAX_TOTAL_POWER);
	}
	const struct network_info *net = network_find(txs[0].network);
	if (base && !json_is_object(base))
		return assay_fail(err, errlen, ASSAY_EINVALID, "the base genesis must be a JSON object");
	const char *bchain = json_string_value(json_object_get(base, "chain"));
	const char *bnet = json_string_value(json_object_get(base, "network"));
	json_t *bvals = json_object_get(base, "validators");
	json_t *bbalances = json_object_get(base, "balances");
	if (bchain && strcmp(bchain, txs[0].chain) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "the base genesis is for chain %s, the entries for %s", bchain,
				  txs[0].chain);
	if (bnet && strcmp(bnet, txs[0].network) != 0)
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "the base genesis is for network %s, the entries for %s", bnet,
				  txs[0].network);
	if (bvals && (!json_is_array(bvals) || json_array_size(bvals) != 0))
		return assay_fail(
			err, errlen, ASSAY_EINVALID,
			"the base genesis already lists validators: they come from the gentx entries only");
	if (bbalances && !json_is_array(bbalances))
		return assay_fail(err, errlen, ASSAY_EINVALID,
				  "the base genesis's \"balances\" must be an array");
	/* protocol.md §7's order, then whatever else the base holds */
	json_t *g = json_object(), *vals = json_array();
	json_t *balances = bbalances ? json_deep_copy(bbalances) : json_array();
	json_t *btime = json_object_get(base, "time_ms");
	if (!g || !vals || !balances) {
		json_decref(g);
		json_decref(vals);
		json_decref(balances);
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	}
	json_object_set_new(g, "chain", json_string(txs[0].chain));
	json_object_set_new(g, "network", json_string(txs[0].network));
	json_object_set_new(g, "time_ms", btime ? json_deep_copy(btime) : json_integer((json_int_t)time_ms));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)base, key, v)
	{
		if (!json_object_get(g, key) && strcmp(key, "balances") && strcmp(key, "validators"))
			json_object_set_new(g, key, json_deep_copy(v));
	}
	json_object_set_new(g, "balances", balances);
	for (size_t i = 0; i < n; i++) {
		char pk[2 * PUBKEY_LEN + 1], address[ADDR_STR_MAX];
		uint8_t addr[ADDR_LEN];
		hex_encode(txs[i].pubkey, PUBKEY_LEN, pk);
		json_array_append_new(
			vals, json_pack("{s:s, s:I}", "pubkey", pk, "stake", (json_int_t)txs[i].stake));
		address_from_pubkey(txs[i].pubkey, addr);
		address_encode(net->family, addr, address);
		int funded = 0;
		size_t k;
		json_t *e;
		json_array_foreach(balances, k, e)
		{
			uint8_t other[ADDR_LEN];
			enum network fam;
			const char *a = json_string_value(json_object_get(e, "address"));
			if (a && address_decode(a, &fam, other) == 0 && memcmp(other, addr, ADDR_LEN) == 0)
				funded = 1;
		}
		if (!funded && fund)
			json_array_append_new(balances, json_pack("{s:s, s:I}", "address", address, "amount",
								  (json_int_t)fund));
	}
	json_object_set_new(g, "validators", vals);
	/* the supply: balances plus the bonds the genesis creates (protocol.md §7) */
	uint64_t supply = total * CLI_STAKE_UNIT, amount; /* total <= 2^63/8: may still wrap, checked */
	int over = total > UINT64_MAX / CLI_STAKE_UNIT;
	size_t k;
	json_t *e;
	json_array_foreach(balances, k, e)
	{
		if (json_u64(json_object_get(e, "amount"), &amount) < 0) {
			json_decref(g);
			return assay_fail(err, errlen, ASSAY_EINVALID,
					  "balances[%zu].amount is not an amount of base units", k);
		}
		over |= amount_add(supply, amount, &supply) != 0;
	}
	if (over || supply > (uint64_t)INT64_MAX) {
		json_decref(g);
		return assay_fail(
			err, errlen, ASSAY_EINVALID,
			"balances plus the genesis bonds (stake x 10^9 base units) reach 2^63 base units");
	}
	*genesis = g;
	return 0;
}

/* ---- files ---- */

/* Writes j as a new file (never over one); mode 0644 unless secret. */
static int write_json_new(const char *path, const json_t *j, int secret, char *err, size_t errlen)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text)
		return assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, secret ? 0600 : 0644);
	if (fd < 0) {
		int e = errno;
		free(text);
		return assay_fail(err, errlen, e == EEXIST ? ASSAY_EEXISTS : ASSAY_EIO,
				  "cannot create %s: %s", path, strerror(e));
	}
	FILE *f = fdopen(fd, "w");
	int bad = !f || fputs(text, f) < 0 || fputc('\n', f) < 0;
	bad |= f ? fclose(f) != 0 : close(fd) != 0;
	free(text);
	return bad ? assay_fail(err, errlen, ASSAY_EIO, "cannot write %s", path) : 0;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

/* path = dir/name, or ASSAY_ELIMIT. */
static int join(char *out, size_t cap, const char *dir, const char *name, char *err, size_t errlen)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap
		       ? assay_fail(err, errlen, ASSAY_ELIMIT, "path too long: %s/%s", dir, name)
		       : 0;
}

/* The new testnet directory: made if absent, else it must be empty. Its
 * absolute path into abs, for the files that name others. */
static int make_top(const char *dir, char *abs, size_t cap, char *err, size_t errlen)
{
	char parent[CLI_PATH_MAX];
	if (strlen(dir) >= sizeof(parent))
		return assay_fail(err, errlen, ASSAY_ELIMIT, "path too long: %s", dir);
	snprintf(parent, sizeof(parent), "%s", dir);
	for (char *p = parent + 1; *p; p++) /* the folders above, as mkdir -p */
		if (*p == '/') {
			*p = 0;
			if (mkdir(parent, 0755) != 0 && errno != EEXIST)
				return assay_fail(err, errlen, ASSAY_EIO, "cannot create %s: %s", parent,
						  strerror(errno));
			*p = '/';
		}
	if (mkdir(dir, 0700) != 0) {
		if (errno != EEXIST)
			return assay_fail(err, errlen, ASSAY_EIO, "cannot create %s: %s", dir,
					  strerror(errno));
		DIR *d = opendir(dir);
		if (!d)
			return assay_fail(err, errlen, ASSAY_EIO, "%s exists and cannot be read: %s", dir,
					  strerror(errno));
		struct dirent *e;
		int used = 0;
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				used = 1;
		closedir(d);
		if (used)
			return assay_fail(
				err, errlen, ASSAY_EEXISTS,
				"%s exists and is not empty: choose a new --dir (nothing was changed)", dir);
	}
	char real[PATH_MAX];
	if (!realpath(dir, real) || strlen(real) >= cap)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot resolve %s", dir);
	snprintf(abs, cap, "%s", real);
	return 0;
}

static int write_text_new(const char *path, const char *text, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return assay_fail(err, errlen, errno == EEXIST ? ASSAY_EEXISTS : ASSAY_EIO,
				  "cannot create %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int bad = w < 0 || (size_t)w != len;
	bad |= close(fd) != 0;
	return bad ? assay_fail(err, errlen, ASSAY_EIO, "cannot write %s", path) : 0;
}

/* Appends printf text to a growing buffer. */
static void text_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(struct buf *b, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_put(b, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static int write_node_conf(const struct cli_testnet_plan *p, const char *abs, unsigned i, char *err,
			   size_t errlen)
{
	char path[CLI_PATH_MAX];
	struct buf b;
	int rc;
	buf_init(&b);
	text_add(&b,
		 "# node%u of the %s testnet in %s (assay-cli testnet init)%s.\n"
		 "# assayd -datadir=%s/node%u reads this file; so does assay-cli -datadir=...\n"
		 "network=%s\ngenesis=%s/node%u/genesis.json\nvalidator=%s/node%u/%s/node%u.json\n"
		 "rpcbind=127.0.0.1\nrpcport=%u\nbind=127.0.0.1\nport=%u\nprinttoconsole=0\n"
		 "# persistent peers: the genesis validators but this node\n",
		 i, p->network, abs,
		 i < p->validators ? "" : ", a follower: its key holds no stake until it bonds", abs, i,
		 p->network, abs, i, abs, i, CLI_VALIDATOR_DIR, i, p->base_port + 2 * i,
		 p->base_port + 2 * i + 1);
	for (unsigned k = 0; k < p->validators; k++)
		if (k != i)
			text_add(&b, "addnode=127.0.0.1:%u\n", p->base_port + 2 * k + 1);
	buf_put_u8(&b, 0);
	snprintf(path, sizeof(path), "%s/node%u/assay.conf", abs, i);
	rc = b.oom ? assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory")
		   : write_text_new(path, (const char *)b.data, err, errlen);
	buf_free(&b);
	return rc;
}

/* DIR/workerJ: its wallet, the node's cookie through a link, worker.conf
 * (assay-worker's options as name=value lines; scripts/localnet passes
 * them as -name=value). */
static int write_worker(const struct cli_testnet_plan *p, const char *abs, unsigned j, enum network fam,
			json_t *workers, json_t *balances, char *err, size_t errlen)
{
	char dir[CLI_PATH_MAX], path[CLI_PATH_MAX], name[32], link_to[64], text[CLI_PATH_MAX * 2 + 512];
	struct keystore_info info;
	unsigned node = j % p->validators, listen = p->base_port + 2 * (p->validators + p->followers) + j;
	int rc;
	snprintf(name, sizeof(name), "worker%u", j);
	if ((rc = join(dir, sizeof(dir), abs, name, err, errlen)) || (rc = make_dir(dir, err, errlen)))
		return rc;
	if ((rc = keystore_create(dir, name, fam, NULL, p->passphrase, &info, err, errlen)))
		return rc;
	snprintf(link_to, sizeof(link_to), "../node%u/.cookie", node);
	snprintf(path, sizeof(path), "%s/.cookie", dir);
	if (symlink(link_to, path) != 0)
		return assay_fail(err, errlen, ASSAY_EIO, "cannot link %s: %s", path, strerror(errno));
	snprintf(text, sizeof(text),
		 "# worker%u of the testnet in %s, taking jobs through node%u.\n"
		 "# assay-worker options as name=value; scripts/localnet runs assay-worker -name=value ...\n"
		 "datadir=%s\nrpcport=%u\nwallet=%s\npassphrase-file=%s/passphrase\nlisten=127.0.0.1:%u\n"
		 "backend=cpu\nthreads=1\n",
		 j, abs, node, dir, p->base_port + 2 * node, name, abs, listen);
	snprintf(path, sizeof(path), "%s/worker.conf", dir);
	if ((rc = write_text_new(path, text, err, errlen)))
		return rc;
	char listen_text[32], node_name[32];
	snprintf(listen_text, sizeof(listen_text), "127.0.0.1:%u", listen);
	snprintf(node_name, sizeof(node_name), "node%u", node);
	json_array_append_new(workers,
			      json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", name, "dir", name, "node",
					node_name, "listen", listen_text, "address", info.address));
	json_array_append_new(
		balances, json_pack("{s:s, s:I}", "address", info.address, "amount", (json_int_t)p->fund));
	return 0;
}

int cli_testnet_init_dir(const struct cli_testnet_plan *p, char *err, size_t errlen)
{
	char abs[CLI_PATH_MAX - 256], dir[CLI_PATH_MAX], path[CLI_PATH_MAX], chain[64];
	const struct network_info *net = network_find(p->network);
	int rc;
	if (!net || (strcmp(p->network, "local") && strcmp(p->network, "testnet")))
		return assay_fail(err, errlen, ASSAY_EARG, "network must be local or testnet, not %s",
				  p->network);
	unsigned nodes_total = p->validators + p->followers;
	if (p->validators < 1 || p->validators > CLI_TESTNET_MAX_NODES ||
	    p->followers > CLI_TESTNET_MAX_NODES || p->workers > CLI_TESTNET_MAX_WORKERS)
		return assay_fail(err, errlen, ASSAY_EARG,
				  "1 to %d validators, 0 to %d followers and 0 to %d workers",
				  CLI_TESTNET_MAX_NODES, CLI_TESTNET_MAX_NODES, CLI_TESTNET_MAX_WORKERS);
	if (p->base_port < 1024 || p->base_port + 2 * nodes_total + p->workers > 65535)
		return assay_fail(err, errlen, ASSAY_EARG,
				  "--base-port %u leaves no room for the ports (1024 to 65535)",
				  p->base_port);
	snprintf(chain, sizeof(chain), "%s",
		 p->chain ? p->chain : (strcmp(p->network, "local") ? "assay-testnet" : "assay-local"));
	if ((rc = make_top(p->dir, abs, sizeof(abs), err, errlen)))
		return rc;

	/* validator keys and their signed entries, as operators would make them */
	struct cli_gentx *txs = calloc(p->validators, sizeof(*txs));
	json_t *nodes = json_array(), *workers = json_array(), *balances = json_array(),
	       *base = json_object();
	json_t *genesis = NULL;
	if (!txs || !nodes || !workers || !balances || !base) {
		rc = assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/gentx", abs);
	if ((rc = make_dir(dir, err, errlen)))
		goto out;
	for (unsigned i = 0; i < nodes_total && !rc; i++) {
		uint8_t seed[SEED_LEN], pk[PUBKEY_LEN], sk[SECKEY_LEN];
		int is_validator = i < p->validators;
		char name[32], pk_hex[2 * PUBKEY_LEN + 1], address[ADDR_STR_MAX];
		uint8_t addr[ADDR_LEN];
		snprintf(name, sizeof(name), "node%u", i);
		snprintf(dir, sizeof(dir), "%s/%s", abs, name);
		if ((rc = make_dir(dir, err, errlen)) ||
		    (rc = cli_validator_key_path(dir, name, path, sizeof(path))))
			break;
		randombytes_buf(seed, sizeof(seed));
		key_from_seed(seed, pk, sk);
		rc = cli_validator_key_write(path, seed, err, errlen);
		sodium_memzero(seed, sizeof(seed));
		if (is_validator) {
			snprintf(txs[i].chain, sizeof(txs[i].chain), "%s", chain);
			snprintf(txs[i].network, sizeof(txs[i].network), "%s", p->network);
			txs[i].stake = p->stake;
			cli_gentx_sign(&txs[i], sk);
		}
		sodium_memzero(sk, sizeof(sk));
		if (rc)
			break;
		hex_encode(pk, PUBKEY_LEN, pk_hex);
		address_from_pubkey(pk, addr);
		address_encode(net->family, addr, address);
		if (is_validator) {
			json_t *entry = cli_gentx_to_json(&txs[i]);
			snprintf(path, sizeof(path), "%s/gentx/%s.json", abs, name);
			rc = entry ? write_json_new(path, entry, 0, err, errlen)
				   : assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
			json_decref(entry);
		} else { /* funded, so it can bond */
			json_array_append_new(balances, json_pack("{s:s, s:I}", "address", address, "amount",
								  (json_int_t)p->fund));
		}
		json_array_append_new(nodes,
				      json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:b}", "name", name, "dir",
						name, "rpcport", (int)(p->base_port + 2 * i), "port",
						(int)(p->base_port + 2 * i + 1), "pubkey", pk_hex, "address",
						address, "validator", is_validator));
	}
	if (rc)
		goto out;

	/* the wallets' passphrase, then the workers and the faucet */
	snprintf(path, sizeof(path), "%s/passphrase", abs);
	char pass_line[512];
	snprintf(pass_line, sizeof(pass_line), "%s\n", p->passphrase);
	rc = keystore_write_new(abs, path, pass_line, err, errlen);
	sodium_memzero(pass_line, sizeof(pass_line));
	if (rc)
		goto out;
	for (unsigned j = 0; j < p->workers && !rc; j++)
		rc = write_worker(p, abs, j, net->family, workers, balances, err, errlen);
	if (rc)
		goto out;
	struct keystore_info faucet;
	snprintf(dir, sizeof(dir), "%s/node0", abs);
	if ((rc = keystore_create(dir, "faucet", net->family, NULL, p->passphrase, &faucet, err, errlen)))
		goto out;
	json_array_append_new(balances, json_pack("{s:s, s:I}", "address", faucet.address, "amount",
						  (json_int_t)p->faucet));

	/* one genesis for all, through collect */
	uint64_t block_ms = p->block_time_ms                   ? p->block_time_ms
			    : strcmp(p->network, "local") == 0 ? CLI_TESTNET_LOCAL_BLOCK_MS
							       : 0;
	json_object_set_new(base, "time_ms", json_integer((json_int_t)p->time_ms));
	if (block_ms)
		json_object_set_new(base, "params",
				    json_pack("{s:I}", "block_time_ms", (json_int_t)block_ms));
	json_object_set(base, "balances", balances);
	if ((rc = cli_testnet_collect(txs, p->validators, base, p->fund, p->time_ms, &genesis, err, errlen)))
		goto out;
	snprintf(path, sizeof(path), "%s/genesis.json", abs);
	if ((rc = write_json_new(path, genesis, 0, err, errlen)))
		goto out;
	for (unsigned i = 0; i < nodes_total && !rc; i++) {
		snprintf(path, sizeof(path), "%s/node%u/genesis.json", abs, i);
		if (!(rc = write_json_new(path, genesis, 0, err, errlen)))
			rc = write_node_conf(p, abs, i, err, errlen);
	}
	if (rc)
		goto out;
	json_t *manifest = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:{s:s, s:s, s:s}}", "chain", chain,
				     "network", p->network, "genesis", "genesis.json", "passphrase_file",
				     "passphrase", "nodes", nodes, "workers", workers, "faucet", "wallet",
				     "faucet", "datadir", "node0", "address", faucet.address);
	snprintf(path, sizeof(path), "%s/testnet.json", abs);
	rc = manifest ? write_json_new(path, manifest, 0, err, errlen)
		      : assay_fail(err, errlen, ASSAY_ENOMEM, "out of memory");
	json_decref(manifest);
out:
	free(txs);
	json_decref(nodes);
	json_decref(workers);
	json_decref(balances);
	json_decref(base);
	json_decref(genesis);
	return rc;
}

/* ---- commands ---- */

static int uint_opt(const struct cli_ctx *ctx, const char *name, unsigned dflt, unsigned least, unsigned most,
		    unsigned *out)
{
	uint32_t v;
	int rc = cli_u32_opt(ctx, name, dflt, least, &v);
	if (rc)
		return rc;
	if (v > most)
		return cli_fail(CLI_EUSAGE, "bad --%s %u: at most %u", name, v, most);
	*out = v;
	return CLI_OK;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --stake ASY as genesis voting power: whole ASY, at least 1 (absent: dflt). */
static int stake_opt(const struct cli_ctx *ctx, uint64_t dflt, uint64_t *power)
{
	uint64_t units;
	int rc = cli_amount_opt(ctx, "stake", dflt * CLI_STAKE_UNIT, &units);
	if (rc)
		return rc;
	if (units == 0 || units % CLI_STAKE_UNIT)
		return cli_fail(CLI_EUSAGE, "--stake is voting power: a whole number of ASY, at least 1");
	*power = units / CLI_STAKE_UNIT;
	return CLI_OK;
}

/* The network a testnet command makes: -network when given on the command
 * line (local or testnet), else dflt. */
static int testnet_network(const struct cli_ctx *ctx, const char *dflt, const char **out)
{
	*out = ctx->given & CLI_SET_NETWORK ? ctx->network : dflt;
	if (strcmp(*out, "local") && strcmp(*out, "testnet"))
		return cli_fail(CLI_EUSAGE, "--network %s: a testnet is local or testnet", *out);
	return CLI_OK;
}

int cli_cmd_testnet_init(struct cli_ctx *ctx)
{
	struct cli_testnet_plan p;
	char err[CLI_PATH_MAX + 256], pass_hex[33];
	uint8_t pass[16];
	uint32_t block_ms;
	int rc;
	memset(&p, 0, sizeof(p));
	p.dir = cli_opt(ctx, "dir");
	p.chain = cli_opt(ctx, "chain");
	if (!p.dir || !cli_opt(ctx, "validators"))
		return cli_fail(CLI_EUSAGE, "testnet init needs --validators N --dir DIR");
	if ((rc = testnet_network(ctx, "local", &p.network)) ||
	    (rc = uint_opt(ctx, "validators", 0, 1, CLI_TESTNET_MAX_NODES, &p.validators)) ||
	    (rc = uint_opt(ctx, "followers", 0, 0, CLI_TESTNET_MAX_NODES, &p.followers)) ||
	    (rc = uint_opt(ctx, "workers", 0, 0, CLI_TESTNET_MAX_WORKERS, &p.workers)) ||
	    (rc = uint_opt(ctx, "base-port", CLI_TESTNET_BASE_PORT, 1024, 65535, &p.base_port)) ||
	    (rc = stake_opt(ctx, CLI_TESTNET_STAKE, &p.stake)) ||
	    (rc = cli_u32_opt(ctx, "block-time", 0, 1, &block_ms)))
		return rc;
	if (p.chain && (!*p.chain || strlen(p.chain) > 63))
		return cli_fail(CLI_EUSAGE, "--chain is 1 to 63 characters");
	p.block_time_ms = block_ms;
	p.fund = CLI_TESTNET_FUND;
	p.faucet = CLI_TESTNET_FAUCET;
	p.time_ms = wall_ms();
	randombytes_buf(pass, sizeof(pass));
	hex_encode(pass, sizeof(pass), pass_hex);
	p.passphrase = pass_hex;
	rc = cli_testnet_init_dir(&p, err, sizeof(err));
	sodium_memzero(pass_hex, sizeof(pass_hex));
	if (rc)
		return cli_fail(rc == ASSAY_EARG ? CLI_EUSAGE : CLI_EFAIL, "%s", err);
	char manifest[CLI_PATH_MAX + 32];
	snprintf(manifest, sizeof(manifest), "%s/testnet.json", p.dir);
	json_t *m = json_load_file(manifest, 0, NULL);
	if (!m)
		return cli_fail(CLI_EFAIL, "cannot read back %s", manifest);
	if (ctx->json) {
		cli_emit(ctx, m, "%s", "");
		return CLI_OK;
	}
	char followers[48] = "";
	if (p.followers)
		snprintf(followers, sizeof(followers), ", %u follower%s", p.followers,
			 p.followers == 1 ? "" : "s");
	printf("testnet of %u validator%s%s and %u worker%s written to %s (network %s, chain %s)\n",
	       p.validators, p.validators == 1 ? "" : "s", followers, p.workers, p.workers == 1 ? "" : "s",
	       p.dir, p.network, json_string_value(json_object_get(m, "chain")));
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(m, "nodes"), i, e)
		printf("  %-8s rpc 127.0.0.1:%lld  p2p 127.0.0.1:%lld  %s %s\n",
		       json_string_value(json_object_get(e, "name")),
		       json_integer_value(json_object_get(e, "rpcport")),
		       json_integer_value(json_object_get(e, "port")),
		       json_is_true(json_object_get(e, "validator")) ? "validator" : "follower ",
		       json_string_value(json_object_get(e, "pubkey")));
	json_array_foreach(json_object_get(m, "workers"), i, e)
		printf("  %-8s through %s, output server %s\n", json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "node")),
		       json_string_value(json_object_get(e, "listen")));
	printf("  faucet   wallet 'faucet' in %s/node0 (passphrase in %s/passphrase): %s\n"
	       "start it with: scripts/localnet up %s\n",
	       p.dir, p.dir, json_string_value(json_object_get(json_object_get(m, "faucet"), "address")),
	       p.dir);
	json_decref(m);
	return CLI_OK;
}

int cli_cmd_testnet_gentx(struct cli_ctx *ctx)
{
	const char *from = cli_opt(ctx, "from"), *network, *out = cli_opt(ctx, "out");
	char keypath[CLI_PATH_MAX], path[CLI_PATH_MAX], err[CLI_PATH_MAX + 256], dir[CLI_PATH_MAX];
	struct cli_gentx g;
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN];
	int rc;
	if (!from || !cli_opt(ctx, "stake"))
		return cli_fail(CLI_EUSAGE, "testnet gentx needs --from NAME --stake ASY");
	memset(&g, 0, sizeof(g));
	if ((rc = testnet_network(ctx, "testnet", &network)) || (rc = stake_opt(ctx, 0, &g.stake)))
		return rc;
	const char *chain = cli_opt(ctx, "chain");
	if (chain && (!*chain || strlen(chain) >= sizeof(g.chain)))
		return cli_fail(CLI_EUSAGE, "--chain is 1 to %zu characters", sizeof(g.chain) - 1);
	snprintf(g.chain, sizeof(g.chain), "%s",
		 chain                      ? chain
		 : strcmp(network, "local") ? "assay-testnet"
					    : "assay-local");
	snprintf(g.network, sizeof(g.network), "%s", network);
	if ((rc = cli_validator_resolve(ctx, from, keypath, sizeof(keypath))))
		return rc;
	if (cli_validator_key_read(keypath, pk, sk, err, sizeof(err)) != 0)
		return cli_fail(CLI_EFAIL, "%s", err);
	cli_gentx_sign(&g, sk);
	sodium_memzero(sk, sizeof(sk));
	if (!out) {
		const char *base = strrchr(from, '/') ? strrchr(from, '/') + 1 : from;
		size_t n = strcspn(base, ".");
		snprintf(dir, sizeof(dir), "%s/gentx", ctx->datadir);
		if (mkdir(ctx->datadir, 0700) != 0 && errno != EEXIST)
			return cli_fail(CLI_EFAIL, "cannot create %s: %s", ctx->datadir, strerror(errno));
		if (make_dir(dir, err, sizeof(err)) != 0)
			return cli_fail(CLI_EFAIL, "%s", err);
		snprintf(path, sizeof(path), "%s/%.*s.json", dir, (int)(n ? n : 1), n ? base : "x");
		out = path;
	} else if (strrchr(out, '/')) { /* the folder an --out names is made if absent, as the default's */
		size_t n = (size_t)(strrchr(out, '/') - out);
		snprintf(dir, sizeof(dir), "%.*s", (int)(n < sizeof(dir) ? n : sizeof(dir) - 1), out);
		if (n && make_dir(dir, err, sizeof(err)) != 0)
			return cli_fail(CLI_EFAIL, "%s", err);
	}
	json_t *j = cli_gentx_to_json(&g);
	if (!j)
		return cli_fail(CLI_EFAIL, "out of memory");
	rc = write_json_new(out, j, 0, err, sizeof(err));
	if (rc) {
		json_decref(j);
		return cli_fail(CLI_EFAIL, "%s%s", err, rc == ASSAY_EEXISTS ? " (nothing was changed)" : "");
	}
	char stake[AMOUNT_STR_MAX];
	amount_format(g.stake * CLI_STAKE_UNIT, stake); /* stake_opt bounds it */
	json_object_set_new(j, "file", json_string(out));
	cli_emit(ctx, j,
		 "gentx for chain %s (%s): validator %s, stake %s ASY\nwritten to %s (public keys only: send "
		 "it to "
		 "the coordinator, who runs assay-cli testnet collect)\n",
		 g.chain, g.network, json_string_value(json_object_get(j, "pubkey")), stake, out);
	return CLI_OK;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_json_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

int cli_cmd_testnet_collect(struct cli_ctx *ctx)
{
	const char *dir = ctx->args[0], *out = cli_opt(ctx, "out"), *base_path = cli_opt(ctx, "base");
	const char *time_text = cli_opt(ctx, "time-ms");
	char err[CLI_PATH_MAX + 256], path[CLI_PATH_MAX];
	struct dirent **names = NULL;
	struct cli_gentx *txs = NULL;
	json_t *base = NULL, *genesis = NULL;
	uint64_t fund, time_ms = wall_ms();
	int rc;
	if ((rc = cli_amount_opt(ctx, "fund", CLI_TESTNET_FUND, &fund)))
		return rc;
	if (time_text) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(time_text, &end, 10);
		if (!*time_text || *end || *time_text == '-' || errno)
			return cli_fail(CLI_EUSAGE, "bad --time-ms '%s': milliseconds since 1970", time_text);
		time_ms = v;
	}
	if (base_path) {
		json_error_t jerr;
		if (!(base = json_load_file(base_path, JSON_REJECT_DUPLICATES, &jerr)))
			return cli_fail(CLI_EFAIL, "%s: %s (line %d)", base_path, jerr.text, jerr.line);
	}
	int n = scandir(dir, &names, is_json_name, by_name);
	if (n < 0) {
		json_decref(base);
		return cli_fail(CLI_EFAIL, "cannot read %s: %s", dir, strerror(errno));
	}
	txs = calloc(n ? (size_t)n : 1, sizeof(*txs));
	if (!txs)
		rc = cli_fail(CLI_EFAIL, "out of memory");
	for (int i = 0; i < n && !rc; i++) {
		json_error_t jerr;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
		if (!j)
			rc = cli_fail(CLI_EFAIL, "%s: not JSON (%s)", path, jerr.text);
		else if (cli_gentx_from_json(j, &txs[i], err, sizeof(err)) != 0)
			rc = cli_fail(CLI_EFAIL, "%s: %s; no genesis was written", path, err);
		json_decref(j);
	}
	if (!rc && cli_testnet_collect(txs, (size_t)n, base, fund, time_ms, &genesis, err, sizeof(err)) != 0)
		rc = cli_fail(CLI_EFAIL, "%s; no genesis was written", err);
	if (!rc) {
		if (!out)
			out = "genesis.json";
		int w = write_json_new(out, genesis, 0, err, sizeof(err));
		if (w)
			rc = cli_fail(CLI_EFAIL, "%s%s", err,
				      w == ASSAY_EEXISTS ? " (nothing was changed)" : "");
	}
	if (!rc) {
		uint64_t total = 0;
		for (int i = 0; i < n; i++)
			total += txs[i].stake; /* bounded by collect */
		char stake[AMOUNT_STR_MAX];
		amount_format(total * CLI_STAKE_UNIT, stake); /* below 2^63: collect checked */
		cli_emit(ctx,
			 json_pack("{s:s, s:s, s:s, s:i, s:I}", "file", out, "chain", txs[0].chain, "network",
				   txs[0].network, "validators", n, "total_stake", (json_int_t)total),
			 "genesis for chain %s (%s) written to %s: %d validator%s, total stake %s ASY\n",
			 txs[0].chain, txs[0].network, out, n, n == 1 ? "" : "s", stake);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(txs);
	json_decref(base);
	json_decref(genesis);
	return rc;
}
