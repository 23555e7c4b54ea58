/* The PVH entry: how a pagewarden ELF image boots under another VMM (QEMU's -kernel, with
 * -M microvm or -M pc; docs/images.md).
 *
 * The ELF note below (XEN_ELFNOTE_PHYS32_ENTRY) names pw_pvh_entry32. The firmware enters it in
 * 32-bit protected mode: flat CS/DS/ES/SS, paging and interrupts off, EBX = the physical
 * address of struct hvm_start_info, no stack. This file does only what C cannot: check that
 * the CPU has long mode and NX, identity-map [0, 4 GiB) with 2 MiB pages in throw-away tables,
 * switch to 64-bit mode with the control registers ./vmm gives its guests, and call
 * pw_pvh_start (pvh_boot.c) on the main stack. pw_pvh_start builds the real layout with
 * layout/ and comes back through pw_pvh_enter, which switches to it and enters the runtime
 * exactly where ./vmm's vCPU starts: pw_entry with RDI = the boot info.
 *
 * The throw-away tables sit at the bottom of the main stack region (PVH_BOOT_PT): pw_pvh_start
 * checks that the firmware put nothing there before it reads any of it.
 */
/* pagewarden/layout.h's values, which carry C suffixes an assembler may refuse; pvh_boot.c
 * checks that they agree. */
#define PVH_STACK_GPA	0x10000		/* PW_STACK_GPA */
#define PVH_STACK_TOP	0x50000		/* PW_STACK_GPA + PW_STACK_SIZE */
#define PVH_BOOT_PT	PVH_STACK_GPA	/* PML4, PDPT, then 4 page directories: 24 KiB */
#define PVH_BOOT_PDPT	(PVH_BOOT_PT + 0x1000)
#define PVH_BOOT_PD	(PVH_BOOT_PT + 0x2000)
#define PTE_P_W		0x3
#define PDE_P_W_PS	0x83
#define MSR_EFER	0xc0000080
#define EFER_LME_NXE	0x900
#define CR4_PAE_PGE	0xa0		/* ./vmm's CPU_ENTRY_CR4 */
#define CR0_ENTRY	0x80010033	/* ./vmm's CPU_ENTRY_CR0: PE MP ET NE WP PG */
#define SEL_CODE	0x08		/* PW_SEL_CODE, in the boot GDT below and in the real one */
#define SEL_DATA	0x10
#define COM1		0x3f8
#define DEBUG_EXIT	0xf4		/* isa-debug-exit, iobase=0xf4 */
#define EXIT_BAD_BOOT	63		/* PW_EXIT_BAD_BOOT_INFO */

	/* The note QEMU (and Xen, and cloud-hypervisor) look for in a PT_NOTE segment:
	 * namesz, descsz, type, "Xen", then the 32-bit entry address. */
	.section .note.pvh, "a", @note
	.balign 4
	.long	4
	.long	4
	.long	18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pw_pvh_entry32

	.section .rodata
	.balign 8
pvh_boot_gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad	0x00cf93000000ffff	/* 0x10: data, DPL 0 */
pvh_boot_gdt_end:
pvh_boot_gdtr:
	.word	pvh_boot_gdt_end - pvh_boot_gdt - 1
	.long	pvh_boot_gdt
pvh_no_idt:
	.word	0
	.quad	0
pvh_no_long_mode:
	.ascii	"pagewarden runtime: this CPU has no long mode or no NX: cannot boot\n"
pvh_no_long_mode_end:

	.text
	.code32
	.globl pw_pvh_entry32
	.type pw_pvh_entry32, @function
pw_pvh_entry32:
	cld
	movl	%ebx, %esi		/* the start info, for pw_pvh_start */
	/* Long mode (CPUID 0x80000001 EDX bit 29) and NX (bit 20), or a message and exit 63. */
	movl	$0x80000000, %eax
	cpuid
	cmpl	$0x80000001, %eax
	jb	1f
	movl	$0x80000001, %eax
	cpuid
	andl	$((1 << 29) | (1 << 20)), %edx
	cmpl	$((1 << 29) | (1 << 20)), %edx
	je	2f
1:	movl	$pvh_no_long_mode, %esi
	movl	$(pvh_no_long_mode_end - pvh_no_long_mode), %ecx
	movw	$COM1, %dx
	rep outsb
	movl	$EXIT_BAD_BOOT, %eax
	movw	$DEBUG_EXIT, %dx
	outl	%eax, %dx
3:	hlt
	jmp	3b

	/* The throw-away identity map of [0, 4 GiB): PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of
	 * 512 2 MiB pages each. */
2:	movl	$PVH_BOOT_PT, %edi
	xorl	%eax, %eax
	movl	$(6 * 4096 / 4), %ecx
	rep stosl
	movl	$(PVH_BOOT_PDPT | PTE_P_W), PVH_BOOT_PT
	movl	$(PVH_BOOT_PD + 0x0000 | PTE_P_W), PVH_BOOT_PDPT + 0
	movl	$(PVH_BOOT_PD + 0x1000 | PTE_P_W), PVH_BOOT_PDPT + 8
	movl	$(PVH_BOOT_PD + 0x2000 | PTE_P_W), PVH_BOOT_PDPT + 16
	movl	$(PVH_BOOT_PD + 0x3000 | PTE_P_W), PVH_BOOT_PDPT + 24
	movl	$PVH_BOOT_PD, %edi
	movl	$PDE_P_W_PS, %eax
	movl	$(4 * 512), %ecx
4:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	4b

	/* Long mode with the control registers ./vmm's vCPU starts with. */
	movl	$CR4_PAE_PGE, %eax
	movl	%eax, %cr4
	movl	$PVH_BOOT_PT, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME_NXE, %eax
	wrmsr
	movl	$CR0_ENTRY, %eax
	movl	%eax, %cr0
	lgdt	pvh_boot_gdtr
	ljmp	$SEL_CODE, $5f

	.code64
5:	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movq	$PVH_STACK_TOP, %rsp
	/* The PVH ABI leaves AC, NT and IOPL unspecified: start from ./vmm's RFLAGS, 0x2. */
	pushq	$0x2
	popfq
	xorl	%ebp, %ebp
	movl	%esi, %edi		/* zero-extended: the start info's address */
	call	pw_pvh_start		/* never returns */
6:	cli
	hlt
	jmp	6b
	.size pw_pvh_entry32, . - pw_pvh_entry32

/* void pw_pvh_enter(uint64_t cr3, uint64_t boot_info): switch to the tables layout/ built and
 * enter the runtime as ./vmm's vCPU would: RSP at the main stack's top, RDI = the boot info. */
	.globl pw_pvh_enter
	.type pw_pvh_enter, @function
pw_pvh_enter:
	lidt	pvh_no_idt		/* ./vmm's vCPU starts with an empty IDT too */
	movq	%rdi, %cr3
	movq	$PVH_STACK_TOP, %rsp
	movq	%rsi, %rdi
	xorl	%esi, %esi		/* CPU 0 */
	jmp	pw_entry
	.size pw_pvh_enter, . - pw_pvh_enter

	.section .note.GNU-stack, "", @progbits
