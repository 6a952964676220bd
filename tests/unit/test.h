/* A minimal unit-test harness: CHECK records a failure with file:line and
 * goes on; test_report() prints "name: N passed, M failed" and gives the exit
 * status for automake's harness. Not for: functional tests (Python). */
#ifndef ASSAY_TEST_H
#define ASSAY_TEST_H

#include <stdint.h>

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (cond) {                                                    \
			test_passed++;                                         \
		} else {                                                       \
			test_failed++;                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
		}                                                              \
	} while (0)

#define CHECK_EQ_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Equality of two integers that prints both sides when it fails. */
#define CHECK_EQ_U64(got, want)                                                          \
	do {                                                                             \
		unsigned long long got_ = (unsigned long long)(got);                     \
		unsigned long long want_ = (unsigned long long)(want);                   \
		if (got_ == want_) {                                                     \
			test_passed++;                                                   \
		} else {                                                                 \
			test_failed++;                                                   \
			fprintf(stderr, "%s:%d: CHECK_EQ_U64 failed: %s = %llu, want %s = %llu\n", \
				__FILE__, __LINE__, #got, got_, #want, want_);           \
		}                                                                        \
	} while (0)

#define CHECK_EQ_INT(got, want)                                                          \
	do {                                                                             \
		long long got_ = (long long)(got);                                       \
		long long want_ = (long long)(want);                                     \
		if (got_ == want_) {                                                     \
			test_passed++;                                                   \
		} else {                                                                 \
			test_failed++;                                                   \
			fprintf(stderr, "%s:%d: CHECK_EQ_INT failed: %s = %lld, want %s = %lld\n", \
				__FILE__, __LINE__, #got, got_, #want, want_);           \
		}                                                                        \
	} while (0)

/* Runs one test and says "ok" or "FAIL" with its name. */
/* Marsaglia's xorshift64 (13, 7, 17) on *state: the tests' fixed-seed
 * generator, so a failure reproduces. */
static inline uint64_t test_xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static inline void test_run(void (*fn)(void), const char *name)
{
	int before = test_failed;
	fn();
	fprintf(stderr, "%s %s\n", test_failed == before ? "ok  " : "FAIL", name);
}

#define RUN(fn) test_run(fn, #fn)

static inline int test_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed ? 1 : 0;
}

/* One test of a file: TEST(fn) names it after its function. */
struct test_case {
	void (*fn)(void);
	const char *name;
};
#define TEST(fn) {fn, #fn}
#define TEST_COUNT(cases) (sizeof(cases) / sizeof((cases)[0]))

/* A test file's main: setup (NULL: none) must return 0, else the file is a
 * hard error (99 for automake's harness); then each case in order with
 * RUN's "ok"/"FAIL" line, and test_report(name). */
static inline int test_main(const char *name, int (*setup)(void), const struct test_case *cases, size_t n)
{
	if (setup && setup() != 0) {
		fprintf(stderr, "%s: set-up failed\n", name);
		return 99;
	}
	for (size_t i = 0; i < n; i++)
		test_run(cases[i].fn, cases[i].name);
	return test_report(name);
}

#endif
