/* Genesis parsing and its canonical hash (see genesis.h). The chain_id is
 * the hash of a binary encoding of the parsed content, never of the JSON
 * text, so whitespace or key order in the file cannot fork a network. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/ledger.h"
#include "core/network.h"
#include "consensus/validators.h"
#include "node/genesis.h"

void genesis_dev_key(uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN])
{
	static const char label[] = "assay/dev-key/0";
	uint8_t seed[SEED_LEN];
	sha256(label, sizeof(label) - 1, seed);
	key_from_seed(seed, pk, sk);
}

void genesis_dev_worker_key(uint8_t pk[PUBKEY_LEN], uint8_t sk[SECKEY_LEN])
{
	static const char label[] = "assay/dev-worker/0";
	uint8_t seed[SEED_LEN];
	sha256(label, sizeof(label) - 1, seed);
	key_from_seed(seed, pk, sk);
}

void genesis_free(struct genesis *g)
{
	free(g->allocs);
	free(g->validators);
	memset(g, 0, sizeof(*g));
}

static int set_network(struct genesis *g, const char *name)
{
	const struct network_info *info = network_find(name);
	if (!info)
		return ASSAY_EARG;
	g->net = info->family;
	snprintf(g->network_name, sizeof(g->network_name), "%s", name);
	return 0;
}

static int cmp_alloc(const void *a, const void *b);

int genesis_dev(struct genesis *g)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->chain, sizeof(g->chain), "assay-dev");
	set_network(g, "dev");
	g->time_ms = 1764547200000ull; /* 2025-12-01T00:00:00Z: fixed, so every dev chain has one id */
	chain_params_default(&g->params, 1);
	compute_params_default(&g->compute);
	uint8_t pk[PUBKEY_LEN], sk[SECKEY_LEN], wpk[PUBKEY_LEN], wsk[SECKEY_LEN];
	genesis_dev_key(pk, sk);
	genesis_dev_worker_key(wpk, wsk);
	g->allocs = calloc(2, sizeof(*g->allocs));
	g->validators = calloc(1, sizeof(*g->validators));
	if (!g->allocs || !g->validators) {
		genesis_free(g);
		return ASSAY_ENOMEM;
	}
	address_from_pubkey(pk, g->allocs[0].addr);
	g->allocs[0].amount = GENESIS_DEV_FUNDS;
	address_from_pubkey(wpk, g->allocs[1].addr);
	g->allocs[1].amount = GENESIS_DEV_WORKER_FUNDS;
	g->nallocs = 2;
	qsort(g->allocs, g->nallocs, sizeof(*g->allocs), cmp_alloc);
	memcpy(g->validators[0].pubkey, pk, PUBKEY_LEN);
	g->validators[0].stake = 1000;
	g->nvalidators = 1;
	genesis_finish(g);
	return 0;
}

/* A u64 from a JSON integer (>= 0) or a string of decimal digits only
 * (docs/protocol.md §7): strtoull alone would also take " 5", "+5" and
 * " -1", the last wrapped to 2^64 - 1. */
static int json_u64(json_t *v, uint64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (x < 0)
			return -1;
		*out = (uint64_t)x;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		if (!*s || strspn(s, "0123456789") != strlen(s))
			return -1;
		errno = 0;
		unsigned long long x = strtoull(s, &end, 10);
		if (*end || errno == ERANGE)
			return -1;
		*out = x;
		return 0;
	}
	return -1;
}

#define FAIL(...)                                        \
	do {                                             \
		snprintf(err, errlen, __VA_ARGS__);      \
		goto fail;                               \
	} while (0)

static int cmp_alloc(const void *a, const void *b)
{
	return memcmp(((const struct genesis_alloc *)a)->addr, ((const struct genesis_alloc *)b)->addr,
		      ADDR_LEN);
}

static int cmp_validator(const void *a, const void *b)
{
	return memcmp(((const struct genesis_validator *)a)->pubkey,
		      ((const struct genesis_validator *)b)->pubkey, PUBKEY_LEN);
}

