/* What one boot, one fault and one campaign experiment cost in guest instructions and VM exits,
 * measured with `./vmm --count` (single steps; host/count.h). Shared by the benchmark that
 * prints the figures (bench/bench_counts.c) and the test that holds them to their budgets
 * (tests/test_counts.c), so both measure the same thing. Header-only: static functions.
 *
 * Per-fault figures come from tests/guests/fault_bench.c, which runs N iterations of one kind
 * through one loop: what one iteration costs is (count at N = 2K) - (count at N = K), over K,
 * with K and 2K of the same number of digits so the guest's own printing and parsing cost the
 * same. A fault's figure is its kind's iteration minus the `probe` kind's (the same probe of a
 * mapped byte): what the fault adds to the probe that expected it. */
#ifndef PW_TESTS_COUNT_MEASURE_H
#define PW_TESTS_COUNT_MEASURE_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CM_ITERS    10 /* K: iterations at the first point; the second runs 2K */
#define CM_ARGS_MAX 16
#define CM_JSON_MAX 8192

/* What one ./vmm run counted. */
struct cm_count {
	uint64_t insns, exits;		   /* the whole run (insns only with --count) */
	bool checkpointed;		   /* it made a checkpoint: */
	uint64_t insns_after, exits_after; /* ... what came after the first one */
};

/* Where ./vmm and the guests are. */
struct cm_paths {
	char vmm[4096], guests[4096]; /* $PW_ROOT/vmm, $PW_BUILD/tests/guests */
};

/* The unsigned number after "key": in a JSON report, or false. */
static inline bool cm_json_u64(const char *json, const char *key, uint64_t *v)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	return p && sscanf(p + strlen(pat), "%" SCNu64, v) == 1;
}

/* Run `vmm -q [COUNT] --json TMP args...` with its console and stderr on /dev/null and read
 * its report into *c. count: "--count" (or "--count=bps") to single-step for instructions, NULL
 * for exits only. Returns the vmm's exit status, or -1 (why says why) if it could not run or
 * its report is incomplete. */
static inline int cm_run(const struct cm_paths *p, const char *count, const char *const args[],
			 struct cm_count *c, char *why, size_t n)
{
	char json_path[] = "/tmp/pw-count-XXXXXX", json[CM_JSON_MAX];
	const char *argv[CM_ARGS_MAX + 6];
	int fd = mkstemp(json_path), st = -1, k = 0;
	ssize_t got;
	pid_t pid;

	if (fd < 0) {
		snprintf(why, n, "mkstemp: %s", strerror(errno));
		return -1;
	}
	argv[k++] = p->vmm;
	argv[k++] = "-q";
	if (count)
		argv[k++] = count;
	argv[k++] = "--json";
	argv[k++] = json_path;
	for (int i = 0; args[i] && i < CM_ARGS_MAX; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	got = pread(fd, json, sizeof(json) - 1, 0);
	close(fd);
	unlink(json_path);
	json[got > 0 ? got : 0] = '\0';
	memset(c, 0, sizeof(*c));
	c->checkpointed = cm_json_u64(json, "exits_after_checkpoint", &c->exits_after) &&
			  (!count || cm_json_u64(json, "insns_after_checkpoint", &c->insns_after));
	if (pid < 0 || !WIFEXITED(st) ||
	    !cm_json_u64(json, count ? "guest_exits" : "exits_total", &c->exits) ||
	    (count && !cm_json_u64(json, "insns", &c->insns))) {
		snprintf(why, n, "vmm %.100s %.300s: no complete report (status 0x%x)", args[0],
			 args[1] ? args[1] : "", st);
		return -1;
	}
	return WEXITSTATUS(st);
}

/* One iteration of fault_bench KIND under --faults=MODE, from runs of K and 2K (and, with
 * check, 3K: the steps between must be equal, or why says they are not). Returns false with
 * why on any failure. */
static inline bool cm_fault_iter(const struct cm_paths *p, const char *count, const char *mode,
				 const char *kind, bool check, struct cm_count *iter, char *why,
				 size_t n)
{
	char image[4200], iters[3][16];
	struct cm_count c[3];
	int runs = check ? 3 : 2;

	snprintf(image, sizeof(image), "%s/fault_bench.bin", p->guests);
	for (int i = 0; i < runs; i++) {
		const char *args[] = {mode, image, kind, iters[i], "untimed", NULL};

		snprintf(iters[i], sizeof(iters[i]), "%d", (i + 1) * CM_ITERS);
		if (cm_run(p, count, args, &c[i], why, n) != 0) {
			if (!*why)
				snprintf(why, n, "fault_bench %s %s failed", kind, iters[i]);
			return false;
		}
	}
	if (check && (c[2].insns - c[1].insns != c[1].insns - c[0].insns ||
		      c[2].exits - c[1].exits != c[1].exits - c[0].exits)) {
		snprintf(why, n,
			 "fault_bench %s: counts not linear in N: %" PRIu64 "/%" PRIu64 " %" PRIu64
			 "/%" PRIu64 " %" PRIu64 "/%" PRIu64
			 " instructions/exits at N = %d, %d, %d",
			 kind, c[0].insns, c[0].exits, c[1].insns, c[1].exits, c[2].insns,
			 c[2].exits, CM_ITERS, 2 * CM_ITERS, 3 * CM_ITERS);
		return false;
	}
	if ((c[1].insns - c[0].insns) % CM_ITERS || (c[1].exits - c[0].exits) % CM_ITERS) {
		snprintf(why, n, "fault_bench %s: %d iterations are not %d times one", kind,
			 CM_ITERS, CM_ITERS);
		return false;
	}
	*iter = (struct cm_count){.insns = (c[1].insns - c[0].insns) / CM_ITERS,
				  .exits = (c[1].exits - c[0].exits) / CM_ITERS};
	return true;
}

/* What a fault of kind adds to the probe that took it (see the top of this file). */
static inline bool cm_fault_cost(const struct cm_paths *p, const char *count, const char *mode,
				 const char *kind, bool check, struct cm_count *cost, char *why,
				 size_t n)
{
	struct cm_count f, probe;

	if (!cm_fault_iter(p, count, mode, kind, check, &f, why, n) ||
	    !cm_fault_iter(p, count, mode, "probe", check, &probe, why, n))
		return false;
	*cost = (struct cm_count){.insns = f.insns - probe.insns, .exits = f.exits - probe.exits};
	return true;
}

/* $PW_ROOT/vmm and $PW_BUILD/tests/guests into *p; false if either variable is unset. */
static inline bool cm_paths_init(struct cm_paths *p)
{
	const char *root = getenv("PW_ROOT"), *build = getenv("PW_BUILD");

	if (!root || !build)
		return false;
	snprintf(p->vmm, sizeof(p->vmm), "%s/vmm", root);
	snprintf(p->guests, sizeof(p->guests), "%s/tests/guests", build);
	return true;
}

#endif
