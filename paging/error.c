/* Descriptions of the paging library's errors. */
#include "paging.h"

static const char *const pt_err_names[PT_ERR_COUNT] = {
    [PT_OK] = "ok",
    [PT_ENOMEM] = "out of page-table frames",
    [PT_EALIGN] = "misaligned address or length",
    [PT_ENOTMAPPED] = "not mapped",
    [PT_EEXIST] = "already mapped",
    [PT_EHUGE] = "inside a huge page",
    [PT_EADDR] = "address out of range",
    [PT_EFLAGS] = "invalid flags, size or option",
};

const char *pt_strerror(enum pt_err err)
{
	if ((unsigned)err >= PT_ERR_COUNT || !pt_err_names[err])
		return "unknown paging error";
	return pt_err_names[err];
}
