/* The hypercall dispatcher without KVM: a hand-made KVM_EXIT_IO in a kvm_run buffer, guest RAM
 * from guest_mem_alloc, and the console going to a pipe. Checks what every call accepts, what
 * it refuses, and the exact words of the refusal. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypercall.h"
#include "pagewarden/layout.h"
#include "status.h"

#define RAM	   PW_MEM_MIN
#define ARG_GPA	   0x200000ull /* where the tests put argument structs */
#define BUF_GPA	   0x201000ull /* and buffers */
#define DATA_OFF   4096	       /* kvm_run data area: past struct kvm_run */
#define RUNBUF_LEN 8192

static struct vm vm;
static struct guest_mem mem;
static struct run run;
static int console[2];
static char *log_text;
static size_t log_len;

static void setup(void)
{
	struct run_config cfg = {.console_fd = -1, .quiet = false};

	cr_assert_eq(guest_mem_alloc(&mem, RAM), MEM_OK);
	cr_assert_eq(pipe2(console, O_NONBLOCK), 0);
	vm.kvm_fd = vm.vm_fd = vm.vcpu_fd = -1; /* KVM_GET_REGS fails: RIP reads as 0 */
	vm.run = calloc(1, RUNBUF_LEN);
	cr_assert_not_null(vm.run);
	cfg.console_fd = console[1];
	cfg.log = open_memstream(&log_text, &log_len);
	cr_assert_not_null(cfg.log);
	run_init(&run, &vm, &mem, NULL, &cfg);
}

static void teardown(void)
{
	fclose(run.cfg.log);
	free(log_text);
	run_free(&run);
	free(vm.run);
	guest_mem_free(&mem);
	close(console[0]);
	close(console[1]);
}

TestSuite(hypercall, .init = setup, .fini = teardown);

/* Make the vCPU's exit an I/O exit on port, then dispatch it. */
static enum hc_result io_exit(unsigned port, unsigned dir, unsigned size, unsigned count,
			      uint32_t value)
{
	struct kvm_run *kr = vm.run;

	kr->exit_reason = KVM_EXIT_IO;
	kr->io.port = (uint16_t)port;
	kr->io.direction = (uint8_t)dir;
	kr->io.size = (uint8_t)size;
	kr->io.count = count;
	kr->io.data_offset = DATA_OFF;
	memcpy((uint8_t *)kr + DATA_OFF, &value, sizeof(value));
	return hypercall_handle(&run);
}

/* A well-formed hypercall nr with arg. */
static enum hc_result call(unsigned nr, uint32_t arg)
{
	return io_exit(PW_PORT(nr), KVM_EXIT_IO_OUT, 4, 1, arg);
}

/* Copy the argument struct to ARG_GPA and make hypercall nr with it. */
static enum hc_result call_with(unsigned nr, const void *arg, size_t len)
{
	memcpy(gpa_to_host(&mem, ARG_GPA, len), arg, len);
	return call(nr, ARG_GPA);
}

static void expect_bad(enum hc_result res, const char *want)
{
	cr_assert_eq(res, HC_STOP);
	cr_assert_eq(run.stop, RUN_STOP_BAD_HYPERCALL, "stop %s: %s", run_stop_name(run.stop),
		     run.msg);
	cr_assert_eq(run_status(&run), PW_STATUS_BAD_HYPERCALL);
	cr_assert_str_eq(run.msg, want);
}

static size_t console_read(char *buf, size_t n)
{
	ssize_t got = read(console[0], buf, n - 1);

	buf[got > 0 ? got : 0] = '\0';
	return got > 0 ? (size_t)got : 0;
}

Test(hypercall, console_writes_the_buffer)
{
	struct pw_hc_console c = {.buf = BUF_GPA, .len = 9};
	char out[64];

	memcpy(gpa_to_host(&mem, BUF_GPA, 9), "hi there\n", 9);
	cr_assert_eq(call_with(PW_HC_CONSOLE, &c, sizeof(c)), HC_RESUME);
	cr_assert_eq(run.stop, RUN_STOP_NONE);
	cr_assert_eq(console_read(out, sizeof(out)), 9);
	cr_assert_str_eq(out, "hi there\n");
	cr_assert_eq(run.console_bytes, 9);
}

Test(hypercall, console_buffer_may_end_exactly_at_ram_end)
{
	struct pw_hc_console c = {.buf = RAM - 4, .len = 4};
	char out[8];

	memcpy(gpa_to_host(&mem, RAM - 4, 4), "end!", 4);
	cr_assert_eq(call_with(PW_HC_CONSOLE, &c, sizeof(c)), HC_RESUME);
	cr_assert_eq(console_read(out, sizeof(out)), 4);
	cr_assert_str_eq(out, "end!");
}

