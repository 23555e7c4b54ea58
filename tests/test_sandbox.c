/* The seccomp sandbox: in force while a guest runs (and absent with --no-sandbox), and what
 * the filter itself lets through, kills, or refuses, checked in a forked child; capstone,
 * preloaded, still decodes under it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disasm.h"
#include "run_helper.h"
#include "sandbox.h"
#include "status.h"

/* The "Seccomp:" mode of pid (0 none, 2 filter), or -1 once the process is gone. */
static int seccomp_mode(pid_t pid)
{
	char path[64], line[256];
	int mode = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

/* Start ./vmm [extra] hang.bin; the guest prints "hanging" once it runs, which is after the
 * filter is installed. Returns the pid; *out_fd reads the guest's console. */
static pid_t start_hang(const char *extra, int *out_fd)
{
	char vmm[4096];
	int p[2];
	pid_t pid;

	snprintf(vmm, sizeof(vmm), "%s/vmm", pw_root());
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		if (extra)
			execl(vmm, vmm, "-q", "--timeout", "60", extra, guest("hang.bin"), NULL);
		else
			execl(vmm, vmm, "-q", "--timeout", "60", guest("hang.bin"), NULL);
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* Wait for the console's first bytes: the guest is running (blocking read, no clock). */
static void wait_running(int fd)
{
	char buf[64];

	cr_assert_gt(read(fd, buf, sizeof(buf)), 0, "the guest never printed");
}

static void stop(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
}

Test(sandbox, in_force_while_the_guest_runs)
{
	int fd;
	pid_t pid;

	require_kvm();
	cr_assert(sandbox_available(), "built without libseccomp");
	pid = start_hang(NULL, &fd);
	wait_running(fd);
	cr_expect_eq(seccomp_mode(pid), 2, "Seccomp mode of the running VMM");
	stop(pid, fd);
}

Test(sandbox, off_with_no_sandbox)
{
	int fd;
	pid_t pid;

	require_kvm();
	pid = start_hang("--no-sandbox", &fd);
	wait_running(fd);
	cr_expect_eq(seccomp_mode(pid), 0);
	stop(pid, fd);
}

/* Run fn in a child under the filter for fake fds; return the child's wait status. */
static int under_filter(void (*fn)(void))
{
	struct vm vm = {.kvm_fd = -1, .vm_fd = 1000, .vcpu_fd = 1001};
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (sandbox_install(&vm) != SANDBOX_OK)
			_exit(100);
		fn();
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void do_socket(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void do_open(void)
{
	_exit(open("/etc/passwd", O_RDONLY) < 0 && errno == EACCES ? 0 : 1);
}

static void do_wrong_ioctl(void)
{
	ioctl(1001, KVM_CREATE_VCPU, 0); /* not a run-loop ioctl, on the vCPU fd */
}

static void do_malloc_and_write(void)
{
	char *p = malloc(1 << 20); /* large: mmap */

	_exit(p && write(STDERR_FILENO, "", 0) == 0 ? 0 : 1);
}

static void do_exec_mapping(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

Test(sandbox, kills_a_syscall_outside_the_list)
{
	int st = under_filter(do_socket);

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "wait status 0x%x", st);
}

Test(sandbox, kills_an_ioctl_outside_the_list)
{
	int st = under_filter(do_wrong_ioctl);

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "wait status 0x%x", st);
}

Test(sandbox, kills_an_executable_mapping)
{
	int st = under_filter(do_exec_mapping);

	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "wait status 0x%x", st);
}

Test(sandbox, open_fails_with_eacces)
{
	int st = under_filter(do_open);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status 0x%x", st);
}

Test(sandbox, malloc_and_write_still_work)
{
	int st = under_filter(do_malloc_and_write);

	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status 0x%x", st);
}

/* Decode many random byte strings: every lazily initialised path of capstone must already have
 * run in disasm_preload, or the filter kills the child (glibc's qsort asks sysinfo, say). */
static void do_disassemble(void)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct disasm_insn insn;
	uint8_t code[16];
	unsigned decoded = 0;

	for (int i = 0; i < 20000; i++) {
		for (size_t k = 0; k < sizeof(code); k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			code[k] = (uint8_t)x;
		}
		decoded += disasm_one(code, sizeof(code), 0x100000, &insn) == DISASM_OK;
	}
	_exit(decoded > 10000 ? 0 : 1);
}

Test(sandbox, preloaded_disassembler_works_under_the_filter)
{
	int st;

	if (!disasm_preload())
		cr_skip_test("no disassembler in this build (libcapstone-dev missing)");
	st = under_filter(do_disassemble); /* the child inherits the loaded library */
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "wait status 0x%x", st);
}

/* The crash report of a sandboxed run still names the faulting instruction. */
Test(sandbox, crash_report_disassembles_under_the_sandbox)
{
	struct proc_result r;

	require_kvm();
	if (!disasm_preload())
		cr_skip_test("no disassembler in this build (libcapstone-dev missing)");
	r = vmm_run(guest("triple.bin"), NULL);
	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "  instruction: ud2\n"), "%s", r.err);
	proc_result_free(&r);
}
