/* The VMM's exception stubs and IDT (--faults=vmm). */
#include "trapstubs.h"

#include <string.h>
#include <sys/ioctl.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "layout.h"

#define VECTOR_DF 8
#define VECTOR_PF 14
#define GATE_INTERRUPT_PRESENT 0x8e /* P=1 DPL=0 type 0xe: 64-bit interrupt gate, IF cleared */

_Static_assert(TRAPSTUBS_VECTORS * TRAPSTUB_SIZE <= PW_STUBS_SIZE, "stubs fit their page");
_Static_assert(PW_PORT(PW_HC_TRAP) <= 0xffff, "the trap port is a 16-bit immediate");

/* Machine code of vector v's stub. RAX and RDX are pushed before `out` uses them, so the VMM can
 * hand them back; the ud2 after the `out` is never reached (the VMM resumes elsewhere or stops
 * the guest) but stops a stub resumed by mistake. 14 bytes, padded with int3. */
static void stub_code(uint8_t *p, unsigned v)
{
	const uint8_t code[TRAPSTUB_SIZE] = {
	    0x50,				 /* push %rax */
	    0x52,				 /* push %rdx */
	    0xb8, (uint8_t)v, 0, 0, 0,		 /* mov $v, %eax */
	    0x66, 0xba, (uint8_t)PW_PORT(PW_HC_TRAP), /* mov $port, %dx */
	    (uint8_t)(PW_PORT(PW_HC_TRAP) >> 8),
	    0xef,				 /* out %eax, %dx */
	    0x0f, 0x0b,				 /* ud2 */
	    0xcc, 0xcc,				 /* int3 padding */
	};
	memcpy(p, code, sizeof(code));
}

/* The two iretq tails after the stubs (trapstubs_iret_rip): with an error code to drop, and
 * without. */
#define IRET_ERR_OFF   (TRAPSTUBS_VECTORS * TRAPSTUB_SIZE)
#define IRET_NOERR_OFF (IRET_ERR_OFF + TRAPSTUB_SIZE)
_Static_assert(IRET_NOERR_OFF + TRAPSTUB_SIZE <= PW_STUBS_SIZE, "iretq tails fit the page");

static const uint8_t iret_err[] = {
    0x5a,		    /* pop %rdx */
    0x58,		    /* pop %rax */
    0x48, 0x83, 0xc4, 0x08, /* add $8, %rsp: the error code */
    0x48, 0xcf,		    /* iretq */
};
static const uint8_t iret_noerr[] = {
    0x5a,	/* pop %rdx */
    0x58,	/* pop %rax */
    0x48, 0xcf, /* iretq */
};

uint64_t trapstubs_iret_rip(unsigned vector)
{
	return PW_STUBS_GPA +
	       (pw_exception_has_error_code(vector) ? IRET_ERR_OFF : IRET_NOERR_OFF);
}

/* Offset of the `out` instruction inside a stub. At the PW_HC_TRAP exit, RIP is there on
 * standard KVM and one byte further (past the `out`) on PVM (docs/platforms.md). */
#define STUB_OUT_OFFSET 11

/* The IST slot for vector: #PF and #DF on their own stacks, so a stack overflow is reported
 * instead of escalating to a triple fault. */
static unsigned stub_ist(unsigned v)
{
	return v == VECTOR_PF ? PW_IST_PF : v == VECTOR_DF ? PW_IST_DF : 0;
}

/* Write the 16-byte gate for vector v pointing at handler into gate. */
static void gate_write(uint8_t *gate, uint64_t handler, unsigned ist)
{
	uint8_t g[16] = {
	    (uint8_t)handler,	      (uint8_t)(handler >> 8),	(uint8_t)PW_SEL_CODE,
	    (uint8_t)(PW_SEL_CODE >> 8), (uint8_t)ist,		GATE_INTERRUPT_PRESENT,
	    (uint8_t)(handler >> 16), (uint8_t)(handler >> 24), (uint8_t)(handler >> 32),
	    (uint8_t)(handler >> 40), (uint8_t)(handler >> 48), (uint8_t)(handler >> 56),
	};
	memcpy(gate, g, sizeof(g));
}

int trapstubs_install(struct vm *vm, const struct guest_mem *mem)
{
	uint8_t *stubs = gpa_to_host(mem, PW_STUBS_GPA, PW_STUBS_SIZE);
	uint8_t *idt = gpa_to_host(mem, PW_IDT_GPA, PW_IDT_SIZE);
	struct kvm_sregs s;

	if (!stubs || !idt)
		return -1;
	memset(stubs, 0xcc, PW_STUBS_SIZE);
	memset(idt, 0, PW_IDT_SIZE);
	for (unsigned v = 0; v < TRAPSTUBS_VECTORS; v++) {
		stub_code(stubs + v * TRAPSTUB_SIZE, v);
		gate_write(idt + v * 16, PW_STUBS_GPA + v * TRAPSTUB_SIZE, stub_ist(v));
	}
	memcpy(stubs + IRET_ERR_OFF, iret_err, sizeof(iret_err));
	memcpy(stubs + IRET_NOERR_OFF, iret_noerr, sizeof(iret_noerr));
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.idt.base = PW_IDT_GPA;
	s.idt.limit = PW_IDT_LIMIT;
	return ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0 ? -1 : 0;
}

bool trapstubs_owns(uint64_t rip, unsigned vector)
{
	uint64_t out = PW_STUBS_GPA + vector * TRAPSTUB_SIZE + STUB_OUT_OFFSET;

	return vector < TRAPSTUBS_VECTORS && (rip == out || rip == out + 1);
}

bool trapstubs_read_frame(const struct guest_mem *mem, uint64_t rsp, unsigned vector,
			  struct trapstub_frame *out)
{
	bool has_err = pw_exception_has_error_code(vector);
	size_t words = has_err ? 8 : 7;
	const uint64_t *w = gpa_to_host(mem, rsp, words * 8);
	size_t i = 2; /* past the stub's RDX and RAX */

	if (!w)
		return false;
	*out = (struct trapstub_frame){.rdx = w[0], .rax = w[1], .has_error_code = has_err};
	if (has_err)
		out->error_code = w[i++];
	out->rip = w[i];
	out->cs = w[i + 1];
	out->rflags = w[i + 2];
	out->rsp = w[i + 3];
	out->ss = w[i + 4];
	return true;
}
