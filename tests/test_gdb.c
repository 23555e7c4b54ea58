/* ./vmm --gdb driven by the real gdb (Debian's, in batch mode) on tests/guests/gdb_target.c:
 * breakpoints, locals and globals, stepping, watchpoints (debug registers or pages), memory
 * and registers, guard faults under both fault modes, kill; and the stub's wire under bad
 * input (a raw socket, no gdb). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elf_symbol.h"
#include "run_helper.h"

#define GDB_LIMIT     240.0 /* one whole gdb session; the KVM VM emulates every step */
#define VMM_WAIT_S    60    /* for ./vmm to print its port, and to end after gdb */
#define GDB_ARGS_MAX  64

/* A ./vmm --gdb child and where it listens. */
struct stub {
	pid_t pid;
	int port;
	const char *err_path, *out_path;
	int status; /* after stub_wait: exit status, or -1 */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start ./vmm --gdb 127.0.0.1:0 with args (NULL-terminated) and wait for its port. */
static struct stub stub_start(const char *arg, ...)
{
	const char *argv[GDB_ARGS_MAX] = {NULL};
	struct stub s = {.err_path = temp_path("vmm.err"), .out_path = temp_path("vmm.out")};
	char vmm[4096];
	unsigned n = 0;
	va_list ap;
	double start = now_s();

	snprintf(vmm, sizeof(vmm), "%s/vmm", pw_root());
	argv[n++] = vmm;
	argv[n++] = "--gdb";
	argv[n++] = "127.0.0.1:0";
	va_start(ap, arg);
	for (const char *a = arg; a && n < GDB_ARGS_MAX - 1; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	s.pid = fork();
	cr_assert_geq(s.pid, 0, "fork: %s", strerror(errno));
	if (s.pid == 0) {
		if (!freopen(s.err_path, "w", stderr) || !freopen(s.out_path, "w", stdout) ||
		    !freopen("/dev/null", "r", stdin))
			_exit(127);
		execv(vmm, (char *const *)argv);
		_exit(127);
	}
	while (now_s() - start < VMM_WAIT_S) {
		FILE *f = fopen(s.err_path, "r");
		char line[512];

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "vmm: waiting for gdb on 127.0.0.1:%d", &s.port) == 1)
				break;
		if (f)
			fclose(f);
		if (s.port > 0)
			return s;
		if (waitpid(s.pid, &s.status, WNOHANG) == s.pid)
			cr_assert_fail("./vmm --gdb ended before listening:\n%s", read_text(s.err_path));
		usleep(20000);
	}
	kill(s.pid, SIGKILL);
	cr_assert_fail("./vmm --gdb did not say where it waits:\n%s", read_text(s.err_path));
	return s;
}

/* Wait for the stub's ./vmm to end (killing it after VMM_WAIT_S); its status. */
static int stub_wait(struct stub *s)
{
	double start = now_s();
	int st;

	while (waitpid(s->pid, &st, WNOHANG) != s->pid) {
		if (now_s() - start > VMM_WAIT_S) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			cr_assert_fail("./vmm did not end after gdb:\n%s", read_text(s->err_path));
		}
		usleep(20000);
	}
	s->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return s->status;
}

/* Run gdb in batch mode on elf against the stub, with the commands (NULL-terminated); its
 * output (stdout and stderr together), which the test frees with the result. */
static struct proc_result gdb_session(const struct stub *s, const char *elf, const char *cmd,
				      ...)
{
	/* gdb gives up on a reply after 2 s by default; the KVM VM is slower than that at times */
	const char *argv[2 * GDB_ARGS_MAX + 10] = {"/usr/bin/gdb", "-nx", "-batch", "-ex",
						   "set confirm off", "-ex", "set remotetimeout 60",
						   "-ex", NULL};
	char target[64];
	unsigned n = 8;
	struct proc_result r;
	va_list ap;

	snprintf(target, sizeof(target), "target remote 127.0.0.1:%d", s->port);
	argv[n++] = target;
	va_start(ap, cmd);
	for (const char *c = cmd; c && n < 2 * GDB_ARGS_MAX; c = va_arg(ap, const char *)) {
		argv[n++] = "-ex";
		argv[n++] = c;
	}
	va_end(ap);
	argv[n++] = elf;
	argv[n] = NULL;
	cr_assert_eq(proc_run(argv, GDB_LIMIT, &r), 0, "gdb: %s", r.err);
	cr_assert(!r.timed_out, "gdb timed out:\n%s\n%s", r.out, r.err);
	return r;
}

