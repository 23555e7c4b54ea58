/* The floor for bench_boot: the least a program can do to run a 64-bit guest on KVM.
 * Creates a VM with 64 KiB of RAM and one vCPU, builds a 2 MiB identity map itself, enters long
 * mode through KVM_SET_SREGS and runs a guest that executes `hlt`. Exits 0 on KVM_EXIT_HLT.
 * No CPUID setup, no GDT in memory: only what the CPU needs to get to the first instruction.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAW_MEM_SIZE 0x10000ull
#define RAW_PML4     0x1000ull
#define RAW_PDPT     0x2000ull
#define RAW_PD	     0x3000ull
#define RAW_CODE     0x8000ull

#define RAW_PTE_P  (1ull << 0)
#define RAW_PTE_W  (1ull << 1)
#define RAW_PTE_PS (1ull << 7)

#define RAW_CR0_PE   (1ull << 0)
#define RAW_CR0_NE   (1ull << 5)
#define RAW_CR0_PG   (1ull << 31)
#define RAW_CR4_PAE  (1ull << 5)
#define RAW_EFER_LME (1ull << 8)
#define RAW_EFER_LMA (1ull << 10)

/* Write the tables and the one-instruction guest into mem. */
static void raw_build_guest(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + RAW_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + RAW_PDPT);
	uint64_t *pd = (uint64_t *)(mem + RAW_PD);

	pml4[0] = RAW_PDPT | RAW_PTE_P | RAW_PTE_W;
	pdpt[0] = RAW_PD | RAW_PTE_P | RAW_PTE_W;
	pd[0] = 0 | RAW_PTE_P | RAW_PTE_W | RAW_PTE_PS; /* one 2 MiB page covers the slot */
	mem[RAW_CODE] = 0xf4;				/* hlt */
}

/* Long mode straight from reset: flat 64-bit code segment, flat data, a 64-bit TSS. */
static void raw_long_mode(struct kvm_sregs *s)
{
	struct kvm_segment code = {
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = 0x8,
	    .type = 0xb,
	    .present = 1,
	    .dpl = 0,
	    .db = 0,
	    .s = 1,
	    .l = 1,
	    .g = 1,
	};
	struct kvm_segment data = code;

	data.selector = 0x10;
	data.type = 0x3;
	data.l = 0;
	data.db = 1;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	s->tr.selector = 0x18;
	s->tr.base = 0;
	s->tr.limit = 0x67;
	s->tr.type = 0xb;
	s->tr.present = 1;
	s->tr.s = 0;
	s->cr3 = RAW_PML4;
	s->cr4 = RAW_CR4_PAE;
	s->cr0 = RAW_CR0_PE | RAW_CR0_NE | RAW_CR0_PG;
	s->efer = RAW_EFER_LME | RAW_EFER_LMA;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("rawkvm: /dev/kvm");
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	uint8_t *mem = mmap(NULL, RAW_MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm < 0 || mem == MAP_FAILED) {
		perror("rawkvm: create vm");
		return 1;
	}
	raw_build_guest(mem);
	struct kvm_userspace_memory_region slot = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = RAW_MEM_SIZE,
	    .userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	int vcpu = -1;
	int run_size = -1;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0 ||
	    (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0 ||
	    (run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) < 0) {
		perror("rawkvm: setup");
		return 1;
	}
	struct kvm_run *run =
	    mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	struct kvm_sregs sregs;
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		perror("rawkvm: vcpu");
		return 1;
	}
	raw_long_mode(&sregs);
	struct kvm_regs regs = {.rip = RAW_CODE, .rsp = RAW_MEM_SIZE, .rflags = 0x2};
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu, KVM_RUN, 0) < 0) {
		perror("rawkvm: run");
		return 1;
	}
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "rawkvm: unexpected exit reason %u\n", run->exit_reason);
		return 1;
	}
	return 0;
}
