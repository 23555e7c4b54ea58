/* x86-64 page-table entry format: named bits, address masks, generic flags.
 *
 * Freestanding: only <stdint.h>, <stddef.h>, <stdbool.h>. Shared by the VMM and the guest.
 * Facts from the Intel SDM vol. 3, ch. 4 (4-level paging).
 */
#ifndef PAGING_PTE_H
#define PAGING_PTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t pte_t;

/* Hardware bits, valid at every level unless noted. */
#define PTE_BIT_P	 0
#define PTE_BIT_W	 1
#define PTE_BIT_U	 2
#define PTE_BIT_PWT	 3
#define PTE_BIT_PCD	 4
#define PTE_BIT_A	 5
#define PTE_BIT_D	 6  /* leaves only */
#define PTE_BIT_PS	 7  /* PDPTE: 1 GiB leaf, PDE: 2 MiB leaf; reserved in PML4E */
#define PTE_BIT_PAT_4K	 7  /* in a 4 KiB PTE, bit 7 is PAT */
#define PTE_BIT_G	 8  /* leaves only, needs CR4.PGE */
#define PTE_BIT_PAT_HUGE 12 /* in a 2 MiB / 1 GiB leaf */
#define PTE_BIT_NX	 63 /* needs EFER.NXE */

#define PTE_P	     (1ull << PTE_BIT_P)
#define PTE_W	     (1ull << PTE_BIT_W)
#define PTE_U	     (1ull << PTE_BIT_U)
#define PTE_PWT	     (1ull << PTE_BIT_PWT)
#define PTE_PCD	     (1ull << PTE_BIT_PCD)
#define PTE_A	     (1ull << PTE_BIT_A)
#define PTE_D	     (1ull << PTE_BIT_D)
#define PTE_PS	     (1ull << PTE_BIT_PS)
#define PTE_PAT_4K   (1ull << PTE_BIT_PAT_4K)
#define PTE_G	     (1ull << PTE_BIT_G)
#define PTE_PAT_HUGE (1ull << PTE_BIT_PAT_HUGE)
#define PTE_NX	     (1ull << PTE_BIT_NX)

/* Software marker for not-present entries that are deliberate guards. When P = 0 the CPU
 * ignores every other bit, so bit 9 (AVL) flags a guard and bits 59:52 carry its kind. */
#define PTE_BIT_GUARD	9
#define PTE_GUARD	(1ull << PTE_BIT_GUARD)
#define PTE_GUARD_SHIFT 52
#define PTE_GUARD_MASK	(0xffull << PTE_GUARD_SHIFT)

/* Physical-address fields (bits 51:12, 51:21, 51:30). */
#define PTE_ADDR_MASK_4K 0x000ffffffffff000ull
#define PTE_ADDR_MASK_2M 0x000fffffffe00000ull
#define PTE_ADDR_MASK_1G 0x000fffffc0000000ull

/* Page sizes and the paging geometry. */
#define PT_SIZE_4K     0x1000ull
#define PT_SIZE_2M     0x200000ull
#define PT_SIZE_1G     0x40000000ull
#define PT_LEVELS      4 /* level 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT */
#define PT_ENTRIES     512
#define PT_VA_BITS     48
#define PT_PA_BITS_MAX 52

/* Generic mapping flags (architecture-neutral), converted losslessly to and from x86 bits. */
#define PT_READ	     (1u << 0) /* present */
#define PT_WRITE     (1u << 1) /* R/W */
#define PT_EXECUTE   (1u << 2) /* absence sets NX */
#define PT_USER	     (1u << 3) /* U/S */
#define PT_UNCACHED  (1u << 4) /* PCD */
#define PT_DEVICE    (1u << 5) /* PCD|PWT; implies uncached, so not combined with PT_UNCACHED */
#define PT_GLOBAL    (1u << 6) /* G */
#define PT_FLAGS_ALL 0x7fu

/* Name table for printing generic flags, in print order. */
struct pt_flag_name {
	unsigned flag;
	const char *name;
};
extern const struct pt_flag_name pt_flag_names[];
extern const size_t pt_flag_names_count;