static const struct {
	const char *name;
	size_t off;
	int is32;
} param_fields[] = {
	{"block_time_ms", offsetof(struct chain_params, block_time_ms), 0},
	{"max_block_txs", offsetof(struct chain_params, max_block_txs), 1},
	{"max_block_bytes", offsetof(struct chain_params, max_block_bytes), 0},
	{"max_tx_bytes", offsetof(struct chain_params, max_tx_bytes), 1},
	{"max_block_gas", offsetof(struct chain_params, max_block_gas), 0},
	{"min_fee", offsetof(struct chain_params, min_fee), 0},
	{"gas_price", offsetof(struct chain_params, gas_price), 0},
	{"max_future_ms", offsetof(struct chain_params, max_future_ms), 0},
	{"min_validator_bond", offsetof(struct chain_params, min_validator_bond), 0},
	{"unbonding_period", offsetof(struct chain_params, unbonding_period), 1},
	{"evidence_max_age", offsetof(struct chain_params, evidence_max_age), 1},
	{"evidence_slash_bps", offsetof(struct chain_params, evidence_slash_bps), 1},
	{"jail_blocks", offsetof(struct chain_params, jail_blocks), 1},
	{"downtime_window", offsetof(struct chain_params, downtime_window), 1},
	{"downtime_max_missed", offsetof(struct chain_params, downtime_max_missed), 1},
	{"timeout_propose_ms", offsetof(struct chain_params, timeout_propose_ms), 0},
	{"timeout_propose_delta_ms", offsetof(struct chain_params, timeout_propose_delta_ms), 0},
	{"timeout_prevote_ms", offsetof(struct chain_params, timeout_prevote_ms), 0},
	{"timeout_prevote_delta_ms", offsetof(struct chain_params, timeout_prevote_delta_ms), 0},
	{"timeout_precommit_ms", offsetof(struct chain_params, timeout_precommit_ms), 0},
	{"timeout_precommit_delta_ms", offsetof(struct chain_params, timeout_precommit_delta_ms), 0},
};

static int parse_params(struct chain_params *p, json_t *obj, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		size_t i, n = sizeof(param_fields) / sizeof(param_fields[0]);
		for (i = 0; i < n && strcmp(param_fields[i].name, key) != 0; i++)
			;
		uint64_t x;
		if (i == n) {
			snprintf(err, errlen, "genesis: unknown parameter \"%s\"", key);
			return ASSAY_EDECODE;
		}
		if (json_u64(v, &x) < 0 || (param_fields[i].is32 && x > UINT32_MAX) || x == 0) {
			snprintf(err, errlen, "genesis: parameter \"%s\" must be a positive integer", key);
			return ASSAY_EDECODE;
		}
		if (param_fields[i].is32)
			*(uint32_t *)((char *)p + param_fields[i].off) = (uint32_t)x;
		else
			*(uint64_t *)((char *)p + param_fields[i].off) = x;
	}
	char why[160];
	if (chain_params_check(p, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "genesis: %s", why);
		return ASSAY_EDECODE;
	}
	return 0;
}

