/* The guest entry stub: byte 0 of every image (guest/guest.ld puts .text.entry first).
 *
 * The VMM starts us in 64-bit long mode with paging on, interrupts off, RSP at the 16-byte
 * aligned top of its stack, RDI = GPA of struct pw_boot_info and RSI = the CPU's number (0 but
 * for the other CPUs of --cpus, which enter here too). bss is not zeroed here:
 * the ABI has the VMM zero it for both image formats, and doing it again would hide a VMM bug
 * and touch every bss page at boot.
 */
	.section .text.entry, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	/* The flat-image header follows this instruction; jump over it. */
	jmp	pw_entry
	.size _start, . - _start

	.text
	.globl pw_entry
	.type pw_entry, @function
pw_entry:
	/* A zero frame pointer ends backtraces here; DF=0 is what C code (rep movs/stos) assumes. */
	xorl	%ebp, %ebp
	cld
	/* RDI still holds the boot info pointer and RSI the CPU's number: pw_start's arguments.
	 * RSP is 16-byte aligned before the call, as the SysV ABI wants. */
	call	pw_start
	/* pw_start never returns; stop hard if it ever does. */
1:	cli
	hlt
	jmp	1b
	.size pw_entry, . - pw_entry

	.section .note.GNU-stack, "", @progbits
