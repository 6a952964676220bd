/* Unit tests for `assay-cli job spec` (wallet/cli_jobspec.c): the checks a
 * job_submit payload must pass, the default deadline, and the usage errors
 * the command gives before it asks a node anything. Not for: the payload
 * against a chain (tests/functional/contract_job_escrow.py). */
#define _GNU_SOURCE /* strcasestr, in the fake node of cli_fixture.h */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/compute/compute.h"
#include "core/error.h"
#include "tests/unit/cli_fixture.h"
#include "tests/unit/test.h"
#include "wallet/cli.h"
#include "wallet/cli_jobspec.h"

static char tmpdir[256];

/* Runs cli_main in tmpdir's data directory on a NULL-ended word list. */
static int run_cli(const char *first, ...) __attribute__((sentinel));
static int run_cli(const char *first, ...)
{
	char datadir[300];
	snprintf(datadir, sizeof(datadir), "-datadir=%s", tmpdir);
	const char *fixed[] = {datadir};
	va_list ap;
	va_start(ap, first);
	int rc = cli_run_words(fixed, 1, first, ap);
	va_end(ap);
	return rc;
}

static const struct jobspec_limits LIM = {
	.samples_k = 4, .commit_window = 10, .reveal_window = 5, .max_deadline_blocks = 1000,
	.max_dim = 4096, .max_output_bytes = 1 << 20, .min_reward = 1000000,
};

static void good_spec(struct job_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->shape.kind = JOB_MATMUL_I8;
	s->shape.m = 64;
	s->shape.n = 48;
	s->shape.k = 80;
	s->shape.tile_rows = 16;
	s->shape.tile_cols = 16;
	s->samples = 4;
	s->redundancy = 1;
	s->reward = 5000000;
	s->deadline_blocks = 17; /* the least: 10 + 5 + 2 */
}

static void test_check(void)
{
	struct job_spec s;
	char err[256];
	good_spec(&s);
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == 0);
	s.samples = 3;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == ASSAY_EINVALID && strstr(err, "samples 3") != NULL);
	s.samples = JOB_MAX_SAMPLES + 1;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == ASSAY_EINVALID);
	good_spec(&s);
	s.redundancy = JOB_MAX_REDUNDANCY + 1;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == ASSAY_EINVALID && strstr(err, "redundancy") != NULL);
	good_spec(&s);
	s.reward = 999999;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == ASSAY_EINVALID);
	CHECK(strstr(err, "reward 0.000999999 ASY below the chain's min_reward 0.001000000 ASY") != NULL);
	good_spec(&s);
	s.deadline_blocks = 16;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == ASSAY_EINVALID && strstr(err, "[17, 1000]") != NULL);
	s.deadline_blocks = 1001;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == ASSAY_EINVALID);
	s.deadline_blocks = 1000;
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) == 0);
	good_spec(&s);
	s.shape.m = 5000; /* over max_dim */
	CHECK(jobspec_check(&s, &LIM, err, sizeof(err)) != 0 && strstr(err, "bad job shape") != NULL);
}

static void test_default_deadline(void)
{
	CHECK(jobspec_default_deadline(&LIM) == 3 * 15 + 10);
	struct jobspec_limits tight = LIM;
	tight.max_deadline_blocks = 40;
	CHECK(jobspec_default_deadline(&tight) == 40);
}

/* The default mlp tile shrinks until the reveal fits a transaction: one
 * row for 1024-wide layers at k = 66 (each row's pre-activations are 8 KiB),
 * all 16 for narrow ones; a chain without a size limit keeps 16. */
static void test_fit_mlp_rows(void)
{
	struct job_spec s;
	memset(&s, 0, sizeof(s));
	s.shape.kind = JOB_MLP_I8;
	s.shape.m = 4096;
	s.shape.layers = 2;
	s.shape.dims[0] = s.shape.dims[1] = s.shape.dims[2] = 1024;
	s.shape.n = s.shape.tile_cols = 1024;
	s.shape.tile_rows = JOBSPEC_MLP_TILE_ROWS;
	s.samples = 66;
	jobspec_fit_mlp_rows(&s, 1 << 20);
	CHECK(s.shape.tile_rows == 1);
	CHECK(compute_reveal_max_bytes(&s) + COMPUTE_REVEAL_TX_OVERHEAD <= 1 << 20);
	s.shape.tile_rows = 2;
	CHECK(compute_reveal_max_bytes(&s) + COMPUTE_REVEAL_TX_OVERHEAD > 1 << 20); /* one is the most */
	s.shape.tile_rows = JOBSPEC_MLP_TILE_ROWS;
	jobspec_fit_mlp_rows(&s, 0);
	CHECK(s.shape.tile_rows == JOBSPEC_MLP_TILE_ROWS);
	s.shape.dims[0] = 24;
	s.shape.dims[1] = 32;
	s.shape.dims[2] = s.shape.n = s.shape.tile_cols = 10;
	jobspec_fit_mlp_rows(&s, 1 << 20);
	CHECK(s.shape.tile_rows == JOBSPEC_MLP_TILE_ROWS);
	s.shape.kind = JOB_MATMUL_I8; /* matmul tiles are left alone */
	s.shape.tile_rows = 64;
	jobspec_fit_mlp_rows(&s, 100);
	CHECK(s.shape.tile_rows == 64);
}

/* Usage errors come before the node is asked (port 1 has none: reaching it
 * would be CLI_EUNREACHABLE, which the last call shows). */
static void test_usage(void)
{
	const char *port = "-rpcport=1";
	CHECK(run_cli(port, "job", "spec", "--kind", "conv", "--m", "8", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(port, "job", "spec", "--kind", "matmul-i8", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(port, "job", "spec", "--m", "8", "--seed", "abcd", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(port, "job", "spec", "--m", "-8", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(port, "job", "spec", "--kind", "mlp-i8", "--m", "8", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(port, "job", "spec", "--kind", "mlp-i8", "--m", "8", "--dims", "4,4",
		      "--shifts", "40", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli(port, "job", "spec", "--m", "8", "extra", (char *)NULL) == CLI_EUSAGE);
	CHECK(run_cli("-rpcconnect=127.0.0.1", port, "job", "spec", "--m", "8", (char *)NULL) ==
	      CLI_EUNREACHABLE);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/assay-test-clijobspec-%s", base && *base ? base : "/tmp",
		 "XX" "XX" "XX"); /* mkdtemp template */
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(test_check);
	RUN(test_default_deadline);
	RUN(test_fit_mlp_rows);
	RUN(test_usage);
	rmdir(tmpdir);
	return test_report("cli_jobspec");
}
