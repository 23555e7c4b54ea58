/* Helpers for the tests that run ./vmm (see run_helper.h). Not a test file itself: the Makefile
 * links every tests/test_*.c into the one Criterion binary. */
#include "run_helper.h"

#include "platform.h"

#include <criterion/criterion.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VMM_MAX_ARGS 32

static double now_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growing byte buffer for one pipe. */
struct buf {
	char *p;
	size_t len, cap;
};

/* Read what fd has into b; returns false at EOF or error. */
static bool buf_read(struct buf *b, int fd)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, tmp, (size_t)n);
	b->len += (size_t)n;
	return true;
}

/* Give b a terminating NUL (and a buffer even when nothing was read). */
static char *buf_finish(struct buf *b, size_t *len)
{
	if (!b->p) {
		b->p = malloc(1);
		cr_assert_not_null(b->p);
	}
	b->p[b->len] = '\0';
	*len = b->len;
	return b->p;
}

/* In the child: wire the pipes to stdout/stderr, stdin to /dev/null, drop to uid, exec. */
static void child_exec(const char *const argv[], int out, int err, int uid)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (uid >= 0 &&
	    (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0))
		_exit(126);
	execv(argv[0], (char *const *)argv);
	dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Drain both pipes until EOF on both, killing pid once limit seconds have passed. */
static void drain(pid_t pid, int out_fd, int err_fd, double limit, struct buf *out, struct buf *err,
		  bool *timed_out)
{
	struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
	double deadline = now_secs() + limit;

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		double left = deadline - now_secs();
		int ms = left > 0 ? (int)(left * 1000) + 1 : 0;

		if (left <= 0 && !*timed_out) {
			kill(pid, SIGKILL);
			*timed_out = true;
		}
		if (poll(p, 2, *timed_out ? -1 : ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!buf_read(i == 0 ? out : err, p[i].fd)) {
				close(p[i].fd);
				p[i].fd = -1;
			}
		}
	}
}

int proc_run(const char *const argv[], double limit, struct proc_result *res)
{
	return proc_run_as(argv, limit, -1, res);
}

int proc_run_as(const char *const argv[], double limit, int uid, struct proc_result *res)
{
	struct buf out = {0}, err = {0};
	int po[2], pe[2], st = 0;
	double start = now_secs();
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		child_exec(argv, po[1], pe[1], uid);
	close(po[1]);
	close(pe[1]);
	drain(pid, po[0], pe[0], limit, &out, &err, &res->timed_out);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	res->secs = now_secs() - start;
	res->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	res->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	res->out = buf_finish(&out, &res->out_len);
	res->err = buf_finish(&err, &res->err_len);
	return 0;
}

