/* The x86-64 entry layer: page sizes, address masks, generic flags <-> x86 bits, name tables.
 *
 * The conversion is lossless for every valid flag set at every leaf level: each generic flag
 * owns its own x86 bit or bit pair (DEVICE = PCD|PWT, UNCACHED = PCD alone), and the bits that
 * depend on the level (PS, and PAT at bit 7 or bit 12) are never read back as flags.
 */
#include "pte.h"
#include "strbuf.h"

/* Printed in this order by pt_flags_str ("RW NX U UC DEV G"). */
const struct pt_flag_name pt_flag_names[] = {
    {PT_READ, "R"},	 {PT_WRITE, "W"},    {PT_EXECUTE, "X"}, {PT_USER, "U"},
    {PT_UNCACHED, "UC"}, {PT_DEVICE, "DEV"}, {PT_GLOBAL, "G"},
};
const size_t pt_flag_names_count = sizeof(pt_flag_names) / sizeof(pt_flag_names[0]);

/* Bit 7 has two names (PS above level 1, PAT in a 4 KiB PTE) and bit 12 is PAT only in a huge
 * leaf (an address bit elsewhere): pte_bit_name_applies picks the meaning per level by index. */
enum { BIT_NAME_PS = 7, BIT_NAME_PAT_4K = 8, BIT_NAME_PAT_HUGE = 10 };

const struct pte_bit_name pte_bit_names[] = {
    {PTE_P, "P"},
    {PTE_W, "W"},
    {PTE_U, "U"},
    {PTE_PWT, "PWT"},
    {PTE_PCD, "PCD"},
    {PTE_A, "A"},
    {PTE_D, "D"},
    [BIT_NAME_PS] = {PTE_PS, "PS"},
    [BIT_NAME_PAT_4K] = {PTE_PAT_4K, "PAT"},
    {PTE_G, "G"},
    [BIT_NAME_PAT_HUGE] = {PTE_PAT_HUGE, "PAT"},
    {PTE_NX, "NX"},
};
const size_t pte_bit_names_count = sizeof(pte_bit_names) / sizeof(pte_bit_names[0]);

/* The bits pt_flags_to_x86 owns; pte_set_flags replaces exactly these (plus PAT). */
#define PTE_RIGHTS (PTE_P | PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_G | PTE_NX)

uint64_t pt_level_size(int level)
{
	switch (level) {
	case 1:
		return PT_SIZE_4K;
	case 2:
		return PT_SIZE_2M;
	case 3:
		return PT_SIZE_1G;
	default:
		return 0;
	}
}

uint64_t pte_addr_mask(int level)
{
	switch (level) {
	case 1:
		return PTE_ADDR_MASK_4K;
	case 2:
		return PTE_ADDR_MASK_2M;
	case 3:
		return PTE_ADDR_MASK_1G;
	default:
		return 0;
	}
}

bool pt_flags_valid(unsigned flags)
{
	if (flags & ~PT_FLAGS_ALL)
		return false;
	if (flags == 0)
		return true;
	if (!(flags & PT_READ))
		return false;
	return (flags & (PT_UNCACHED | PT_DEVICE)) != (PT_UNCACHED | PT_DEVICE);
}

/* True if an entry at level with these bits is a 2 MiB / 1 GiB leaf format (PS set), present or
 * not: decides which address mask and which PAT bit apply. */
static bool pte_huge_format(pte_t pte, int level)
{
	return (level == 2 || level == 3) && (pte & PTE_PS);
}

/* Mask of the address field of pte at level: a huge leaf's, or the 4 KiB one of tables, 4 KiB
 * leaves and not-present entries. */
static uint64_t pte_field_mask(pte_t pte, int level)
{
	return pte_huge_format(pte, level) ? pte_addr_mask(level) : PTE_ADDR_MASK_4K;
}

pte_t pt_flags_to_x86(unsigned flags, int level)
{
	pte_t pte;

	if (!(flags & PT_FLAGS_ALL))
		return 0;
	pte = PTE_P;
	if (flags & PT_WRITE)
		pte |= PTE_W;
	if (flags & PT_USER)
		pte |= PTE_U;
	if (!(flags & PT_EXECUTE))
		pte |= PTE_NX; /* only meaningful with EFER.NXE, which the VMM sets */
	if (flags & PT_DEVICE)
		pte |= PTE_PCD | PTE_PWT;
	else if (flags & PT_UNCACHED)
		pte |= PTE_PCD;
	if (flags & PT_GLOBAL)
		pte |= PTE_G;
	if (level == 2 || level == 3)
		pte |= PTE_PS; /* a PDE / PDPTE without PS would point to a table */
	return pte;
}

