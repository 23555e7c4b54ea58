/* The boot info page. */
#include "bootinfo.h"

_Static_assert(sizeof(struct pw_boot_info) <= PW_BOOT_INFO_SIZE, "boot info exceeds its page");

void bootinfo_write(struct pw_boot_info *bi, const struct layout *l, const struct layout_opts *opts)
{
	size_t len = opts->cmdline ? __builtin_strlen(opts->cmdline) : 0;

	__builtin_memset(bi, 0, sizeof(*bi));
	bi->magic = PW_BOOT_MAGIC;
	/* One CPU: version 2, whose fields are a prefix of version 3's (ncpus and percpu_base,
	 * appended, are 1 and 0), so images built before version 3 keep booting. */
	bi->version = l->ncpus > 1 ? PW_BOOT_VERSION : 2;
	bi->size = sizeof(*bi);
	bi->mem_size = l->mem_size;
	bi->pt_root = l->pt.root;
	bi->pt_pool_next = l->pool_next;
	bi->pt_pool_end = l->pool_end;
	bi->heap_start = l->heap_start;
	bi->heap_end = l->heap_end;
	bi->fault_mode = opts->fault_mode;
	bi->maxphyaddr = opts->maxphyaddr ? opts->maxphyaddr : PT_PA_BITS_MAX;
	bi->features =
	    (opts->has_1g ? PW_BOOT_F_1G_PAGES : 0) | (opts->protect_pt ? PW_BOOT_F_PROTECT_PT : 0) |
	    (opts->debugger ? PW_BOOT_F_DEBUGGER : 0) | opts->boot_flags;
	bi->nregions = l->nregions;
	__builtin_memcpy(bi->regions, l->regions, l->nregions * sizeof(l->regions[0]));
	bi->ncpus = l->ncpus;
	bi->percpu_base = l->percpu_base;
	bi->cmdline_len = (uint32_t)len;
	if (len)
		__builtin_memcpy(bi->cmdline, opts->cmdline, len);
	/* bi->cmdline[len] is already NUL from the memset. */
}