Test(hypercall, console_buffer_past_ram)
{
	struct pw_hc_console c = {.buf = RAM - 4, .len = 5};

	expect_bad(call_with(PW_HC_CONSOLE, &c, sizeof(c)),
		   "bad hypercall console (port 0x500): buffer at 0x3ffffc (5 bytes) is outside "
		   "guest RAM, at RIP 0x0");
	cr_assert_eq(run.console_bytes, 0);
}

/* buf + len wraps around 2^64: must not pass a naive bounds check. */
Test(hypercall, console_buffer_wrapping)
{
	struct pw_hc_console c = {.buf = UINT64_MAX - 1, .len = 4};

	expect_bad(call_with(PW_HC_CONSOLE, &c, sizeof(c)),
		   "bad hypercall console (port 0x500): buffer at 0xfffffffffffffffe (4 bytes) is "
		   "outside guest RAM, at RIP 0x0");
}

Test(hypercall, console_too_long)
{
	struct pw_hc_console c = {.buf = BUF_GPA, .len = PW_CONSOLE_MAX + 1};

	expect_bad(call_with(PW_HC_CONSOLE, &c, sizeof(c)),
		   "bad hypercall console (port 0x500): length 1048577 exceeds the maximum "
		   "1048576, at RIP 0x0");
}

Test(hypercall, argument_struct_past_ram)
{
	expect_bad(call(PW_HC_CONSOLE, RAM - 8),
		   "bad hypercall console (port 0x500): argument struct at 0x3ffff8 (16 bytes) is "
		   "outside guest RAM, at RIP 0x0");
}

Test(hypercall, unknown_port)
{
	expect_bad(io_exit(0x9999, KVM_EXIT_IO_OUT, 1, 1, 0x55),
		   "bad hypercall: port 0x9999 (out, 1 byte) is not a hypercall port "
		   "(0x500..0x507), at RIP 0x0");
}

Test(hypercall, port_just_past_the_last_call)
{
	expect_bad(io_exit(PW_PORT(PW_HC_COUNT), KVM_EXIT_IO_OUT, 4, 1, 0),
		   "bad hypercall: port 0x508 (out, 4 bytes) is not a hypercall port "
		   "(0x500..0x507), at RIP 0x0");
}

/* The debugger's stop (PW_HC_DEBUG) without --gdb: nobody to stop for. */
Test(hypercall, debug_stop_without_a_debugger)
{
	expect_bad(io_exit(PW_PORT(PW_HC_DEBUG), KVM_EXIT_IO_OUT, 4, 1, 14),
		   "bad hypercall debug (port 0x507): debug stop of vector 14, but no debugger is "
		   "attached (--gdb), at RIP 0x0");
}

Test(hypercall, wrong_width_direction_count)
{
	expect_bad(io_exit(PW_PORT(PW_HC_EXIT), KVM_EXIT_IO_OUT, 2, 1, 0),
		   "bad hypercall exit (port 0x501): out of 2 bytes x1, but a hypercall is one "
		   "4-byte out (outl), at RIP 0x0");
	run.stop = RUN_STOP_NONE;
	expect_bad(io_exit(PW_PORT(PW_HC_EXIT), KVM_EXIT_IO_IN, 4, 1, 0),
		   "bad hypercall exit (port 0x501): in of 4 bytes x1, but a hypercall is one "
		   "4-byte out (outl), at RIP 0x0");
	run.stop = RUN_STOP_NONE;
	expect_bad(io_exit(PW_PORT(PW_HC_EXIT), KVM_EXIT_IO_OUT, 4, 3, 0),
		   "bad hypercall exit (port 0x501): out of 4 bytes x3, but a hypercall is one "
		   "4-byte out (outl), at RIP 0x0");
}

Test(hypercall, exit_code)
{
	struct pw_hc_exit x = {.code = 0x1234};

	cr_assert_eq(call_with(PW_HC_EXIT, &x, sizeof(x)), HC_STOP);
	cr_assert_eq(run.stop, RUN_STOP_EXIT);
	cr_assert_eq(run.exit_code, 0x1234);
	cr_assert_eq(run_status(&run), 0x34);
}

Test(hypercall, negative_exit_code)
{
	struct pw_hc_exit x = {.code = -1};

	cr_assert_eq(call_with(PW_HC_EXIT, &x, sizeof(x)), HC_STOP);
	cr_assert_eq(run_status(&run), 255);
}