int genesis_parse(struct genesis *g, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	memset(g, 0, sizeof(*g));
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "genesis: JSON error at line %d: %s", jerr.line, jerr.text);
		return ASSAY_EDECODE;
	}
	json_t *chain = json_object_get(root, "chain");
	json_t *network = json_object_get(root, "network");
	json_t *time = json_object_get(root, "time_ms");
	json_t *balances = json_object_get(root, "balances");
	json_t *validators = json_object_get(root, "validators");
	json_t *params = json_object_get(root, "params");
	json_t *compute = json_object_get(root, "compute");
	uint64_t t;
	if (!json_is_string(chain) || json_string_length(chain) == 0 ||
	    json_string_length(chain) >= sizeof(g->chain))
		FAIL("genesis: \"chain\" must be a string of 1 to %zu characters", sizeof(g->chain) - 1);
	snprintf(g->chain, sizeof(g->chain), "%s", json_string_value(chain));
	if (!json_is_string(network) || set_network(g, json_string_value(network)) < 0)
		FAIL("genesis: \"network\" must be one of dev, local, testnet, main");
	if (json_u64(time, &t) < 0)
		FAIL("genesis: \"time_ms\" must be a non-negative integer");
	g->time_ms = t;
	chain_params_default(&g->params, g->net == NET_DEV);
	if (params && (!json_is_object(params) || parse_params(&g->params, params, err, errlen) < 0)) {
		if (!json_is_object(params))
			snprintf(err, errlen, "genesis: \"params\" must be an object");
		goto fail;
	}
	compute_params_default(&g->compute);
	if (compute) {
		const char *key;
		json_t *v;
		if (!json_is_object(compute))
			FAIL("genesis: \"compute\" must be an object");
		json_object_foreach(compute, key, v) {
			uint64_t x;
			int rc = json_u64(v, &x) < 0 ? ASSAY_EARG : compute_params_set(&g->compute, key, x);
			if (rc == ASSAY_EARG && json_u64(v, &x) == 0)
				FAIL("genesis: unknown compute parameter \"%s\"", key);
			if (rc)
				FAIL("genesis: compute parameter \"%s\" is not a valid value", key);
		}
	}
	if (!json_is_array(balances) || json_array_size(balances) > GENESIS_MAX_ALLOCS)
		FAIL("genesis: \"balances\" must be an array of at most %d entries", GENESIS_MAX_ALLOCS);
	if (!json_is_array(validators) || json_array_size(validators) == 0 ||
	    json_array_size(validators) > GENESIS_MAX_VALIDATORS)
		FAIL("genesis: \"validators\" must be an array of 1 to %d entries", GENESIS_MAX_VALIDATORS);
	g->nallocs = json_array_size(balances);
	g->nvalidators = json_array_size(validators);
	g->allocs = calloc(g->nallocs ? g->nallocs : 1, sizeof(*g->allocs));
	g->validators = calloc(g->nvalidators, sizeof(*g->validators));
	if (!g->allocs || !g->validators)
		FAIL("genesis: out of memory");
	uint64_t total = 0, total_stake = 0;
	for (size_t i = 0; i < g->nallocs; i++) {
		json_t *e = json_array_get(balances, i);
		json_t *a = json_object_get(e, "address");
		enum network net;
		if (!json_is_string(a) || address_decode(json_string_value(a), &net, g->allocs[i].addr) < 0 ||
		    net != g->net)
			FAIL("genesis: balances[%zu].address is not a valid %s address", i,
			     network_hrp(g->net));
		if (json_u64(json_object_get(e, "amount"), &g->allocs[i].amount) < 0)
			FAIL("genesis: balances[%zu].amount must be an integer of base units", i);
		if (amount_add(total, g->allocs[i].amount, &total) || total > (uint64_t)INT64_MAX)
			FAIL("genesis: total supply exceeds 2^63-1 base units");
	}
	for (size_t i = 0; i < g->nvalidators; i++) {
		json_t *e = json_array_get(validators, i);
		json_t *pk = json_object_get(e, "pubkey");
		if (!json_is_string(pk) ||
		    hex_decode(json_string_value(pk), g->validators[i].pubkey, PUBKEY_LEN) != PUBKEY_LEN)
			FAIL("genesis: validators[%zu].pubkey must be 64 hex digits", i);
		if (json_u64(json_object_get(e, "stake"), &g->validators[i].stake) < 0 ||
		    g->validators[i].stake == 0)
			FAIL("genesis: validators[%zu].stake must be a positive integer", i);
		if (amount_add(total_stake, g->validators[i].stake, &total_stake) || total_stake > (uint64_t)INT64_MAX)
			FAIL("genesis: total stake exceeds 2^63-1");
	}
	/* Each validator's stake becomes a bond of stake x 10^9 base units
	 * (protocol §10.1), which the supply counts. */
	if (total_stake > ((uint64_t)INT64_MAX - total) / VALIDATOR_POWER_UNIT)
		FAIL("genesis: total supply with the validators' bonds (stake x 10^9) exceeds 2^63-1 base units");
	qsort(g->allocs, g->nallocs, sizeof(*g->allocs), cmp_alloc);
	qsort(g->validators, g->nvalidators, sizeof(*g->validators), cmp_validator);
	for (size_t i = 1; i < g->nallocs; i++)
		if (memcmp(g->allocs[i - 1].addr, g->allocs[i].addr, ADDR_LEN) == 0)
			FAIL("genesis: an address appears twice in balances");
	for (size_t i = 1; i < g->nvalidators; i++)
		if (memcmp(g->validators[i - 1].pubkey, g->validators[i].pubkey, PUBKEY_LEN) == 0)
			FAIL("genesis: a validator appears twice");
	json_decref(root);
	genesis_finish(g);
	return 0;
fail:
	json_decref(root);
	genesis_free(g);
	return ASSAY_EDECODE;
}

