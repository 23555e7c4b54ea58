/* Every input the fuzzers ever crashed on (fuzz/regress/<target>/), and the seed corpus
 * (fuzz/corpus/<target>/), replayed through the same entry points libFuzzer calls. A target
 * that aborts fails the test that replays it. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "run_helper.h"

/* Feed every file of $PW_ROOT/fuzz/<kind>/<target> to one; returns how many there were. */
static int replay_dir(const char *kind, const char *target,
		      int (*one)(const uint8_t *data, size_t len))
{
	char dir[4096], path[8192];
	struct dirent *d;
	int n = 0;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/fuzz/%s/%s", pw_root(), kind, target);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		FILE *f;
		uint8_t *buf;
		long len;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		f = fopen(path, "rb");
		cr_assert_not_null(f, "%s", path);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		buf = malloc((size_t)len + 1);
		cr_assert_not_null(buf);
		cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len, "%s", path);
		fclose(f);
		one(buf, (size_t)len);
		free(buf);
		n++;
	}
	closedir(dp);
	return n;
}

#define REPLAY_TEST(target)                                                                        \
	Test(fuzz_regress, target)                                                                 \
	{                                                                                          \
		int seeds = replay_dir("corpus", #target, fuzz_##target##_one);                    \
		replay_dir("regress", #target, fuzz_##target##_one);                               \
		cr_expect_gt(seeds, 0, "no seed corpus in fuzz/corpus/" #target);                  \
	}

REPLAY_TEST(loader)
REPLAY_TEST(hypercall)
REPLAY_TEST(paging)
REPLAY_TEST(spec)
REPLAY_TEST(gdb)
