/* The single-step lock. */
#include "steplock.h"

#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>

#define STEPLOCK_FILE	  "pagewarden-single-step.lock"

int steplock_open(void)
{
	static const char *const dirs[] = {"/dev/shm", "/tmp"};
	char path[64];
	int fd = -1;

	if (!platform_in_qemu_tcg())
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && fd < 0; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], STEPLOCK_FILE);
		/* read-only is enough for flock, and lets every user share a file root made */
		fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
	}
	return fd;
}

void steplock_hold(int fd, bool on)
{
	if (fd < 0)
		return;
	while (flock(fd, on ? LOCK_EX : LOCK_UN) < 0 && errno == EINTR)
		;
}
