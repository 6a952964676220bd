/* Clocks and medians every benchmark shares (the chain benchmarks through
 * bench_util.h, the compute ones directly): nothing here knows the node.
 * Header-only; not for tests. */
#ifndef ASSAY_BENCH_STATS_H
#define ASSAY_BENCH_STATS_H

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on clock clk (CLOCK_MONOTONIC, or a CPU-time clock). */
static inline double bench_clock(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall-clock seconds from an arbitrary origin. */
static inline double bench_now(void)
{
	return bench_clock(CLOCK_MONOTONIC);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of v[0..n), n >= 1 (sorted in place); the least and greatest in
 * *lo and *hi where they are not NULL. */
static inline double bench_median(double *v, size_t n, double *lo, double *hi)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	if (lo)
		*lo = v[0];
	if (hi)
		*hi = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
