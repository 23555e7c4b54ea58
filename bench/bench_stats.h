/* Small helpers the benchmarks share: medians, and the mark on wall times measured under
 * emulation. Header-only; each bench/ file is its own program. */
#ifndef PW_BENCH_STATS_H
#define PW_BENCH_STATS_H

#include <stddef.h>
#include <stdlib.h>

#include "platform.h"

/* What follows the unit of a wall-clock figure (a time, or a ratio of times): " emulated" where
 * KVM runs nested in QEMU's emulator (make bench without /dev/kvm runs the KVM benchmarks in
 * the VM of scripts/kvm-vm), where such figures describe the emulator, not the VMM. */
static inline const char *bench_wall_note(void)
{
	return platform_in_qemu_tcg() ? " emulated" : "";
}

/* qsort order of doubles. */
static inline int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n); sorts v. */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