unsigned pt_flags_from_x86(pte_t pte, int level)
{
	unsigned flags = PT_READ;

	(void)level; /* PS and PAT move with the level; no generic flag is stored in them */
	if (!pte_present(pte))
		return 0;
	if (pte & PTE_W)
		flags |= PT_WRITE;
	if (!(pte & PTE_NX))
		flags |= PT_EXECUTE;
	if (pte & PTE_U)
		flags |= PT_USER;
	if ((pte & (PTE_PCD | PTE_PWT)) == (PTE_PCD | PTE_PWT))
		flags |= PT_DEVICE;
	else if (pte & PTE_PCD)
		flags |= PT_UNCACHED;
	if (pte & PTE_G)
		flags |= PT_GLOBAL;
	return flags;
}

pte_t pte_new_page(uint64_t pa, unsigned flags, int level)
{
	pte_t pte = pt_flags_to_x86(flags, level);

	/* A and D preset: the CPU would otherwise write them with a locked access during the walk,
	 * which exits when the tables sit in a read-only memslot. */
	if (pte_present(pte))
		pte |= PTE_A | PTE_D;
	return pte | (pa & pte_field_mask(pte, level));
}

pte_t pte_new_table(uint64_t pa)
{
	return (pa & PTE_ADDR_MASK_4K) | PTE_P | PTE_W | PTE_U | PTE_A;
}

pte_t pte_new_guard(unsigned kind)
{
	return PTE_GUARD | (((pte_t)kind << PTE_GUARD_SHIFT) & PTE_GUARD_MASK);
}

uint64_t pte_addr(pte_t pte, int level)
{
	return pte & pte_field_mask(pte, level);
}

unsigned pte_flags(pte_t pte, int level)
{
	return pt_flags_from_x86(pte, level);
}

pte_t pte_set_addr(pte_t pte, uint64_t pa, int level)
{
	uint64_t mask = pte_field_mask(pte, level);

	return (pte & ~mask) | (pa & mask);
}

pte_t pte_set_flags(pte_t pte, unsigned flags, int level)
{
	pte_t keep = pte_field_mask(pte, level) | PTE_A | PTE_D;

	/* PS is bit 7 only above level 1; in a 4 KiB PTE bit 7 is PAT, an attribute replaced here.
	 * Software bits (guard marker and kind) go too: a present entry is no guard. */
	if (pte_huge_format(pte, level))
		keep |= PTE_PS;
	return (pte & keep) | (pt_flags_to_x86(flags, level) & PTE_RIGHTS);
}

/* Append s as a word: a space first unless it is the first thing written. */
static void strbuf_add_word(struct strbuf *sb, const char *s)
{
	if (sb->len > 0)
		strbuf_putc(sb, ' ');
	strbuf_puts(sb, s);
}

/* Name of generic flag in pt_flag_names. */
static const char *pt_flag_name(unsigned flag)
{
	for (size_t i = 0; i < pt_flag_names_count; i++)
		if (pt_flag_names[i].flag == flag)
			return pt_flag_names[i].name;
	return "?";
}

size_t pt_flags_str(char *buf, size_t n, unsigned flags)
{
	struct strbuf sb = {buf, n, 0};

	flags &= PT_FLAGS_ALL;
	if (flags == 0) {
		strbuf_puts(&sb, "-");
		return strbuf_end(&sb);
	}
	/* "R" or "RW" as one word, then "X" or "NX": the rights read like a mode string. */
	if (flags & PT_READ)
		strbuf_puts(&sb, pt_flag_name(PT_READ));
	if (flags & PT_WRITE)
		strbuf_puts(&sb, pt_flag_name(PT_WRITE));
	if (flags & PT_EXECUTE)
		strbuf_add_word(&sb, pt_flag_name(PT_EXECUTE));
	else if (flags & PT_READ)
		strbuf_add_word(&sb, "NX");
	for (size_t i = 0; i < pt_flag_names_count; i++) {
		unsigned f = pt_flag_names[i].flag;

		if ((flags & f) && !(f & (PT_READ | PT_WRITE | PT_EXECUTE)))
			strbuf_add_word(&sb, pt_flag_names[i].name);
	}
	return strbuf_end(&sb);
}

/* True if table entry i of pte_bit_names names a bit that means that thing in pte at level. */
static bool pte_bit_name_applies(size_t i, pte_t pte, int level)
{
	switch (i) {
	case BIT_NAME_PS:
		return level != 1;
	case BIT_NAME_PAT_4K:
		return level == 1;
	case BIT_NAME_PAT_HUGE:
		return pte_huge_format(pte, level);
	default:
		return true;
	}
}

size_t pte_bits_str(char *buf, size_t n, pte_t pte, int level)
{
	struct strbuf sb = {buf, n, 0};

	if (pte_is_guard(pte)) {
		strbuf_puts(&sb, "GUARD(");
		strbuf_put_dec(&sb, pte_guard_kind(pte));
		strbuf_putc(&sb, ')');
		return strbuf_end(&sb);
	}
	for (size_t i = 0; i < pte_bit_names_count; i++)
		if ((pte & pte_bit_names[i].bit) && pte_bit_name_applies(i, pte, level))
			strbuf_add_word(&sb, pte_bit_names[i].name);
	if (sb.len == 0)
		strbuf_puts(&sb, "-");
	return strbuf_end(&sb);
}