/* True if text matches the extended regex re (REG_NEWLINE); the first group into g1. */
static bool matches(const char *text, const char *re, char *g1, size_t n)
{
	regex_t rx;
	regmatch_t m[2];
	bool ok;

	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE), 0, "bad regex %s", re);
	ok = regexec(&rx, text, 2, m, 0) == 0;
	if (ok && g1 && m[1].rm_so >= 0) {
		size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);

		len = len < n - 1 ? len : n - 1;
		memcpy(g1, text + m[1].rm_so, len);
		g1[len] = '\0';
	}
	regfree(&rx);
	return ok;
}

static void require_gdb(void)
{
	require_kvm();
	if (access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("Debian's gdb is not installed (scripts/deps.sh installs it)");
}

#define EXPECT_OUT(r, re) cr_expect(matches((r).out, (re), NULL, 0), "no /%s/ in:\n%s", (re), (r).out)

/* Break at a C function, read a local (its argument) and a global, then kill. */
Test(gdb, break_reads_local_and_global_then_kill)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "break gdb_add", "continue", "print step",
			"print gdb_total", "print gdb_counter", "kill", NULL);
	EXPECT_OUT(r, "^Breakpoint 1, gdb_add \\(step=step@entry=1\\) at .*gdb_target.c:[0-9]+");
	EXPECT_OUT(r, "^\\$1 = 1$");
	EXPECT_OUT(r, "^\\$2 = 1000$");
	EXPECT_OUT(r, "^\\$3 = 0$");
	EXPECT_OUT(r, "\\[Inferior 1 \\(Remote target\\) killed\\]");
	cr_expect_eq(stub_wait(&s), 78, "status %d:\n%s", s.status, read_text(s.err_path));
	cr_expect(strstr(read_text(s.err_path), "vmm: killed by gdb at RIP 0x"), "%s",
		  read_text(s.err_path));
	proc_result_free(&r);
}

/* `next` steps over a line: from the line the breakpoint stopped on to a later one of the same
 * function (which one depends on the compiler's line table). */
Test(gdb, next_steps_over_a_line)
{
	struct stub s;
	struct proc_result r;
	char at[16], line[16];
	int end = source_line("tests/guests/gdb_target.c", "return gdb_counter");

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "break gdb_add", "continue", "next",
			"info line *$pc", "continue", "delete", "continue", NULL);
	cr_assert(matches(r.out, "^Breakpoint 1, gdb_add .* at .*gdb_target.c:([0-9]+)$", at,
			  sizeof(at)),
		  "%s", r.out);
	cr_assert(matches(r.out, "^Line ([0-9]+) of \".*gdb_target.c\"", line, sizeof(line)),
		  "%s", r.out);
	cr_expect(atoi(line) > atoi(at) && atoi(line) <= end,
		  "next went from line %s to line %s (gdb_add ends at %d):\n%s", at, line, end,
		  r.out);
	EXPECT_OUT(r, "Remote target\\) exited normally");
	cr_expect_eq(stub_wait(&s), 0);
	proc_result_free(&r);
}

/* A hardware watchpoint on a global: two hits with old and new values. how: --gdb-watch. */
static void watch_counter(const char *how)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	s = stub_start(how, guest("gdb_target.elf"), NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "watch gdb_counter", "continue", "continue",
			"delete", "continue", NULL);
	EXPECT_OUT(r, "^Hardware watchpoint 1: gdb_counter");
	EXPECT_OUT(r, "^Old value = 0\nNew value = 1\n");
	EXPECT_OUT(r, "^Old value = 1\nNew value = 3\n");
	EXPECT_OUT(r, "Remote target\\) exited normally");
	cr_expect_eq(stub_wait(&s), 0, "%s", read_text(s.err_path));
	proc_result_free(&r);
}

Test(gdb, watchpoint_shows_old_and_new_values)
{
	watch_counter("--gdb-watch=auto");
}

