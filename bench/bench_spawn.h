/* Timing a whole process, start to exit, for the boot benchmarks. Header-only, like
 * bench_stats.h; each bench/ file is its own program. */
#ifndef PW_BENCH_SPAWN_H
#define PW_BENCH_SPAWN_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

/* CLOCK_MONOTONIC in milliseconds. */
static inline double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Run argv (argv[0] found on PATH if it has no slash) with stdin, stdout and stderr on
 * /dev/null; returns its wall time in ms, or -1 (said on stderr, prefixed who) if it could not
 * run or did not exit with status want. */
static inline double bench_spawn_ms(const char *who, char *const argv[], int want)
{
	posix_spawn_file_actions_t fa;
	double start, end;
	int status = 0;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	start = bench_now_ms();
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "%s: %s: %s\n", who, argv[0], strerror(err));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	end = bench_now_ms();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want) {
		fprintf(stderr, "%s: %s %s failed (status 0x%x)\n", who, argv[0],
			argv[1] ? argv[1] : "", status);
		return -1;
	}
	return end - start;
}

#endif
