/* The boot info page: what the guest learns about its layout at entry (RDI = its address). */
#ifndef PW_LAYOUT_BOOTINFO_H
#define PW_LAYOUT_BOOTINFO_H

#include "layout_build.h"

/* Fill bi (the builder's view of PW_BOOT_INFO_GPA) from the finished layout l and opts. The caller
 * has checked that opts->cmdline fits PW_CMDLINE_MAX. */
void bootinfo_write(struct pw_boot_info *bi, const struct layout *l,
		    const struct layout_opts *opts);

#endif
