/* The #PF error code (Intel SDM vol. 3, 4.7): named bits and one formatter, shared by the VMM and
 * the guest so both print the same words ("P W I/D"). Freestanding: only <stddef.h>/<stdint.h>.
 * docs/faults.md has the same table.
 */
#ifndef PAGEWARDEN_PF_ERROR_H
#define PAGEWARDEN_PF_ERROR_H

#include <stddef.h>
#include <stdint.h>

#define PF_ERR_BIT_P	0 /* 0: the page was not present; 1: a protection (rights) violation */
#define PF_ERR_BIT_W	1 /* the access was a write */
#define PF_ERR_BIT_U	2 /* the access was made in user mode (CPL 3) */
#define PF_ERR_BIT_RSVD 3 /* a reserved bit was set in an entry on the walk */
#define PF_ERR_BIT_ID	4 /* instruction fetch (reported with EFER.NXE or CR4.SMEP) */
#define PF_ERR_BIT_PK	5 /* protection-key violation */

#define PF_ERR_P    (1ull << PF_ERR_BIT_P)
#define PF_ERR_W    (1ull << PF_ERR_BIT_W)
#define PF_ERR_U    (1ull << PF_ERR_BIT_U)
#define PF_ERR_RSVD (1ull << PF_ERR_BIT_RSVD)
#define PF_ERR_ID   (1ull << PF_ERR_BIT_ID)
#define PF_ERR_PK   (1ull << PF_ERR_BIT_PK)

/* Name of error-code bit number bit ("RSVD"), or NULL for a bit without a name here. */
static inline const char *pf_err_bit_name(unsigned bit)
{
	static const char *const names[] = {
	    [PF_ERR_BIT_P] = "P",	[PF_ERR_BIT_W] = "W",	 [PF_ERR_BIT_U] = "U",
	    [PF_ERR_BIT_RSVD] = "RSVD", [PF_ERR_BIT_ID] = "I/D", [PF_ERR_BIT_PK] = "PK",
	};
	return bit < sizeof(names) / sizeof(names[0]) ? names[bit] : NULL;
}

/* Write the names of the bits set in err, space separated ("P W"), "-" when none is set; unnamed
 * bits are skipped. buf is NUL-terminated when n > 0. Returns the length that would have been
 * written, like snprintf. */
static inline size_t pf_err_str(char *buf, size_t n, uint64_t err)
{
	size_t len = 0;

	for (unsigned bit = 0; bit < 64; bit++) {
		const char *name = (err >> bit) & 1 ? pf_err_bit_name(bit) : NULL;

		if (!name)
			continue;
		if (len && len + 1 < n)
			buf[len] = ' ';
		len += len != 0;
		for (; *name; name++, len++)
			if (len + 1 < n)
				buf[len] = *name;
	}
	if (!len && n > 1)
		buf[0] = '-';
	len += !len;
	if (n)
		buf[len < n ? len : n - 1] = '\0';
	return len;
}

#endif