Test(gdb, page_watchpoint_shows_old_and_new_values)
{
	watch_counter("--gdb-watch=pages");
}

/* Read and access watchpoints (a page taken out of the memslots where no debug register
 * fires): every load and store of gdb_counter, in program order. */
Test(gdb, access_and_read_watchpoints)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "awatch gdb_counter", "continue", "continue",
			"continue", "delete", "rwatch gdb_counter", "continue", "delete", "continue",
			NULL);
	/* gcc reads and writes with separate instructions, clang with one add to memory (one
	 * access, reported as the write it is; gdb ignores a read watchpoint whose value changed) */
	EXPECT_OUT(r, "^Old value = 0\nNew value = 1\n");
	EXPECT_OUT(r, "^Hardware access \\(read/write\\) watchpoint 1: gdb_counter\n\nValue = 1\n");
	EXPECT_OUT(r, "^Hardware read watchpoint 2: gdb_counter\n\nValue = [13]\n");
	EXPECT_OUT(r, "Remote target\\) exited normally");
	cr_expect_eq(stub_wait(&s), 0, "%s", read_text(s.err_path));
	proc_result_free(&r);
}

/* Watching under --protect-pt (tables in their own read-only slot) works the same. */
Test(gdb, watchpoint_with_protect_pt)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	s = stub_start("--protect-pt", guest("gdb_target.elf"), NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "watch gdb_total", "continue", "delete",
			"continue", NULL);
	EXPECT_OUT(r, "^Old value = 1000\nNew value = 1001\n");
	EXPECT_OUT(r, "Remote target\\) exited normally");
	cr_expect_eq(stub_wait(&s), 0, "%s", read_text(s.err_path));
	proc_result_free(&r);
}

/* x/4gx $rsp at a breakpoint: the top word is the return address bt names for main. */
Test(gdb, examine_stack_and_registers)
{
	struct stub s;
	struct proc_result r;
	char ret[32], top[32];

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "break gdb_add", "continue", "bt",
			"x/4gx $rsp", "info registers", "kill", NULL);
	cr_assert(matches(r.out, "^#1  0x0*([0-9a-f]+) in main \\(\\)", ret, sizeof(ret)), "%s",
		  r.out);
	cr_assert(matches(r.out, "^0x[0-9a-f]+:[[:space:]]+0x0*([0-9a-f]+)[[:space:]]+0x[0-9a-f]+$",
			  top, sizeof(top)),
		  "%s", r.out);
	cr_expect_str_eq(top, ret, "x/4gx $rsp starts with 0x%s, bt says main at 0x%s", top, ret);
	EXPECT_OUT(r, "^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <gdb_add>");
	EXPECT_OUT(r, "^cr3 +0x[1-9a-f][0-9a-f]* ");
	EXPECT_OUT(r, "^cr0 +0x8[0-9a-f]{7} "); /* PG set */
	EXPECT_OUT(r, "^fs_base +0x0 ");
	EXPECT_OUT(r, "^gs_base +0x2c00 "); /* the CPU's struct pw_cpu_data (docs/abi.md) */
	EXPECT_OUT(r, "^efer +0x[0-9a-f]*d00 "); /* LME, LMA, NXE */
	stub_wait(&s);
	proc_result_free(&r);
}

/* Continue into a guard fault: SIGSEGV at the faulting store in gdb_crash, before the handler
 * (guest mode) or the VMM (vmm mode) sees it; continuing lets it crash as without gdb. */
static void fault_stop(const char *mode)
{
	struct stub s;
	struct proc_result r;
	char pc[32], rip[32];

	require_gdb();
	s = stub_start(mode, guest("gdb_target.elf"), "null", NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "continue", "print/x $pc", "bt",
			"continue", NULL);
	EXPECT_OUT(r, "^Program received signal SIGSEGV, Segmentation fault.\n(0x[0-9a-f]+ in )?"
		      "gdb_crash \\(\\) at .*gdb_target.c:[0-9]+");
	EXPECT_OUT(r, "^#1  0x[0-9a-f]+ in main \\(\\)");
	EXPECT_OUT(r, "Program terminated with signal SIGSEGV");
	cr_assert(matches(r.out, "^\\$1 = 0x([0-9a-f]+)$", pc, sizeof(pc)), "%s", r.out);
	cr_expect_eq(stub_wait(&s), 75, "%s", read_text(s.err_path));
	cr_assert(matches(read_text(s.err_path), "null[^\n]* at 0x10[^\n]*[Rr][Ii][Pp] 0x([0-9a-f]+)",
			  rip, sizeof(rip)),
		  "%s", read_text(s.err_path));
	cr_expect_str_eq(pc, rip, "gdb stopped at 0x%s, the VMM reports the fault at 0x%s", pc, rip);
	proc_result_free(&r);
}