/* Name table for printing raw x86 entry bits ("P W U A D PS G NX"). */
struct pte_bit_name {
	pte_t bit;
	const char *name;
};
extern const struct pte_bit_name pte_bit_names[];
extern const size_t pte_bit_names_count;

/* Return the leaf size mapped at level (1: 4 KiB, 2: 2 MiB, 3: 1 GiB); 0 for other levels. */
uint64_t pt_level_size(int level);

/* Return the address mask of a leaf entry at level (1, 2 or 3). */
uint64_t pte_addr_mask(int level);

/* True if flags is a set the x86 format can express: empty, or READ plus any of the others,
 * never UNCACHED together with DEVICE. */
bool pt_flags_valid(unsigned flags);

/* Convert valid generic flags to x86 leaf bits for a leaf at level; empty flags give 0. */
pte_t pt_flags_to_x86(unsigned flags, int level);

/* Convert the x86 bits of a leaf at level back to generic flags (inverse of pt_flags_to_x86). */
unsigned pt_flags_from_x86(pte_t pte, int level);

/* Return a leaf entry mapping pa at level with flags (A and D preset when present). */
pte_t pte_new_page(uint64_t pa, unsigned flags, int level);

/* Return a non-leaf entry pointing to the table at pa: P|W|U|A (A preset, so a walk through a
 * read-only table never needs to write it); the leaf decides the rights. */
pte_t pte_new_table(uint64_t pa);

/* Return a not-present guard entry carrying kind (0..255). */
pte_t pte_new_guard(unsigned kind);

/* Physical address held by an entry at level (table pointer, or leaf frame). */
uint64_t pte_addr(pte_t pte, int level);

/* Generic flags of a leaf at level. */
unsigned pte_flags(pte_t pte, int level);

/* Return pte with its address replaced by pa (pa must be aligned to the entry's size). */
pte_t pte_set_addr(pte_t pte, uint64_t pa, int level);

/* Return pte with its rights and attributes replaced by flags, keeping address, PS, A, D. */
pte_t pte_set_flags(pte_t pte, unsigned flags, int level);

static inline bool pte_present(pte_t pte)
{
	return (pte & PTE_P) != 0;
}

/* True for a present 2 MiB / 1 GiB leaf (PS at level 2 or 3). */
static inline bool pte_huge(pte_t pte, int level)
{
	return (level == 2 || level == 3) && (pte & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS);
}

/* True for a present leaf at level: any present level-1 entry, or a huge entry. */
static inline bool pte_leaf(pte_t pte, int level)
{
	return pte_present(pte) && (level == 1 || pte_huge(pte, level));
}

/* True for an entry that holds nothing (zero). */
static inline bool pte_unused(pte_t pte)
{
	return pte == 0;
}

/* Store v into a live entry as one 64-bit write that the compiler keeps after every earlier
 * store: the CPU may walk a linked table at any moment (speculatively, too), so a new table's
 * contents must be in memory before the entry that links it, and an entry must never be seen
 * half-written. */
static inline void pte_write(pte_t *slot, pte_t v)
{
	__asm__ volatile("" : : : "memory");
	*(volatile pte_t *)slot = v;
}

static inline bool pte_is_guard(pte_t pte)
{
	return !pte_present(pte) && (pte & PTE_GUARD) != 0;
}

static inline unsigned pte_guard_kind(pte_t pte)
{
	return (unsigned)((pte & PTE_GUARD_MASK) >> PTE_GUARD_SHIFT);
}

/* Write flag names: "R" or "RW", then "X" or "NX", then "U", "UC", "DEV", "G" as present,
 * separated by spaces ("RW NX U"); "-" for none. Returns the length that
 * would have been written (like snprintf); buf is always NUL-terminated when n > 0. */
size_t pt_flags_str(char *buf, size_t n, unsigned flags);

/* Write the names of the raw x86 bits set in pte ("P W U A D NX"). Same return as above. */
size_t pte_bits_str(char *buf, size_t n, pte_t pte, int level);

#endif
