/* The seccomp sandbox: in force while a guest runs (and absent with --no-sandbox), and what
 * the filter itself lets through, kills, or refuses, checked in a forked child; capstone,
 * preloaded, still decodes under it. */
#include <criterion/criterion.h>
#include <pty.h>
#include <dirent.h>
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

/* Start ./vmm args... (NULL-terminated, at most 12) in a process group of its own, output to
 * /dev/null; returns its pid (the group's id). */
static pid_t start_vmm_group(const char *const args[])
{
	char vmm[4096];
	const char *argv[16] = {vmm};
	pid_t pid;

	snprintf(vmm, sizeof(vmm), "%s/vmm", pw_root());
	for (int i = 0; args[i] && i < 12; i++)
		argv[i + 1] = args[i];
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		setpgid(0, 0);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execv(vmm, (char *const *)argv);
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, so it holds whichever runs first */
	return pid;
}

/* Up to max children of parent (the /proc entries whose PPid is parent) into out; the count. */
static int children_of(pid_t parent, pid_t *out, int max)
{
	char path[300], line[256];
	struct dirent *d;
	int n = 0;
	DIR *proc = opendir("/proc");

	cr_assert_not_null(proc);
	while (n < max && (d = readdir(proc)) != NULL) {
		FILE *f;
		int ppid;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "PPid: %d", &ppid) == 1) {
				if (ppid == parent)
					out[n++] = (pid_t)atoi(d->d_name);
				break;
			}
		fclose(f);
	}
	closedir(proc);
	return n;
}

/* The first child of parent, or -1. */
static pid_t child_of(pid_t parent)
{
	pid_t c;

	return children_of(parent, &c, 1) == 1 ? c : -1;
}

/* The Seccomp mode pid (or, with in_child, its first child) reaches within secs: polls every
 * millisecond, returns as soon as it is 2, else the last mode seen (-1: never found). */
static int seccomp_within(pid_t pid, bool in_child, double secs)
{
	int mode = -1;

	for (int ms = 0; ms < secs * 1000; ms++) {
		pid_t p = in_child ? child_of(pid) : pid;
		int m = p > 0 ? seccomp_mode(p) : -1;

		if (m >= 0)
			mode = m;
		if (mode == 2)
			break;
		usleep(1000);
	}
	return mode;
}

static void stop_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* spin_after_checkpoint's golden run never ends, so the VMM stays in it for the 10 s sanity
 * limit: long enough to look at it. */
Test(sandbox, in_force_in_an_injection_run)
{
	const char *args[] = {"--inject", "reg:rax:bit=0@hc=1", NULL, NULL};
	pid_t pid;
	int mode;

	require_kvm();
	args[2] = guest("spin_after_checkpoint.elf");
	pid = start_vmm_group(args);
	mode = seccomp_within(pid, false, 5);
	stop_group(pid);
	cr_expect_eq(mode, 2, "Seccomp mode of ./vmm --inject");
}

Test(sandbox, in_force_in_every_campaign_worker)
{
	const char *args[] = {"campaign", "--runs",	   "10", "--jobs",
			      "2",	  "--no-progress", NULL, NULL};
	pid_t pid, workers[4];
	int n = 0;

	require_kvm();
	args[6] = guest("spin_after_checkpoint.elf");
	pid = start_vmm_group(args);
	for (int ms = 0; ms < 5000 && n < 2; ms++, usleep(1000))
		n = children_of(pid, workers, 4);
	for (int i = 0; i < n; i++)
		cr_expect_eq(seccomp_within(workers[i], false, 5), 2, "Seccomp mode of worker %d",
			     i);
	cr_expect_eq(seccomp_mode(pid), 0, "the parent runs no guest code and is not confined");
	stop_group(pid);
	cr_expect_eq(n, 2, "%d workers for --jobs 2", n);
}

Test(sandbox, off_in_workers_with_no_sandbox)
{
	const char *args[] = {"campaign",      "--runs", "10", "--no-sandbox",
			      "--no-progress", NULL,	 NULL};
	pid_t pid;
	int mode;

	require_kvm();
	args[5] = guest("spin_after_checkpoint.elf");
	pid = start_vmm_group(args);
	mode = seccomp_within(pid, true, 0.3); /* confining takes a few ms when it happens */
	stop_group(pid);
	cr_expect_eq(mode, 0, "Seccomp mode of a --no-sandbox worker");
}

/* Run fn in a child under the filter for fake fds; return the child's wait status. */
static int under_filter(void (*fn)(void))
{
	struct vm vm = {.kvm_fd = -1, .vm_fd = 1000, .vcpu_fd = 1001};
	int st;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (sandbox_install(&vm, -1, -1) != SANDBOX_OK)
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

/* Run ./vmm args with stdout and stderr on a pseudo-terminal; returns what it printed (malloc'd)
 * and its wait status in *st. */
static char *run_on_pty(const char *const args[], int *st)
{
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	char vmm[4096];
	int fd;
	pid_t pid;
	ssize_t k;

	snprintf(vmm, sizeof(vmm), "%s/vmm", pw_root());
	pid = forkpty(&fd, NULL, NULL, NULL);
	cr_assert(pid >= 0 && out, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		const char *argv[8] = {vmm};

		for (size_t i = 0; args[i] && i < 6; i++)
			argv[i + 1] = args[i];
		execv(vmm, (char *const *)argv);
		_exit(127);
	}
	/* EIO once the child is gone and the pty is closed */
	while (len + 1 < cap && (k = read(fd, out + len, cap - len - 1)) > 0)
		len += (size_t)k;
	close(fd);
	waitpid(pid, st, 0);
	return out;
}

/* The crash report of a sandboxed run still names the faulting instruction when a person reads
 * it (stderr a terminal: capstone is loaded before the filter); otherwise it says how to get it. */
Test(sandbox, crash_report_disassembles_under_the_sandbox)
{
	const char *const args[] = {guest("triple.bin"), NULL};
	struct proc_result r;
	char *tty;
	int st;

	require_kvm();
	if (!disasm_preload())
		cr_skip_test("no disassembler in this build (libcapstone-dev missing)");
	tty = run_on_pty(args, &st);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == PW_STATUS_CRASH, "status 0x%x: %s", st, tty);
	cr_assert(strstr(tty, "  instruction: ud2"), "%s", tty);
	free(tty);
	r = vmm_run(guest("triple.bin"), NULL); /* stderr a pipe: not loaded, and said so */
	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "  instruction: not disassembled under the sandbox"), "%s", r.err);
	proc_result_free(&r);
	r = vmm_run("--no-sandbox", guest("triple.bin"), NULL);
	cr_assert(strstr(r.err, "  instruction: ud2\n"), "%s", r.err);
	proc_result_free(&r);
}