Test(gdb, guard_fault_stops_with_sigsegv_guest_mode)
{
	fault_stop("--faults=guest");
}

Test(gdb, guard_fault_stops_with_sigsegv_vmm_mode)
{
	fault_stop("--faults=vmm");
}

/* Breakpoints are out of guest memory when the guest ends: the core file (--core) holds the
 * code as built, not the int3 or hlt gdb had inserted when it let the guest crash. */
Test(gdb, breakpoints_are_gone_from_the_core)
{
	struct stub s;
	struct proc_result r, elf, core;
	const char *corefile = temp_path("gdb.core");
	const char *argv_elf[] = {"/usr/bin/gdb", "-nx", "-batch", "-ex", "x/2xb gdb_add",
				  guest("gdb_target.elf"), NULL};
	const char *argv_core[] = {"/usr/bin/gdb", "-nx", "-batch", "-ex", "x/2xb gdb_add",
				   guest("gdb_target.elf"), corefile, NULL};
	char want[64], got[64];

	require_gdb();
	s = stub_start("--core", corefile, guest("gdb_target.elf"), "null", NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "break gdb_add", "continue", "continue",
			"continue", "continue", "continue", NULL);
	EXPECT_OUT(r, "Program terminated with signal SIGSEGV");
	cr_expect_eq(stub_wait(&s), 75, "%s", read_text(s.err_path));
	cr_assert_eq(proc_run(argv_elf, GDB_LIMIT, &elf), 0);
	cr_assert_eq(proc_run(argv_core, GDB_LIMIT, &core), 0);
	cr_assert(matches(elf.out, "^0x[0-9a-f]+ <gdb_add>:(.*)$", want, sizeof(want)), "%s",
		  elf.out);
	cr_assert(matches(core.out, "^0x[0-9a-f]+ <gdb_add>:(.*)$", got, sizeof(got)), "%s\n%s",
		  core.out, core.err);
	cr_expect_str_eq(got, want, "gdb_add in the core:%s, in the ELF:%s", got, want);
	proc_result_free(&elf);
	proc_result_free(&core);
	proc_result_free(&r);
}

/* `signal 0` at a fault stop does not deliver the fault: moved past the faulting store (to
 * gdb_crash_after), the guest runs on and exits 0, in both fault modes. */
static void skip_fault(const char *mode)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	s = stub_start(mode, guest("gdb_target.elf"), "null", NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "continue", "x/i $pc",
			"set $pc = (long) &gdb_crash_after", "signal 0", NULL);
	EXPECT_OUT(r, "^=> 0x[0-9a-f]+ <gdb_crash\\+[0-9]+>:\tmovq +\\$0x1,\\(%r");
	EXPECT_OUT(r, "Remote target\\) exited normally");
	cr_expect_eq(stub_wait(&s), 0, "%s", read_text(s.err_path));
	proc_result_free(&r);
}

Test(gdb, signal_0_skips_the_fault_guest_mode)
{
	skip_fault("--faults=guest");
}

Test(gdb, signal_0_skips_the_fault_vmm_mode)
{
	skip_fault("--faults=vmm");
}

/* An expected fault (pw_probe_write) stops gdb too; continuing hands it to the runtime, which
 * recovers as it does without a debugger. #UD stops with SIGILL. */
Test(gdb, expected_fault_is_delivered_on_continue)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), "probe", NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "continue", "continue", NULL);
	EXPECT_OUT(r, "^Program received signal SIGSEGV, Segmentation fault.\n.*pw_recovery_probe");
	EXPECT_OUT(r, "Remote target\\) exited normally");
	cr_expect_eq(stub_wait(&s), 0);
	cr_expect(strstr(read_text(s.out_path), "probe: null"), "%s", read_text(s.out_path));
	proc_result_free(&r);
}

