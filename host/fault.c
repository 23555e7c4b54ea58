/* The run's fault list. */
#include "fault.h"

#include <stdlib.h>

#define FAULT_LIST_FIRST_CAP 16

const char *fault_caught_by_name(unsigned caught_by)
{
	static const char *const names[] = {
	    [PW_CAUGHT_GUEST_IDT] = "guest-idt",
	    [PW_CAUGHT_VMM] = "vmm",
	    [PW_CAUGHT_EXIT] = "exit",
	};
	return caught_by < sizeof(names) / sizeof(names[0]) ? names[caught_by] : "?";
}

bool fault_list_append(struct fault_list *l, const struct fault_record *f)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : FAULT_LIST_FIRST_CAP;
		struct fault_record *v;

		if (cap > FAULT_LIST_MAX)
			cap = FAULT_LIST_MAX;
		v = cap > l->cap ? realloc(l->v, cap * sizeof(*v)) : NULL;
		if (!v) {
			l->dropped++;
			return false;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *f;
	return true;
}

void fault_list_free(struct fault_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	l->dropped = 0;
}
