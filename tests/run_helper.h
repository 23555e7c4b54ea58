/* Test helpers shared by the test files that run ./vmm: a subprocess runner that captures
 * stdout and stderr under a time limit, paths to the built guests, and the KVM skip rule.
 * Environment: PW_ROOT (repo root, holds ./vmm and guest.bin), PW_BUILD (absolute build dir). */
#ifndef PW_TESTS_RUN_HELPER_H
#define PW_TESTS_RUN_HELPER_H

#include <stdbool.h>
#include <stddef.h>

/* What a finished subprocess left. */
struct proc_result {
	int status;	/* exit status, or -1 if a signal ended it */
	int signal;	/* the signal that ended it, or 0 */
	bool timed_out; /* killed by the runner's time limit */
	char *out;	/* captured stdout, NUL-terminated */
	char *err;	/* captured stderr, NUL-terminated */
	size_t out_len, err_len;
	double secs; /* wall time */
};

/* Default limit for one ./vmm run: generous, a boot takes a few ms. */
#define VMM_TEST_LIMIT 20.0

/* Run argv (argv[0] a path, NULL-terminated) with stdin from /dev/null, killing it after
 * limit seconds. Returns 0, or -1 if it could not be started (res->err then says why). */
int proc_run(const char *const argv[], double limit, struct proc_result *res);

/* proc_run, but the child first drops to uid/gid (as root; uid -1: no change). */
int proc_run_as(const char *const argv[], double limit, int uid, struct proc_result *res);

/* Free what proc_run allocated. */
void proc_result_free(struct proc_result *res);

/* Run $PW_ROOT/vmm with the given arguments (NULL-terminated) under VMM_TEST_LIMIT; fails the
 * test if it cannot start or hits the limit. */
struct proc_result vmm_run(const char *arg, ...) __attribute__((sentinel));

/* $PW_ROOT and $PW_BUILD; fail the test if unset. */
const char *pw_root(void);
const char *pw_build(void);

/* Path of a test guest, "$PW_BUILD/tests/guests/NAME" (e.g. "hello.bin"); fails the test if
 * the file does not exist (make test builds them all). The string lives until the test ends. */
const char *guest(const char *name);

/* Path "$PW_ROOT/NAME" of a file in the repo (e.g. "guest.bin"), same contract as guest(). */
const char *repo_file(const char *name);

/* A fresh file path in a per-test temporary directory. */
const char *temp_path(const char *name);

/* True if /dev/kvm can run a VM here; *why says why not. */
bool kvm_usable(const char **why);

/* Skip the current test when KVM is unusable, or fail it if REQUIRE_KVM=1 (CI). */
void require_kvm(void);

/* Platform facts the tests skip on (docs/platforms.md lists each with its evidence). */
enum platform_quirk {
	/* QEMU's x86 emulation (every version): a reserved-bit #PF comes with error code RSVD
	 * alone, where the SDM (vol. 3A, 4.7) makes RSVD imply P. */
	QUIRK_RSVD_WITHOUT_P,
	/* QEMU's x86 emulation (7.2 and later): the guest's page-table walk probes every entry
	 * for writing through the nested page tables, so tables in a read-only memslot
	 * (--protect-pt) fault at the first walk, A/D bits preset or not. */
	QUIRK_WALK_WRITES_TABLES,
	/* QEMU's JIT: a nested guest's CPU time includes translating its code, and varied 2x
	 * between processes for the same run (measured: golden runs 0.5 to 1.1 ms, one
	 * experiment 18 to 41 ms), so a hang budget derived from it does not reproduce. */
	QUIRK_CPU_TIME_VARIES,
};

/* Skip the current test where quirk q of the platform makes its assertion wrong, naming it. */
void skip_on_quirk(enum platform_quirk q);

/* The whole file at path, NUL-terminated (fails the test if unreadable). */
char *read_text(const char *path);

/* Write len bytes to a new file name in a temp directory and return its path. */
const char *write_temp(const char *name, const void *data, size_t len);

/* The value text following "key": in json (whitespace skipped), or NULL if the key is absent:
 * enough to check the run report without a JSON library. */
const char *json_value(const char *json, const char *key);

/* True if "key": in json is followed by the literal want (e.g. "0", "\"exit\"", "null"). */
bool json_has(const char *json, const char *key, const char *want);

/* Line number of the first line of source file path (relative to PW_ROOT) containing needle,
 * or -1: lets tests check a reported file:line without hard-coding the line. */
int source_line(const char *path, const char *needle);

#endif
