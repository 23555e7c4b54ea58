/* The runtime's IPI vectors, for ipi.S (pagewarden/smp.h has them for C; smp.c checks both). */
#ifndef PW_GUEST_SMP_VECTORS_H
#define PW_GUEST_SMP_VECTORS_H

#define VEC_WAKE      0xf0
#define VEC_SHOOTDOWN 0xf1

#endif