void proc_result_free(struct proc_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

const char *pw_root(void)
{
	const char *s = getenv("PW_ROOT");

	cr_assert(s && *s, "PW_ROOT is not set: run the tests with `make test`");
	return s;
}

const char *pw_build(void)
{
	const char *s = getenv("PW_BUILD");

	cr_assert(s && *s, "PW_BUILD is not set: run the tests with `make test`");
	return s;
}

/* "dir/name" in a malloc'ed string that lives until the test process ends. */
static const char *path_join(const char *dir, const char *name)
{
	char *p = NULL;

	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static const char *existing(const char *path)
{
	struct stat st;

	cr_assert(stat(path, &st) == 0, "%s: %s (make test builds it)", path, strerror(errno));
	return path;
}

const char *guest(const char *name)
{
	char *dir = NULL;

	cr_assert(asprintf(&dir, "%s/tests/guests", pw_build()) > 0);
	return existing(path_join(dir, name));
}

const char *repo_file(const char *name)
{
	return existing(path_join(pw_root(), name));
}

/* Temporary files made by temp_path in this test process, removed when it exits (Criterion
 * runs each test in a process of its own). */
#define TEMP_MAX 32
static char *temp_files[TEMP_MAX], *temp_dirs[TEMP_MAX];
static int temp_count;

static void temp_cleanup(void)
{
	for (int i = 0; i < temp_count; i++) {
		unlink(temp_files[i]);
		rmdir(temp_dirs[i]);
	}
}

const char *temp_path(const char *name)
{
	char tmpl[] = "/tmp/pw-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	const char *path;

	cr_assert_not_null(dir, "mkdtemp: %s", strerror(errno));
	cr_assert_lt(temp_count, TEMP_MAX, "too many temporary files in one test");
	dir = strdup(dir);
	path = path_join(dir, name);
	if (temp_count == 0)
		atexit(temp_cleanup);
	temp_dirs[temp_count] = dir;
	temp_files[temp_count++] = (char *)path;
	return path;
}

struct proc_result vmm_run(const char *arg, ...)
{
	const char *argv[VMM_MAX_ARGS + 2];
	struct proc_result res;
	va_list ap;
	int n = 0;

	argv[n++] = path_join(pw_root(), "vmm");
	va_start(ap, arg);
	for (const char *a = arg; a; a = va_arg(ap, const char *)) {
		cr_assert(n <= VMM_MAX_ARGS, "too many arguments for vmm_run");
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	cr_assert(proc_run(argv, VMM_TEST_LIMIT, &res) == 0, "cannot start %s: %s", argv[0],
		  strerror(errno));
	cr_assert(!res.timed_out, "%s did not finish within %gs; stderr:\n%s", argv[0],
		  VMM_TEST_LIMIT, res.err);
	return res;
}

bool kvm_usable(const char **why)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm;

	if (kvm < 0) {
		*why = errno == ENOENT ? "/dev/kvm does not exist" : "/dev/kvm cannot be opened";
		return false;
	}
	vm = ioctl(kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION ? ioctl(kvm, KVM_CREATE_VM, 0)
								   : -1;
	close(kvm);
	if (vm < 0) {
		*why = "/dev/kvm cannot create a VM";
		return false;
	}
	close(vm);
	return true;
}

void require_kvm(void)
{
	const char *why = NULL;
	const char *req = getenv("REQUIRE_KVM");

	if (kvm_usable(&why))
		return;
	if (req && strcmp(req, "1") == 0)
		cr_assert_fail("REQUIRE_KVM=1 but KVM is unusable: %s", why);
	cr_skip_test("needs KVM: %s (set REQUIRE_KVM=1 to make this a failure)", why);
}

void skip_on_quirk(enum platform_quirk q)
{
	static const char *const why[] = {
	    [QUIRK_RSVD_WITHOUT_P] = "QEMU's emulation reports a reserved-bit #PF without P (error "
				     "code 0x8; the SDM requires 0x9)",
	    [QUIRK_WALK_WRITES_TABLES] = "QEMU's emulation walks guest page tables with write "
					 "intent, so --protect-pt tables fault at the first walk",
	    [QUIRK_CPU_TIME_VARIES] = "a guest's CPU time under QEMU's JIT varies 2x between "
				      "processes, so the automatic hang budget does not reproduce",
	};

	if (platform_in_qemu_tcg())
		cr_skip_test("KVM nested in QEMU TCG: %s (docs/platforms.md)", why[q]);
}

int source_line(const char *path, const char *needle)
{
	const char *full = path_join(pw_root(), path);
	FILE *f = fopen(full, "r");
	char line[1024];
	int n = 0;

	cr_assert_not_null(f, "%s: %s", full, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, needle)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	return -1;
}

char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	struct buf b = {0};
	size_t len;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	while (buf_read(&b, fileno(f)))
		;
	fclose(f);
	return buf_finish(&b, &len);
}

const char *write_temp(const char *name, const void *data, size_t len)
{
	const char *path = temp_path(name);
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

const char *json_value(const char *json, const char *key)
{
	char quoted[128];
	const char *p;

	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	p = strstr(json, quoted);
	if (!p)
		return NULL;
	p += strlen(quoted);
	while (*p == ' ' || *p == '\n')
		p++;
	return p;
}

bool json_has(const char *json, const char *key, const char *want)
{
	const char *v = json_value(json, key);

	return v && strncmp(v, want, strlen(want)) == 0;
}
