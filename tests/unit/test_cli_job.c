/* Unit tests of `assay-cli job submit --wait` and `job open` against a
 * hostile fake node (cli_fixture.h): whatever it answers, the CLI acts only
 * on the job its own transaction created, with the spec it submitted, and
 * opens the job's salt only on a record that shows every slot committed as
 * the chain's rules allow (client_job_sealed_check). What the test counts
 * is the job_salt transactions that reach the node: a salt sent early is
 * the secret lost. */
#define _GNU_SOURCE /* strcasestr */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "consensus/compute/compute.h"
#include "consensus/compute/compute_codec.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/tx.h"
#include "tests/unit/cli_fixture.h"
#include "tests/unit/test.h"
#include "wallet/cli.h"

#define SUBMIT_HEIGHT 11

static char tmpdir[256];

/* How the fake node lies about the job once it is submitted. */
enum lie {
	LIE_NONE,          /* an honest record, sealed at SUBMIT_HEIGHT + 4 */
	LIE_RECEIPT_ID,    /* the job_submit's receipt names another job */
	LIE_RECORD_ID,     /* getjob answers with another job's record */
	LIE_SPEC,          /* the record carries another spec */
	LIE_SLOT_ASSIGNED, /* "sealed", with a slot still to commit */
	LIE_SEALED_EARLY,  /* sealed before a slot could have been drawn */
	LIE_NOT_SEALED,    /* the truth before the workers commit: no seal */
};

static struct {
	struct fake_rpc rpc;
	char expect_auth[64];
	uint8_t genesis[HASH_LEN];
	struct tx sent; /* the last transaction sendrawtransaction got */
	int have_sent;
	enum lie lie;
	int submitted;          /* a job_submit arrived: rec holds the job */
	int salts;              /* job_salt transactions received */
	uint8_t job_id[HASH_LEN]; /* the job the job_submit creates */
	struct job_record rec;  /* what getjob answers */
} fake;

/* The record of the job tx (a job_submit) creates, as the lie wants it. */
static void make_record(const struct tx *t)
{
	struct job_record *j = &fake.rec;
	uint8_t sender[ADDR_LEN];
	memset(j, 0, sizeof(*j));
	address_from_pubkey(t->sender, sender);
	compute_job_id(sender, t->nonce, fake.job_id);
	memcpy(j->id, fake.job_id, HASH_LEN);
	memcpy(j->submitter, sender, ADDR_LEN);
	fake.submitted = compute_spec_decode(&j->spec, t->payload, t->payload_len) == 0;
	j->state = JOB_COMMITTED;
	j->submit_height = SUBMIT_HEIGHT;
	j->deadline_height = SUBMIT_HEIGHT + j->spec.deadline_blocks;
	j->sealed_height = SUBMIT_HEIGHT + 4;
	for (unsigned i = 0; i < j->spec.redundancy; i++) {
		struct job_slot *s = &j->slots[i];
		s->state = SLOT_COMMITTED;
		memset(s->worker, 0x55 + (int)i, ADDR_LEN);
		s->assigned_height = SUBMIT_HEIGHT + 2;
		s->commit_height = SUBMIT_HEIGHT + 4;
		memset(s->commitment, 0x66, HASH_LEN);
	}
	switch (fake.lie) {
	case LIE_RECORD_ID: j->id[0] ^= 1; break;
	case LIE_SPEC: j->spec.reward += 1; break;
	case LIE_SLOT_ASSIGNED:
		j->slots[0].state = SLOT_ASSIGNED;
		j->slots[0].commit_height = 0;
		break;
	case LIE_SEALED_EARLY:
		j->sealed_height = j->slots[0].commit_height = SUBMIT_HEIGHT + 1;
		j->slots[0].assigned_height = SUBMIT_HEIGHT;
		break;
	case LIE_NOT_SEALED:
		j->state = JOB_ASSIGNED;
		j->sealed_height = 0;
		j->slots[0].state = SLOT_ASSIGNED;
		j->slots[0].commit_height = 0;
		break;
	default: break;
	}
}

static json_t *height_or_null(uint64_t h)
{
	return h ? json_integer((json_int_t)h) : json_null();
}

/* getjob: the record, and beside it the JSON fields an older CLI read */
static json_t *job_reply(void)
{
	struct buf b;
	char id[2 * HASH_LEN + 1];
	buf_init(&b);
	compute_job_encode(&fake.rec, &b);
	char *hex = malloc(2 * b.len + 1);
	hex_encode(b.data, b.len, hex);
	hex_encode(fake.rec.id, HASH_LEN, id);
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:o, s:n, s:n}", "job_id", id, "record", hex, "state",
			      fake.salts ? "verified" : "committed", "height", SUBMIT_HEIGHT + 5, "sealed_height",
			      height_or_null(fake.rec.sealed_height), "challenge_height", "salt");
	free(hex);
	buf_free(&b);
	return j;
}

