/* A minimal unit-test harness: CHECK records a failure with file:line and
 * goes on; test_report() prints "name: N passed, M failed" and gives the exit
 * status for automake's harness. Not for: functional tests (Python). */
#ifndef ASSAY_TEST_H
#define ASSAY_TEST_H

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

#define RUN(fn)                                   \
	do {                                      \
		int before_ = test_failed;        \
		fn();                             \
		fprintf(stderr, "%s %s\n",        \
			test_failed == before_ ? "ok  " : "FAIL", #fn); \
	} while (0)

static inline int test_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