Test(hypercall, checkpoints_are_counted)
{
	struct pw_hc_checkpoint c = {.id = 1, .value = 2};

	cr_assert_eq(call_with(PW_HC_CHECKPOINT, &c, sizeof(c)), HC_RESUME);
	cr_assert_eq(call_with(PW_HC_CHECKPOINT, &c, sizeof(c)), HC_RESUME);
	cr_assert_eq(run.checkpoints, 2);
	fflush(run.cfg.log);
	cr_assert_eq(log_len, 0, "checkpoint lines need --trace: %s", log_text);
}

/* Put a panic's file and message in RAM and make the call. */
static enum hc_result panic_call(const char *file, size_t flen, const char *msg, size_t mlen,
				 uint64_t line)
{
	struct pw_hc_panic p = {.file = BUF_GPA,
				.file_len = flen,
				.line = line,
				.msg = BUF_GPA + 0x2000,
				.msg_len = mlen};

	memcpy(gpa_to_host(&mem, BUF_GPA, flen), file, flen);
	memcpy(gpa_to_host(&mem, BUF_GPA + 0x2000, mlen), msg, mlen);
	return call_with(PW_HC_PANIC, &p, sizeof(p));
}

Test(hypercall, panic_message)
{
	cr_assert_eq(panic_call("main.c", 6, "boom\n", 5, 12), HC_STOP);
	cr_assert_eq(run.stop, RUN_STOP_PANIC);
	cr_assert_eq(run_status(&run), PW_STATUS_CRASH);
	cr_assert_str_eq(run.msg, "guest panic at main.c:12: boom");
}

/* Guest bytes never reach the terminal raw: the report stays one line. */
Test(hypercall, panic_text_is_escaped)
{
	cr_assert_eq(panic_call("a\nb.c", 5, "x\x1b[2Jy\x01", 7, 3), HC_STOP);
	cr_assert_str_eq(run.msg, "guest panic at a\\x0ab.c:3: x\\x1b[2Jy\\x01");
}

Test(hypercall, panic_lengths_are_checked)
{
	struct pw_hc_panic p = {.file = BUF_GPA, .file_len = PW_STRING_MAX + 1, .msg = BUF_GPA};

	expect_bad(call_with(PW_HC_PANIC, &p, sizeof(p)),
		   "bad hypercall panic (port 0x504): file name length 4097 exceeds the maximum "
		   "4096, at RIP 0x0");
	run.stop = RUN_STOP_NONE;
	p.file_len = 1;
	p.msg = RAM;
	p.msg_len = 1;
	expect_bad(call_with(PW_HC_PANIC, &p, sizeof(p)),
		   "bad hypercall panic (port 0x504): message at 0x400000 (1 bytes) is outside "
		   "guest RAM, at RIP 0x0");
}

Test(hypercall, recovered_fault_is_recorded)
{
	struct pw_hc_fault f = {.kind = PW_FAULT_NULL,
				.vector = 14,
				.error_code = 4,
				.gva = 8,
				.rip = 0x100123,
				.rsp = 0x4ff00,
				.recovered = 1};

	cr_assert_eq(call_with(PW_HC_FAULT, &f, sizeof(f)), HC_RESUME);
	cr_assert_eq(run.stop, RUN_STOP_NONE);
	cr_assert_eq(run.faults.n, 1);
	cr_assert_eq(run.faults.v[0].kind, PW_FAULT_NULL);
	cr_assert_eq(run.faults.v[0].gva, 8);
	cr_assert_eq(run.faults.v[0].rip, 0x100123);
	cr_assert_eq(run.faults.v[0].caught_by, PW_CAUGHT_GUEST_IDT);
	cr_assert(run.faults.v[0].recovered);
	fflush(run.cfg.log);
	cr_assert_str_eq(log_text, "vmm: fault: null #PF at 0x8 rip 0x100123 err 0x4 (U), caught "
				   "by guest-idt, recovered\n");
}

/* Kind 0: the guest's fast path leaves the classification to the VMM. Without a layout (this
 * harness) only the error code and vector decide: a not-present #PF is "unmapped", a protection
 * #PF with W "write-protect", another vector "exception". The layout case runs end to end in
 * tests/guests/expect.c (test_faults_guest.c). */
