/* One process single-steps a guest at a time, where concurrent single steps interfere: under
 * QEMU's software emulation of SVM before 9.1, one VM's steps get lost or land in the host
 * kernel, which can crash, when another VM single-steps meanwhile (docs/platforms.md). The lock
 * is an flock on a file every process opens before its sandbox goes on. */
#ifndef PW_HOST_STEPLOCK_H
#define PW_HOST_STEPLOCK_H

#include <stdbool.h>

/* The lock file's fd where steps interfere (KVM nested in QEMU TCG), else -1 (no lock). */
int steplock_open(void);

/* Take (on) or release the lock through fd (-1: nothing to do). */
void steplock_hold(int fd, bool on);

#endif