static char *fake_reply(const char *method, json_t *params)
{
	json_t *result = NULL, *error = NULL;
	char genesis[2 * HASH_LEN + 1];
	hex_encode(fake.genesis, HASH_LEN, genesis);
	if (strcmp(method, "getchainparams") == 0) {
		result = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "chain",
				   "assay-dev", "network", "dev", "hrp", "dassay", "chain_id", genesis, "block_time_ms",
				   500, "max_block_txs", 5000, "max_block_bytes", 4194304, "max_tx_bytes", 1048576,
				   "max_block_gas", 100000000, "min_fee", 1000, "gas_price", 1, "max_future_ms", 15000);
	} else if (strcmp(method, "getcomputeparams") == 0) {
		result = json_pack("{s:i, s:i, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "samples_k", 2,
				   "max_dim", 4096, "max_output_bytes", (json_int_t)1 << 30, "max_blob_bytes",
				   (json_int_t)1 << 20, "commit_window", 10, "reveal_window", 5, "max_deadline_blocks",
				   1000, "min_reward", 1, "challenge_delay", 2, "salt_window", 5, "upload_window", 5,
				   "dispute_window", 3, "gas_per_check_unit", 1);
	} else if (strcmp(method, "getaccount") == 0) {
		result = json_pack("{s:O, s:I, s:i, s:i, s:n}", "address", json_array_get(params, 0), "balance",
				   (json_int_t)12500000000ll, "nonce", 3, "pending_nonce", 4, "code_hash");
	} else if (strcmp(method, "simulatetransaction") == 0) {
		result = json_pack("{s:b, s:b, s:n, s:i, s:i, s:n, s:[]}", "valid", 1, "ok", 1, "error", "gas_used",
				   0, "fee", 100000, "created", "events");
	} else if (strcmp(method, "sendrawtransaction") == 0) {
		result = fake_rpc_take_tx(json_string_value(json_array_get(params, 0)), &fake.sent, &fake.have_sent);
		if (!result)
			error = json_pack("{s:i, s:s}", "code", -22, "message", "TX decode failed");
		else if (fake.sent.kind == TX_JOB_SUBMIT)
			make_record(&fake.sent);
		else if (fake.sent.kind == TX_JOB_SALT)
			fake.salts++;
	} else if (strcmp(method, "gettransaction") == 0) {
		uint8_t id[HASH_LEN];
		char hex[2 * HASH_LEN + 1];
		memcpy(id, fake.job_id, HASH_LEN);
		if (fake.lie == LIE_RECEIPT_ID)
			id[HASH_LEN - 1] ^= 0x80;
		hex_encode(id, HASH_LEN, hex);
		result = json_pack("{s:O, s:s, s:i, s:i, s:s, s:{s:b, s:n, s:i, s:[], s:s}}", "txid",
				   json_array_get(params, 0), "status", "committed", "height", SUBMIT_HEIGHT, "index",
				   0, "kind", "job_submit", "result", "ok", 1, "error", "gas_used", 0, "events", "job_id",
				   hex);
	} else if (strcmp(method, "getjob") == 0 && fake.submitted) {
		result = job_reply();
	} else {
		error = json_pack("{s:i, s:s}", "code", -32601, "message", "Method not found");
	}
	return fake_rpc_reply_text(result, error);
}

/* Runs assay-cli with -datadir and -rpcport pointing at the fake node. */
static int run_cli(const char *first, ...) __attribute__((sentinel));
static int run_cli(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = cli_run_at(tmpdir, fake.rpc.port, first, ap);
	va_end(ap);
	return rc;
}

/* job submit --wait under lie: its exit code; fake.salts says what leaked. */
static int submit_under(enum lie lie)
{
	fake.lie = lie;
	fake.submitted = fake.salts = 0;
	return run_cli("job", "submit", "--from=alice", "--kind=matmul-i8", "--m=16", "--n=16", "--k=8",
		       "--tile-rows=8", "--tile-cols=8", "--reward=2", "--wait", "--timeout=5", NULL);
}