Test(gdb, ud2_stops_with_sigill)
{
	struct stub s;
	struct proc_result r;

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), "ud", NULL);
	r = gdb_session(&s, guest("gdb_target.elf"), "continue", "continue", NULL);
	EXPECT_OUT(r, "^Program received signal SIGILL, Illegal instruction.\nmain \\(\\) at ");
	EXPECT_OUT(r, "Program terminated with signal SIGILL");
	cr_expect_eq(stub_wait(&s), 75);
	proc_result_free(&r);
}

/* --inject with --gdb: gdb connects at the injection point (here just after the first
 * checkpoint, with the data page's PTE cleared) and follows the corrupted run to its fault. */
Test(gdb, inject_stops_at_the_injection_point)
{
	struct stub s;
	struct proc_result r;
	char spec[64];

	require_gdb();
	snprintf(spec, sizeof(spec), "pte:0x%llx:clear-p@checkpoint=1",
		 (unsigned long long)(elf_symbol(guest("workload.elf"), "workload_data") & ~0xfffull));
	s = stub_start("--inject", spec, guest("workload.elf"), NULL);
	cr_expect(strstr(read_text(s.err_path), "gdb is to connect to 127.0.0.1:"), "%s",
		  read_text(s.err_path));
	r = gdb_session(&s, guest("workload.elf"), "bt", "continue", "continue", NULL);
	EXPECT_OUT(r, "^#0  (0x[0-9a-f]+ in )?pw_checkpoint \\(id=id@entry=1");
	EXPECT_OUT(r, "^#1  0x[0-9a-f]+ in main \\(\\) at .*workload.c");
	EXPECT_OUT(r, "^Program received signal SIGSEGV, Segmentation fault.\nmain \\(\\) at "
		      ".*workload.c:[0-9]+");
	EXPECT_OUT(r, "Program terminated with signal SIGSEGV");
	cr_expect_eq(stub_wait(&s), 75, "%s", read_text(s.err_path));
	cr_expect(strstr(read_text(s.out_path), "\"outcome\":\"detected\""), "%s",
		  read_text(s.out_path));
	proc_result_free(&r);
}

/* #DE stops with SIGFPE at the divide, in both fault modes, before any handler has printed. */
Test(gdb, divide_error_stops_with_sigfpe)
{
	static const char *const modes[] = {"--faults=guest", "--faults=vmm"};

	require_gdb();
	for (unsigned i = 0; i < 2; i++) {
		struct stub s = stub_start(modes[i], guest("fault_de.elf"), NULL);
		struct proc_result r = gdb_session(&s, guest("fault_de.elf"), "continue",
						   "x/i $pc", "kill", NULL);

		EXPECT_OUT(r, "^Program received signal SIGFPE, Arithmetic exception.\n(0x[0-9a-f]+ in )?main \\(\\) at ");
		EXPECT_OUT(r, "^=> 0x[0-9a-f]+ <main\\+[0-9]+>:\tdiv");
		cr_expect_eq(stub_wait(&s), 78, "%s: %s", modes[i], read_text(s.err_path));
		cr_expect(!strstr(read_text(s.out_path), "fault:"),
			  "%s: the guest's handler ran before the stop:\n%s", modes[i],
			  read_text(s.out_path));
		proc_result_free(&r);
	}
}

/* ---- the wire, without gdb ----------------------------------------------------------------- */

static int wire_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 30};

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	cr_assert(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect: %s",
		  strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send s and read until the reply holds want (or the connection ends); the bytes read. */
static char *wire_ask(int fd, const char *s, const char *want)
{
	static char buf[65536];
	size_t n = 0;

	cr_assert_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
	buf[0] = '\0';
	while (!strstr(buf, want) && n < sizeof(buf) - 1) {
		ssize_t k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);

		if (k <= 0)
			break;
		n += (size_t)k;
		buf[n] = '\0';
	}
	return buf;
}

/* A packet framed with its checksum. */
static const char *pkt(const char *payload)
{
	static char buf[4][512];
	static unsigned i;
	unsigned sum = 0;
	char *b = buf[i++ % 4];

	for (const char *p = payload; *p; p++)
		sum += (unsigned char)*p;
	snprintf(b, 512, "$%s#%02x", payload, sum & 0xff);
	return b;
}

