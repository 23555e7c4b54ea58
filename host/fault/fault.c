/* The run's fault list. */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>

#include "pagewarden/pf_error.h"

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

int fault_format(char *buf, size_t n, const struct fault_record *f)
{
	const char *tail = f->recovered ? "recovered" : "not recovered";
	const char *by = fault_caught_by_name(f->caught_by);
	char bits[32];

	if (f->kind == PW_FAULT_EPT_UNBACKED || f->kind == PW_FAULT_EPT_READONLY)
		return snprintf(buf, n, "%s %s at gpa 0x%llx rip 0x%llx, caught by %s, %s",
				pw_fault_kind_name(f->kind), f->access ? f->access : "access",
				(unsigned long long)f->gpa, (unsigned long long)f->rip, by, tail);
	if (f->kind == PW_FAULT_TRIPLE)
		return snprintf(buf, n, "%s at rip 0x%llx cr2 0x%llx rsp 0x%llx: %s, caught by %s, %s",
				pw_fault_kind_name(f->kind), (unsigned long long)f->rip,
				(unsigned long long)f->gva, (unsigned long long)f->rsp,
				f->diagnosis ? f->diagnosis : "unknown cause", by, tail);
	if (f->vector != 14)
		return snprintf(buf, n, "%s %s (vector %u) rip 0x%llx err 0x%llx, caught by %s, %s",
				pw_fault_kind_name(f->kind), pw_exception_name(f->vector),
				f->vector, (unsigned long long)f->rip,
				(unsigned long long)f->error_code, by, tail);
	pf_err_str(bits, sizeof(bits), f->error_code);
	return snprintf(buf, n, "%s #PF at 0x%llx rip 0x%llx err 0x%llx (%s), caught by %s, %s",
			pw_fault_kind_name(f->kind), (unsigned long long)f->gva,
			(unsigned long long)f->rip, (unsigned long long)f->error_code, bits, by,
			tail);
}

/* Append f to l as it is; false (and counted as dropped) if l is full or memory ran out. */
static bool fault_list_push(struct fault_list *l, const struct fault_record *f)
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

bool fault_list_append(struct fault_list *l, const struct fault_record *f)
{
	struct fault_record r = *f;

	r.cpu = l->cpu;
	return fault_list_push(l, &r);
}

void fault_list_merge(struct fault_list *to, const struct fault_list *from)
{
	for (size_t i = 0; i < from->n; i++)
		fault_list_push(to, &from->v[i]);
	to->dropped += from->dropped;
}

const struct fault_record *fault_list_last_of(const struct fault_list *l, unsigned cpu)
{
	for (size_t i = l->n; i-- > 0;)
		if (l->v[i].cpu == cpu)
			return &l->v[i];
	return NULL;
}

void fault_list_free(struct fault_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
	l->dropped = 0;
}
