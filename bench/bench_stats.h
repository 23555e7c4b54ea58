/* Small helpers the benchmarks share: medians. Header-only; each bench/ file is its own program. */
#ifndef PW_BENCH_STATS_H
#define PW_BENCH_STATS_H

#include <stddef.h>
#include <stdlib.h>

/* qsort order of doubles. */
static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n); sorts v. */
static double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
