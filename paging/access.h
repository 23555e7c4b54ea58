/* The x86-64 permission model of 4-level paging (Intel SDM vol. 3A, 4.6 and 4.7): whether an
 * access to a virtual address is allowed under the control bits in force, and if not, the #PF
 * error code the CPU pushes. One model for the VMM's fault classifier, the guest runtime's and
 * the access-matrix test. Protection keys (CR4.PKE, PKRU) are not modelled: PK is never set. */
#ifndef PAGING_ACCESS_H
#define PAGING_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "paging.h"

/* What is accessed: a data read, a data write, an instruction fetch. */
enum pt_access_kind { PT_ACC_READ = 0, PT_ACC_WRITE, PT_ACC_FETCH, PT_ACC_KIND_COUNT };

/* Who accesses: code at CPL 0-2, code at CPL 3, or the CPU itself for a supervisor structure
 * (GDT, IDT, TSS, ... : implicit supervisor-mode accesses, whatever the CPL). */
enum pt_access_mode { PT_MODE_SUPERVISOR = 0, PT_MODE_USER, PT_MODE_IMPLICIT, PT_MODE_COUNT };

/* The control bits the walk depends on. */
struct pt_access_ctx {
	bool wp;   /* CR0.WP: supervisor writes honour R/W */
	bool smep; /* CR4.SMEP: no supervisor fetch from a user page */
	bool smap; /* CR4.SMAP: no supervisor data access to a user page (unless AC) */
	bool ac;   /* EFLAGS.AC: lifts SMAP for explicit accesses */
	bool nxe;  /* EFER.NXE: bit 63 is XD (else reserved) */
};

/* The control bits as found in CR0, CR4, EFER and RFLAGS. */
#define PT_CR0_WP      (1ull << 16)
#define PT_CR4_SMEP    (1ull << 20)
#define PT_CR4_SMAP    (1ull << 21)
#define PT_EFER_NXE    (1ull << 11)
#define PT_RFLAGS_AC   (1ull << 18)

/* The context those registers give. */
static inline struct pt_access_ctx pt_access_ctx_of(uint64_t cr0, uint64_t cr4, uint64_t efer,
						    uint64_t rflags)
{
	return (struct pt_access_ctx){.wp = (cr0 & PT_CR0_WP) != 0,
				      .smep = (cr4 & PT_CR4_SMEP) != 0,
				      .smap = (cr4 & PT_CR4_SMAP) != 0,
				      .ac = (rflags & PT_RFLAGS_AC) != 0,
				      .nxe = (efer & PT_EFER_NXE) != 0};
}

/* #PF error code bits. */
#define PT_PF_P	   (1u << 0) /* the page was present (a protection fault) */
#define PT_PF_W	   (1u << 1) /* the access was a write */
#define PT_PF_U	   (1u << 2) /* a user-mode access (CPL 3, not implicit) */
#define PT_PF_RSVD (1u << 3) /* a reserved bit was set in an entry */
#define PT_PF_ID   (1u << 4) /* an instruction fetch (only with NXE or SMEP) */
#define PT_PF_PK   (1u << 5) /* protection keys: not modelled */

/* Why an access faults, for reports and the matrix test's messages. */
enum pt_access_why {
	PT_WHY_NONE = 0,      /* allowed */
	PT_WHY_NONCANONICAL,  /* #GP, not #PF */
	PT_WHY_NOT_PRESENT,   /* an entry on the way had P = 0 */
	PT_WHY_RESERVED,      /* an entry had a reserved bit set */
	PT_WHY_USER_SUPER,    /* a user-mode access to a supervisor page */
	PT_WHY_READ_ONLY,     /* a write to a read-only page (user, or supervisor with WP) */
	PT_WHY_NX,	      /* a fetch from a page with XD */
	PT_WHY_SMEP,	      /* a supervisor fetch from a user page under SMEP */
	PT_WHY_SMAP,	      /* a supervisor data access to a user page under SMAP */
	PT_WHY_COUNT
};

/* The outcome of one access. */
struct pt_access_result {
	bool allowed;
	bool gp;	     /* the address is not canonical: #GP, no error code, no CR2 */
	uint32_t error_code; /* PT_PF_* when !allowed && !gp */
	enum pt_access_why why;
	int level;	     /* the level of the leaf, or of the entry that stopped the walk */
	uint64_t pa;	     /* the translation, when allowed */
	unsigned accessed;   /* levels whose entries the CPU sets A in (bit L-1 for level L), when
			      * allowed */
	bool dirty;	     /* ... and whether it sets D in the leaf */
};

/* Decide access kind by mode to va through pt under ctx, into *res. The walk is the CPU's: P,
 * then reserved bits, level by level from the PML4; then the effective rights (R/W and U/S
 * ANDed, XD ORed over the levels, huge leaves included) against the mode's rules. Returns
 * PT_OK; PT_EFLAGS for an unknown kind or mode; PT_EADDR if a table on the way is not one the
 * handler can reach. */
enum pt_err pt_check_access(const struct pt *pt, uint64_t va, enum pt_access_kind kind,
			    enum pt_access_mode mode, const struct pt_access_ctx *ctx,
			    struct pt_access_result *res);

/* Name of why ("smep"); "?" if out of range. */
const char *pt_access_why_name(enum pt_access_why why);

#endif