int genesis_load_file(struct genesis *g, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open genesis file %s", path);
		return ASSAY_EIO;
	}
	struct buf b;
	buf_init(&b);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (64u << 20))
		buf_put(&b, chunk, n);
	fclose(f);
	int rc = genesis_parse(g, (const char *)b.data, b.len, err, errlen);
	buf_free(&b);
	return rc;
}

void genesis_finish(struct genesis *g)
{
	struct buf b;
	buf_init(&b);
	buf_put_bytes(&b, g->chain, strlen(g->chain));
	buf_put_bytes(&b, g->network_name, strlen(g->network_name));
	buf_put_u64(&b, g->time_ms);
	const struct chain_params *p = &g->params;
	buf_put_u64(&b, p->block_time_ms);
	buf_put_u32(&b, p->max_block_txs);
	buf_put_u64(&b, p->max_block_bytes);
	buf_put_u32(&b, p->max_tx_bytes);
	buf_put_u64(&b, p->max_block_gas);
	buf_put_u64(&b, p->min_fee);
	buf_put_u64(&b, p->gas_price);
	buf_put_u64(&b, p->max_future_ms);
	buf_put_u64(&b, p->min_validator_bond);
	buf_put_u32(&b, p->unbonding_period);
	buf_put_u32(&b, p->evidence_max_age);
	buf_put_u32(&b, p->evidence_slash_bps);
	buf_put_u32(&b, p->jail_blocks);
	buf_put_u32(&b, p->downtime_window);
	buf_put_u32(&b, p->downtime_max_missed);
	buf_put_u64(&b, p->timeout_propose_ms);
	buf_put_u64(&b, p->timeout_propose_delta_ms);
	buf_put_u64(&b, p->timeout_prevote_ms);
	buf_put_u64(&b, p->timeout_prevote_delta_ms);
	buf_put_u64(&b, p->timeout_precommit_ms);
	buf_put_u64(&b, p->timeout_precommit_delta_ms);
	const struct compute_params *cp = &g->compute;
	buf_put_u32(&b, cp->samples_k);
	buf_put_u32(&b, cp->max_dim);
	buf_put_u64(&b, cp->max_output_bytes);
	buf_put_u32(&b, cp->reveal_window);
	buf_put_u32(&b, cp->dispute_window);
	buf_put_u32(&b, cp->commit_window);
	buf_put_u64(&b, cp->min_reward);
	buf_put_u64(&b, cp->min_bond);
	buf_put_u64(&b, cp->max_blob_bytes);
	buf_put_u32(&b, cp->slash_bps);
	buf_put_u32(&b, cp->slash_submitter_bps);
	buf_put_u32(&b, cp->missed_deadline_slash_bps);
	buf_put_u64(&b, cp->gas_per_check_unit);
	buf_put_u64(&b, cp->dispute_bond);
	buf_put_u32(&b, cp->bond_reward_bps);
	buf_put_u32(&b, cp->max_live_jobs);
	buf_put_u32(&b, cp->max_workers);
	buf_put_u32(&b, cp->max_jobs_per_worker);
	buf_put_u32(&b, cp->max_deadline_blocks);
	buf_put_u32(&b, cp->unbond_delay);
	buf_put_u32(&b, cp->challenge_delay);
	buf_put_u32(&b, cp->salt_window);
	buf_put_u64(&b, cp->reveal_block_gas);
	buf_put_u32(&b, cp->upload_window); /* output availability (compute.md §15) */
	buf_put_u64(&b, cp->chunk_budget_bytes);
	buf_put_u32(&b, cp->chunk_retention_blocks);
	buf_put_varint(&b, g->nallocs);
	for (size_t i = 0; i < g->nallocs; i++) {
		buf_put(&b, g->allocs[i].addr, ADDR_LEN);
		buf_put_u64(&b, g->allocs[i].amount);
	}
	buf_put_varint(&b, g->nvalidators);
	for (size_t i = 0; i < g->nvalidators; i++) {
		buf_put(&b, g->validators[i].pubkey, PUBKEY_LEN);
		buf_put_u64(&b, g->validators[i].stake);
	}
	hash_tagged("assay/genesis", b.data, b.len, g->hash);
	buf_free(&b);
}