static void test_submit_wait(void)
{
	/* the honest record: the salt is opened once, the job followed to the end */
	CHECK_EQ_INT(submit_under(LIE_NONE), CLI_OK);
	CHECK_EQ_INT(fake.salts, 1);
	if (fake.have_sent) {
		struct job_salt_payload sp;
		CHECK(compute_salt_decode(&sp, fake.sent.payload, fake.sent.payload_len) == 0 &&
		      memcmp(sp.job_id, fake.rec.id, HASH_LEN) == 0);
	}
	/* with blobs, the job_submit takes the nonce after theirs (--nonce
	 * names the first): the id the CLI expects is that transaction's */
	char a[300], b[300];
	uint8_t zeros[128] = {0};
	snprintf(a, sizeof(a), "%s/a.bin", tmpdir);
	snprintf(b, sizeof(b), "%s/b.bin", tmpdir);
	FILE *fa = fopen(a, "wb"), *fb = fopen(b, "wb");
	CHECK(fa && fb && fwrite(zeros, 1, 128, fa) == 128 && fwrite(zeros, 1, 128, fb) == 128);
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	char ia[320], ib[320];
	snprintf(ia, sizeof(ia), "--input-blob=%s", a);
	snprintf(ib, sizeof(ib), "--input-blob=%s", b);
	fake.lie = LIE_NONE;
	fake.submitted = fake.salts = 0;
	CHECK_EQ_INT(run_cli("job", "submit", "--from=alice", "--kind=matmul-i8", "--m=16", "--n=16", "--k=8",
			     "--tile-rows=8", "--tile-cols=8", "--reward=2", "--nonce=7", ia, ib, "--wait",
			     "--timeout=5", NULL),
		     CLI_OK);
	CHECK(fake.submitted && fake.rec.spec.input_kind == JOB_INPUT_BLOBS);
	CHECK_EQ_INT(fake.salts, 1);
	CHECK(fake.have_sent && fake.sent.nonce == 10); /* blobs 7 and 8, the job 9, its salt 10 */

	/* every lie: refused, and no salt reaches the node */
	static const enum lie lies[] = {LIE_RECEIPT_ID, LIE_RECORD_ID, LIE_SPEC, LIE_SLOT_ASSIGNED, LIE_SEALED_EARLY};
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		CHECK_EQ_INT(submit_under(lies[i]), CLI_EFAIL);
		CHECK_EQ_INT(fake.salts, 0);
	}
}

/* job open: refused on a record that is not sealed (the chain would refuse
 * the job_salt too, but the node would have the salt), sent with --force
 * and on a sealed record. */
static void test_open(void)
{
	char id[2 * HASH_LEN + 1];
	CHECK_EQ_INT(submit_under(LIE_NOT_SEALED), CLI_ETIMEOUT); /* never sealed: waits it out */
	CHECK_EQ_INT(fake.salts, 0);
	hex_encode(fake.rec.id, HASH_LEN, id);
	CHECK_EQ_INT(run_cli("job", "open", id, "--from=alice", NULL), CLI_EFAIL);
	CHECK_EQ_INT(fake.salts, 0);
	CHECK_EQ_INT(run_cli("job", "open", id, "--from=alice", "--force", NULL), CLI_OK);
	CHECK_EQ_INT(fake.salts, 1);
	fake.rec.sealed_height = SUBMIT_HEIGHT + 4;
	fake.rec.slots[0].state = SLOT_COMMITTED;
	fake.rec.slots[0].commit_height = SUBMIT_HEIGHT + 4;
	fake.salts = 0;
	CHECK_EQ_INT(run_cli("job", "open", id, "--from=alice", NULL), CLI_OK);
	CHECK_EQ_INT(fake.salts, 1);
	fake.rec.id[0] ^= 1; /* another job's record for this id */
	fake.salts = 0;
	CHECK_EQ_INT(run_cli("job", "open", id, "--from=alice", NULL), CLI_EFAIL);
	CHECK_EQ_INT(fake.salts, 0);
}

int main(void)
{
	char tmpl[64], dd[300], cookie[340];
	snprintf(tmpl, sizeof(tmpl), "/tmp/assay-test-cli-job-%s", "XX" "XX" "XX"); /* mkdtemp template */
	if (keys_init() != 0 || !mkdtemp(tmpl))
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	setenv("ASSAY_SCRYPT_N", "1024", 1);
	setenv("ASSAY_TESTING", "1", 1);
	setenv("ASSAY_PASSPHRASE", "test-pass", 1);
	snprintf(dd, sizeof(dd), "%s/node", tmpdir);
	mkdir(dd, 0700);
	snprintf(cookie, sizeof(cookie), "%s/.cookie", dd);
	FILE *f = fopen(cookie, "w");
	if (f) {
		fputs("__cookie__:c00k1e\n", f);
		fclose(f);
	}
	memset(fake.genesis, 0x11, HASH_LEN);
	sodium_bin2base64(fake.expect_auth, sizeof(fake.expect_auth), (const unsigned char *)"__cookie__:c00k1e", 17,
			  sodium_base64_VARIANT_ORIGINAL);
	fake.rpc.expect_auth = fake.expect_auth;
	CHECK(fake_rpc_start(&fake.rpc, fake_reply) == 0);
	CHECK(run_cli("wallet", "create", "alice", NULL) == CLI_OK);
	RUN(test_submit_wait);
	RUN(test_open);
	fake_rpc_stop(&fake.rpc);
	if (fake.have_sent)
		tx_free(&fake.sent);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
	return test_report("cli_job");
}
