/* The expected outcome of one supervisor-mode access through a 4 KiB leaf, from the SDM rules
 * alone (vol. 3, 4.6 access rights, 4.7 the #PF error code). A pure function: it knows nothing
 * about how the access is performed, so access_matrix.c can hold the CPU against it. Ring 0 only:
 * U/S, SMEP, SMAP and protection keys are outside the model (the guest never runs ring 3), and
 * the upper levels are P|W|U with NX clear, so the leaf alone decides. */
#ifndef PW_TESTS_PF_MODEL_H
#define PW_TESTS_PF_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <pagewarden/pf_error.h>

/* The control bits that change the outcome at CPL 0. */
struct pf_cpu {
	bool wp;  /* CR0.WP: read-only pages are read-only for the kernel too */
	bool nxe; /* EFER.NXE: NX is a rights bit (else a reserved bit) and I/D is reported */
};

/* The leaf's rights bits. */
struct pf_leaf {
	bool p, w, nx;
};

enum pf_access { PF_ACCESS_READ, PF_ACCESS_WRITE, PF_ACCESS_FETCH, PF_ACCESS_COUNT };

struct pf_outcome {
	bool fault;	     /* a #PF is raised */
	uint64_t error_code; /* when fault */
};

/* Name of an access ("fetch"). */
static inline const char *pf_access_name(enum pf_access a)
{
	static const char *const names[PF_ACCESS_COUNT] = {"read", "write", "fetch"};

	return a < PF_ACCESS_COUNT ? names[a] : "?";
}

/* What the CPU must do for access a through leaf with cpu's control bits. The W and I/D bits
 * describe the access whatever the cause, even for a not-present page. */
static inline struct pf_outcome pf_model(struct pf_cpu cpu, struct pf_leaf leaf, enum pf_access a)
{
	uint64_t access = (a == PF_ACCESS_WRITE ? PF_ERR_W : 0) |
			  (a == PF_ACCESS_FETCH && cpu.nxe ? PF_ERR_ID : 0);

	if (!leaf.p)
		return (struct pf_outcome){true, access};
	if (leaf.nx && !cpu.nxe)
		return (struct pf_outcome){true, access | PF_ERR_P | PF_ERR_RSVD};
	if (a == PF_ACCESS_WRITE && !leaf.w && cpu.wp)
		return (struct pf_outcome){true, access | PF_ERR_P};
	if (a == PF_ACCESS_FETCH && leaf.nx)
		return (struct pf_outcome){true, access | PF_ERR_P};
	return (struct pf_outcome){false, 0};
}

#endif
