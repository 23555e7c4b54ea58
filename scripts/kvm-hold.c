/* kvm-hold: two small jobs for scripts/kvm-vm, on raw /dev/kvm ioctls.
 *
 *   kvm-hold probe   exit 0 when /dev/kvm opens read-write, speaks API 12 and creates a VM;
 *                    otherwise print why on stderr and exit 1.
 *   kvm-hold hold    create one VM with one vCPU and keep them until killed.
 *
 * Why "hold": the first VM a kernel creates (and the last it destroys) flips static keys, which
 * live-patches kernel text. QEMU 7.2's multi-threaded TCG can keep executing stale translations
 * of that text, and the emulated machine livelocks. A VM and vCPU held open for the whole run
 * keep those keys from flipping back and forth (docs/platforms.md). */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Open /dev/kvm and create a VM; returns the VM fd, or -1 after printing why. */
static int create_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api, vm;

	if (kvm < 0) {
		fprintf(stderr, "kvm-hold: /dev/kvm: %s\n", strerror(errno));
		return -1;
	}
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-hold: /dev/kvm speaks API %d, not %d\n", api, KVM_API_VERSION);
		return -1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		fprintf(stderr, "kvm-hold: KVM_CREATE_VM: %s\n", strerror(errno));
	return vm;
}

int main(int argc, char **argv)
{
	int vm;

	if (argc != 2 || (strcmp(argv[1], "probe") && strcmp(argv[1], "hold"))) {
		fprintf(stderr, "usage: kvm-hold probe|hold\n");
		return 2;
	}
	vm = create_vm();
	if (vm < 0)
		return 1;
	if (!strcmp(argv[1], "probe"))
		return 0;
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0) {
		fprintf(stderr, "kvm-hold: KVM_CREATE_VCPU: %s\n", strerror(errno));
		return 1;
	}
	for (;;)
		pause();
}