int genesis_copy(struct genesis *dst, const struct genesis *src)
{
	*dst = *src;
	dst->allocs = malloc((src->nallocs ? src->nallocs : 1) * sizeof(*dst->allocs));
	dst->validators = malloc((src->nvalidators ? src->nvalidators : 1) * sizeof(*dst->validators));
	if (!dst->allocs || !dst->validators) {
		free(dst->allocs);
		free(dst->validators);
		memset(dst, 0, sizeof(*dst));
		return ASSAY_ENOMEM;
	}
	memcpy(dst->allocs, src->allocs, src->nallocs * sizeof(*dst->allocs));
	memcpy(dst->validators, src->validators, src->nvalidators * sizeof(*dst->validators));
	return 0;
}

/* The compiled entry parsed, or ASSAY_EDECODE: a build whose shipped file
 * does not parse is a broken build, reported as such. */
static int parse_builtin(const struct network_builtin *b, struct genesis *g, char *err, size_t errlen)
{
	char why[256];
	if (genesis_parse(g, b->genesis_json, b->genesis_len, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "compiled genesis of network %s does not parse: %s", b->name, why);
		return ASSAY_EDECODE;
	}
	return 0;
}

const struct network_builtin *genesis_builtin_of(const struct genesis *g)
{
	for (unsigned i = 0; i < network_builtin_count; i++) {
		struct genesis b;
		char err[512];
		if (parse_builtin(&network_builtins[i], &b, err, sizeof(err)) < 0)
			continue;
		int same = memcmp(b.hash, g->hash, HASH_LEN) == 0;
		genesis_free(&b);
		if (same)
			return &network_builtins[i];
	}
	return NULL;
}

/* A genesis that names a compiled chain must be that chain's genesis. */
static int check_against_builtins(const struct genesis *g, const char *source, char *err, size_t errlen)
{
	for (unsigned i = 0; i < network_builtin_count; i++) {
		struct genesis b;
		int rc = parse_builtin(&network_builtins[i], &b, err, errlen);
		if (rc < 0)
			return rc;
		int clash = strcmp(b.chain, g->chain) == 0 && memcmp(b.hash, g->hash, HASH_LEN) != 0;
		if (clash) {
			char want[2 * HASH_LEN + 1], got[2 * HASH_LEN + 1];
			hex_encode(b.hash, HASH_LEN, want);
			hex_encode(g->hash, HASH_LEN, got);
			snprintf(err, errlen,
				 "genesis %s names chain \"%s\" but its chain id is %s; the compiled %s "
				 "(network %s) has chain id %s: a wrong or altered copy (drop -genesis to use "
				 "the compiled one, or rename the chain of a network of your own)",
				 source, g->chain, got, b.chain, network_builtins[i].name, want);
		}
		genesis_free(&b);
		if (clash)
			return ASSAY_EINVALID;
	}
	return 0;
}

int genesis_select(struct genesis *g, const char *network, const char *file, const char *datadir,
		   char *source, size_t sourcelen, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	if (strcmp(network, "dev") == 0) {
		snprintf(source, sourcelen, "built-in dev genesis");
		return genesis_dev(g) < 0 ? ASSAY_ENOMEM : 0;
	}
	const struct network_builtin *builtin = network_builtin(network);
	int rc;
	char path[1200];
	if (file && *file) {
		snprintf(path, sizeof(path), "%s", file);
	} else {
		snprintf(path, sizeof(path), "%s/genesis.json", datadir);
		FILE *f = fopen(path, "rb");
		if (f)
			fclose(f);
		else if (builtin)
			path[0] = 0; /* nothing on disk: the compiled entry */
	}
	if (path[0]) {
		snprintf(source, sourcelen, "%s", path);
		rc = genesis_load_file(g, path, err, errlen);
		if (rc == ASSAY_EIO && !(file && *file))
			snprintf(err, errlen,
				 "no genesis for network %s: give -genesis=FILE or put one at %s (only "
				 "networks with a compiled entry need none)", network, path);
	} else {
		snprintf(source, sourcelen, "compiled");
		rc = parse_builtin(builtin, g, err, errlen);
	}
	if (rc < 0)
		return rc;
	if (strcmp(g->network_name, network) != 0) {
		snprintf(err, errlen, "genesis %s is for network \"%s\", not \"%s\"", source, g->network_name,
			 network);
		genesis_free(g);
		return ASSAY_EINVALID;
	}
	rc = check_against_builtins(g, source, err, errlen);
	if (rc < 0)
		genesis_free(g);
	return rc;
}
