/* The platform probe (host/platform.c) against what each platform is known to do
 * (docs/platforms.md): standard KVM leaves RIP on an `out` at its I/O exit and then reports a
 * single step past it, PVM moves RIP past it at the exit; breakpoints in DR0 fire on hardware
 * and PVM (not under QEMU before 9.1). Needs KVM. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include "platform.h"
#include "steplock.h"
#include "run_helper.h"

/* True on PVM (the kvm_pvm module provides /dev/kvm). */
static bool on_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

/* Probe this host's KVM into *p (fails the test if the probe does), under the single-step
 * lock like ./vmm: other tests' VMs may be single-stepping meanwhile. */
static void probe(struct platform *p)
{
	struct vm_error e = {0};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int lock = steplock_open();

	cr_assert_geq(kvm, 0);
	cr_assert_eq(platform_probe_locked(kvm, lock, p, &e), VM_OK, "%s", e.detail);
	close(kvm);
	if (lock >= 0)
		close(lock);
}

Test(platform, probe_matches_the_platform)
{
	struct platform p;

	require_kvm();
	probe(&p);
	/* The two ways of finishing an `out` go together. */
	cr_expect_eq(p.io_rip_after, !p.step_io_exit, "io_rip_after %d, step_io_exit %d",
		     p.io_rip_after, p.step_io_exit);
	if (on_pvm()) {
		cr_expect(p.io_rip_after, "PVM moves RIP past the out at the exit");
		cr_expect(p.hw_breakpoint, "PVM fires DR0 breakpoints");
		cr_expect(!p.hw_watchpoint, "PVM fires no data breakpoints");
		cr_expect(!p.sw_breakpoint, "PVM cannot run int3 at all");
		cr_expect(p.step_handlers, "PVM single-steps inside exception handlers");
	} else {
		cr_expect(!p.io_rip_after,
			  "standard KVM leaves RIP on the out until the next entry");
		/* QEMU before 9.1 never fires them in a nested guest; later ones may. Exception
		 * delivery clears RFLAGS.TF, which standard KVM steps with. */
		if (!platform_in_qemu_tcg()) {
			cr_expect(p.hw_breakpoint, "DR0 breakpoints fire on hardware KVM");
			cr_expect(p.hw_watchpoint, "data breakpoints fire on hardware KVM");
			cr_expect(!p.step_handlers,
				  "standard KVM's single steps stop in a handler");
		}
	}
}

/* Probing twice gives the same answers: each measurement starts from a clean state. */
Test(platform, probe_is_repeatable)
{
	struct platform a, b;

	require_kvm();
	probe(&a);
	probe(&b);
	cr_expect_eq(a.io_rip_after, b.io_rip_after);
	cr_expect_eq(a.hw_breakpoint, b.hw_breakpoint);
	cr_expect_eq(a.hw_watchpoint, b.hw_watchpoint);
	cr_expect_eq(a.sw_breakpoint, b.sw_breakpoint);
	cr_expect_eq(a.step_io_exit, b.step_io_exit);
	cr_expect_eq(a.step_handlers, b.step_handlers);
	cr_expect_eq(a.step_delivery, b.step_delivery);
}