Test(hypercall, unclassified_fault_is_classified_by_the_vmm)
{
	const struct {
		uint32_t vector;
		uint64_t err;
		unsigned want;
	} cases[] = {{14, 0, PW_FAULT_UNMAPPED},
		     {14, 3, PW_FAULT_WRITE_PROTECT},
		     {14, 9, PW_FAULT_RESERVED_BIT},
		     {6, 0, PW_FAULT_EXCEPTION}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_hc_fault f = {.kind = PW_FAULT_NONE,
					.vector = cases[i].vector,
					.error_code = cases[i].err,
					.gva = 0x200,
					.recovered = 1};

		cr_assert_eq(call_with(PW_HC_FAULT, &f, sizeof(f)), HC_RESUME);
		cr_assert_eq(run.faults.n, i + 1);
		cr_expect_eq(run.faults.v[i].kind, cases[i].want, "case %zu: kind %u", i,
			     run.faults.v[i].kind);
	}
}

Test(hypercall, heap_growth_is_recorded_silently)
{
	struct pw_hc_fault f = {.kind = PW_FAULT_HEAP_GROW, .vector = 14, .recovered = 1};

	cr_assert_eq(call_with(PW_HC_FAULT, &f, sizeof(f)), HC_RESUME);
	cr_assert_eq(run.faults.n, 1);
	fflush(run.cfg.log);
	cr_assert_eq(log_len, 0, "%s", log_text);
}

Test(hypercall, unrecovered_fault_stops_as_a_crash)
{
	struct pw_hc_fault f = {.kind = PW_FAULT_STACK_OVERFLOW,
				.vector = 14,
				.error_code = 6,
				.gva = 0xfff8,
				.rip = 0x100200,
				.rsp = 0x10000};

	cr_assert_eq(call_with(PW_HC_FAULT, &f, sizeof(f)), HC_STOP);
	cr_assert_eq(run.stop, RUN_STOP_FAULT);
	cr_assert_eq(run_status(&run), PW_STATUS_CRASH);
	cr_assert_str_eq(run.msg, "guest crashed: stack-overflow, #PF (vector 14) at 0xfff8, "
				  "error 0x6, RIP 0x100200, RSP 0x10000");
	cr_assert_str_eq(run.walk_what, "CR2");
	cr_assert_eq(run.walk_addr, 0xfff8);
	cr_assert_eq(run.faults.n, 1);
	cr_assert(!run.faults.v[0].recovered);
}

Test(hypercall, bad_fault_fields)
{
	struct pw_hc_fault f = {.kind = PW_FAULT_KIND_COUNT, .vector = 14};

	expect_bad(call_with(PW_HC_FAULT, &f, sizeof(f)),
		   "bad hypercall fault (port 0x502): kind 16 is not a fault kind (0..15), at RIP "
		   "0x0");
	run.stop = RUN_STOP_NONE;
	f.kind = PW_FAULT_NULL;
	f.vector = 256;
	expect_bad(call_with(PW_HC_FAULT, &f, sizeof(f)),
		   "bad hypercall fault (port 0x502): vector 256 is not an interrupt vector "
		   "(0..255), at RIP 0x0");
	run.stop = RUN_STOP_NONE;
	f.vector = 14;
	f.recovered = 2;
	expect_bad(call_with(PW_HC_FAULT, &f, sizeof(f)),
		   "bad hypercall fault (port 0x502): recovered is 2, not 0 or 1, at RIP 0x0");
	cr_assert_eq(run.faults.n, 0);
}

/* Without a vCPU the trap's frame cannot be read: the run stops (tests/test_faults_vmm.c runs
 * the real thing). */
Test(hypercall, trap_needs_the_vcpu)
{
	cr_assert_eq(call(PW_HC_TRAP, 13), HC_STOP);
	cr_assert_eq(run.stop, RUN_STOP_KVM_ERROR);
	run.stop = RUN_STOP_NONE;
	expect_bad(call(PW_HC_TRAP, 300), "bad hypercall trap (port 0x505): vector 300 is not an "
					  "interrupt vector (0..255), at RIP 0x0");
}

Test(hypercall, recovery_struct_is_checked_and_kept)
{
	cr_assert_eq(call(PW_HC_RECOVERY, ARG_GPA), HC_RESUME);
	cr_assert_eq(run.recovery_gpa, ARG_GPA);
	expect_bad(call(PW_HC_RECOVERY, RAM - 8),
		   "bad hypercall recovery (port 0x506): struct at 0x3ffff8 (120 bytes) is "
		   "outside guest RAM, at RIP 0x0");
}

Test(hypercall, names)
{
	cr_assert_str_eq(hypercall_name(PW_HC_CONSOLE), "console");
	cr_assert_str_eq(hypercall_name(PW_HC_TRAP), "trap");
	cr_assert_str_eq(hypercall_name(PW_HC_COUNT), "?");
}