/* Bad checksums, oversized and malformed packets get error replies; a disconnect in the middle
 * of a packet detaches, and the guest runs to its end. */
Test(gdb, bad_packets_are_refused_and_a_disconnect_detaches)
{
	struct stub s;
	char *big = malloc(20000), *reply;
	int fd;

	require_gdb();
	s = stub_start(guest("gdb_target.elf"), NULL);
	fd = wire_connect(s.port);
	reply = wire_ask(fd, "$qSupported#00", "-");
	cr_expect(strchr(reply, '-'), "a bad checksum is answered with '-': %s", reply);
	memset(big, '0', 19990);
	memcpy(big, "$m", 2);
	{
		unsigned sum = 0;

		for (int i = 1; i < 19990; i++)
			sum += (unsigned char)big[i];
		snprintf(big + 19990, 4, "#%02x", sum & 0xff);
	}
	reply = wire_ask(fd, big, "E01");
	cr_expect(strstr(reply, "$E01#"), "an oversized packet gets E01: %.80s", reply);
	reply = wire_ask(fd, pkt("mzz,10"), "#");
	cr_expect(strstr(reply, "$E01#"), "a malformed m gets E01: %s", reply);
	reply = wire_ask(fd, pkt("m0,8"), "#");
	cr_expect(strstr(reply, "$E14#"), "the null guard page is unmapped: E14: %s", reply);
	reply = wire_ask(fd, pkt("qSupported:swbreak+"), "#");
	cr_expect(strstr(reply, "PacketSize=4000"), "%s", reply);
	reply = wire_ask(fd, pkt("qXfer:features:read:target.xml:0,40"), "#");
	cr_expect(strstr(reply, "$m<?xml"), "%s", reply);
	reply = wire_ask(fd, pkt("g"), "#");
	cr_expect(strlen(reply) > 1000, "g answers every register: %s", reply);
	cr_assert_eq(send(fd, "$m10000", 7, MSG_NOSIGNAL), 7);
	close(fd);
	cr_expect_eq(stub_wait(&s), 0, "%s", read_text(s.err_path));
	cr_expect(strstr(read_text(s.err_path), "gdb disconnected; the guest runs on"), "%s",
		  read_text(s.err_path));
	cr_expect(strstr(read_text(s.out_path), "gdb_target: sum 10 total 1006"), "%s",
		  read_text(s.out_path));
	free(big);
}

/* ^C (0x03) while the guest runs stops it with SIGINT; k then kills it. */
Test(gdb, interrupt_stops_a_running_guest)
{
	struct stub s;
	char *reply;
	int fd;

	require_gdb();
	s = stub_start(guest("hang.elf"), NULL);
	fd = wire_connect(s.port);
	reply = wire_ask(fd, pkt("?"), "#");
	cr_expect(strstr(reply, "$T05"), "%s", reply);
	cr_assert_eq(send(fd, pkt("c"), 5, MSG_NOSIGNAL), 5);
	usleep(300000);
	reply = wire_ask(fd, "\x03", "#");
	cr_expect(strstr(reply, "$T02thread:1;#"), "^C stops with SIGINT: %s", reply);
	cr_assert_eq(send(fd, pkt("k"), 5, MSG_NOSIGNAL), 5);
	cr_expect_eq(stub_wait(&s), 78, "%s", read_text(s.err_path));
	close(fd);
}

/* Loopback only unless asked; a bad address is a usage error. */
Test(gdb, listens_on_loopback_unless_told)
{
	struct proc_result r;

	require_kvm();
	r = vmm_run("--gdb", "0.0.0.0:0", guest("hello.bin"), NULL);
	cr_expect_eq(r.status, 64);
	cr_expect(strstr(r.err, "not a loopback address"), "%s", r.err);
	proc_result_free(&r);
	r = vmm_run("--gdb", "localhost:99999", guest("hello.bin"), NULL);
	cr_expect_eq(r.status, 64);
	cr_expect(strstr(r.err, "want [HOST:]PORT"), "%s", r.err);
	proc_result_free(&r);
}
