/* The compute worker registry (consensus/compute/compute.c, compute.md §8)
 * against its size, on an in-memory ledger: the time of registering n
 * workers in one block, of one more registration, of an end of block with
 * no job, and of one with an open job every worker is drawn over and none
 * can take (the draw reads every record). Prints figures; never fails on
 * time (docs/benchmarks.md). Not for: the node's LevelDB state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus/compute/compute.h"
#include "consensus/compute/kernels.h"
#include "core/error.h"

#define UNIT 1000000000ull

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void worker_addr(uint32_t i, uint8_t a[ADDR_LEN])
{
	memset(a, 0x44, ADDR_LEN);
	le32_put(a, i * 2654435761u); /* registration order is not address order */
}

static int register_worker(const struct compute_env *env, uint32_t i)
{
	uint8_t a[ADDR_LEN];
	struct worker_register_payload p = {.bond = 200 * UNIT};
	struct compute_result res;
	strcpy(p.endpoint, "tcp://127.0.0.1:9000");
	strcpy(p.backend, "cpu");
	worker_addr(i, a);
	int err = ledger_credit(env->ledger, a, p.bond);
	return err ? err : compute_apply_register(env, &p, a, &res);
}

/* Mean seconds of `blocks` ends of block from height *h on. */
static double end_blocks(struct compute_env *env, uint64_t *h, int blocks)
{
	double t = 0;
	for (int b = 0; b < blocks; b++) {
		env->height = (*h)++;
		double t0 = now_s();
		if (compute_end_block(env) != 0) {
			fprintf(stderr, "end of block failed\n");
			exit(1);
		}
		t += now_s() - t0;
	}
	return t / blocks;
}

int main(int argc, char **argv)
{
	uint32_t most = argc > 1 ? (uint32_t)atoi(argv[1]) : 50000;
	int blocks = argc > 2 ? atoi(argv[2]) : 20;
	static const uint32_t sizes[] = {1, 1000, 5000, 49999}; /* then one more */
	struct compute_params p;
	compute_params_default(&p);
	p.max_workers = 50000;
	p.samples_k = 4; /* the small job below has 12 tiles */
	printf("bench_workers: %d blocks per end-of-block figure, in-memory ledger\n", blocks);
	printf("%8s %14s %14s %16s %16s\n", "workers", "setup (s)", "one more (us)", "idle block (us)",
	       "draw block (us)");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]) && sizes[s] <= most; s++) {
		ledger_mem_t *mem = ledger_mem_new(NULL);
		struct ledger l = ledger_mem_ledger(mem);
		struct compute_env env;
		memset(&env, 0, sizeof(env));
		env.ledger = &l;
		env.params = &p;
		env.height = 1;
		uint64_t h = 1;
		double t0 = now_s();
		for (uint32_t i = 0; i < sizes[s]; i++)
			if (register_worker(&env, i) != 0) {
				fprintf(stderr, "registration %u failed\n", i);
				return 1;
			}
		double setup = now_s() - t0;
		t0 = now_s();
		if (register_worker(&env, sizes[s]) != 0) {
			fprintf(stderr, "registration %u failed\n", sizes[s]);
			return 1;
		}
		double one = now_s() - t0;
		h++;
		double idle = end_blocks(&env, &h, blocks);
		/* a job whose lock (its reward) is above every free bond */
		uint8_t submitter[ADDR_LEN], salt[HASH_LEN] = {1};
		struct job_spec spec;
		struct compute_result res;
		memset(submitter, 0x55, ADDR_LEN);
		memset(&spec, 0, sizeof(spec));
		spec.shape = (struct job_shape){.kind = JOB_MATMUL_I8, .m = 32, .n = 24, .k = 40,
					     .tile_rows = 8, .tile_cols = 8};
		spec.input_kind = JOB_INPUT_SEED;
		spec.samples = p.samples_k;
		spec.redundancy = 1;
		spec.reward = 1000 * UNIT;
		spec.deadline_blocks = (uint32_t)compute_least_deadline(&p) + (uint32_t)blocks + 10;
		kernel_salt_hash(salt, spec.salt_hash);
		env.height = h;
		if (ledger_credit(&l, submitter, 10000 * UNIT) != 0 ||
		    compute_apply_submit(&env, &spec, submitter, 0, &res) != 0) {
			fprintf(stderr, "submit: %s\n", res.error);
			return 1;
		}
		h += p.challenge_delay;
		double draw = end_blocks(&env, &h, blocks);
		printf("%8u %14.2f %14.1f %16.1f %16.1f\n", sizes[s], setup, one * 1e6, idle * 1e6, draw * 1e6);
		ledger_mem_free(mem);
	}
	return 0;
}
