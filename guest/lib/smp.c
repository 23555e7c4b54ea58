/* Several CPUs (pagewarden/smp.h, docs/smp.md): the secondary CPUs' start, pw_cpus_run, the
 * spinlock, IPIs through the x2APIC, and TLB shootdown. The VMM starts every CPU at the image's
 * entry with RSI = its number; pw_start sends the secondary ones to pw_ap_main. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/smp.h>

#include "runtime.h"
#include "smp_vectors.h"
#include "trap.h"

_Static_assert(VEC_WAKE == PW_VEC_WAKE && VEC_SHOOTDOWN == PW_VEC_SHOOTDOWN, "ipi.S's vectors");

#define MSR_APIC_BASE	  0x1b
#define APIC_BASE_ENABLE  (1u << 11)
#define APIC_BASE_X2APIC  (1u << 10)
#define MSR_X2APIC_SVR	  0x80f
#define APIC_SVR_ENABLE	  (1u << 8)
#define APIC_SPURIOUS_VEC 0xff
#define MSR_X2APIC_EOI	  0x80b
#define MSR_X2APIC_ICR	  0x830
#define ICR_LEVEL_ASSERT  (1u << 14) /* the SDM wants it set for fixed delivery */
#define RFLAGS_IF	  (1u << 9)

void pw_ipi_wake_entry(void);
void pw_ipi_shootdown_entry(void);
void pw_ipi_spurious_entry(void);

static volatile unsigned smp_online; /* secondary CPUs in their wait loop */
static volatile bool smp_idt_ready;  /* CPU 0 has the IPI gates in the IDT page: load it */
static struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) smp_idtr; /* the IDT every CPU loads */

/* pw_cpus_run's work: a new generation wakes the secondary CPUs. */
static void (*volatile work_fn)(unsigned cpu, void *arg);
static void *volatile work_arg;
static volatile uint64_t work_gen;
static volatile unsigned work_done;

/* The shootdown in flight: one at a time, under shootdown_lock. */
static struct pw_spinlock shootdown_lock;
static struct pt_flush shootdown_req;
static volatile uint64_t shootdown_gen;
static volatile unsigned shootdown_acks;
static volatile bool shootdown_remote = true;
static volatile uint64_t shootdowns;

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* Turn interrupts off; returns RFLAGS as it was, for irq_restore. */
static inline uint64_t irq_save(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

/* Turn interrupts back on if flags (irq_save's) had them on. */
static inline void irq_restore(uint64_t flags)
{
	if (flags & RFLAGS_IF)
		__asm__ volatile("sti" ::: "memory");
}

unsigned pw_cpu_count(void)
{
	unsigned n = pw_boot_info()->ncpus;

	return n ? n : 1;
}

unsigned pw_cpu_id(void)
{
	return pw_this_cpu()->id;
}

/* Defined below: the waits serve shootdowns. */
static void shootdown_serve(void);

void pw_spin_lock(struct pw_spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (l->locked) {
			shootdown_serve(); /* the holder may be waiting for this CPU */
			cpu_relax();
		}
}

void pw_spin_unlock(struct pw_spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

void pw_send_ipi(unsigned cpu, unsigned vector)
{
	/* x2APIC: one MSR write, destination in bits 63:32 (KVM's APIC id is the vCPU number),
	 * fixed delivery, physical destination. */
	pw_wrmsr(MSR_X2APIC_ICR, ((uint64_t)cpu << 32) | ICR_LEVEL_ASSERT | (vector & 0xff));
}

/* Switch this CPU's local APIC to x2APIC mode and enable it. */
static void apic_enable(void)
{
	pw_wrmsr(MSR_APIC_BASE, pw_rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	pw_wrmsr(MSR_X2APIC_SVR, APIC_SVR_ENABLE | APIC_SPURIOUS_VEC);
}

/* Carry out the shootdown in flight if this CPU has not yet: invalidate, then acknowledge. Run
 * by the IPI and by every CPU that waits (for the lock, for pw_cpus_run), so that a CPU with
 * interrupts off never holds up a shootdown it waits behind. */
static void shootdown_serve(void)
{
	uint64_t flags = irq_save();
	struct pw_cpu *c = pw_this_cpu();
	uint64_t gen = __atomic_load_n(&shootdown_gen, __ATOMIC_ACQUIRE);

	/* Interrupts off: the IPI must not serve the same request between the check and the
	 * record, or the request would be acknowledged twice. */
	if (c->shootdown_seen != gen) {
		c->shootdown_seen = gen;
		pw_tlb_flush(&shootdown_req);
		__atomic_add_fetch(&shootdown_acks, 1, __ATOMIC_RELEASE);
	}
	irq_restore(flags);
}

/* Called by ipi.S with the vector it took. */
void pw_ipi_dispatch(unsigned vector)
{
	if (vector == VEC_SHOOTDOWN)
		shootdown_serve();
	pw_wrmsr(MSR_X2APIC_EOI, 0);
}

void pw_shootdown_remote(bool on)
{
	shootdown_remote = on;
}

uint64_t pw_shootdown_count(void)
{
	return shootdowns;
}

unsigned pw_pt_apply_flush(const struct pt_flush *fl)
{
	unsigned n = pw_cpu_count(), self = pw_cpu_id(), acks;
	uint64_t flags;

	pw_tlb_flush(fl);
	if (n == 1 || !shootdown_remote || fl->kind == PT_FLUSH_NONE)
		return 0;
	pw_spin_lock(&shootdown_lock); /* serves others' shootdowns while it waits */
	/* Holding the lock, interrupts off: no other request can be in flight (the others wait
	 * for the lock and serve by polling), and no late IPI can make this CPU serve its own. */
	flags = irq_save();
	shootdown_req = *fl;
	shootdown_acks = 0;
	pw_this_cpu()->shootdown_seen = shootdown_gen + 1;
	__atomic_add_fetch(&shootdown_gen, 1, __ATOMIC_SEQ_CST);
	shootdowns++;
	for (unsigned cpu = 0; cpu < n; cpu++)
		if (cpu != self)
			pw_send_ipi(cpu, VEC_SHOOTDOWN);
	while ((acks = __atomic_load_n(&shootdown_acks, __ATOMIC_ACQUIRE)) < n - 1)
		cpu_relax();
	irq_restore(flags);
	pw_spin_unlock(&shootdown_lock);
	return acks;
}

void pw_cpus_run(void (*fn)(unsigned cpu, void *arg), void *arg)
{
	unsigned n = pw_cpu_count();

	if (n == 1) {
		fn(0, arg);
		return;
	}
	if (pw_cpu_id() != 0)
		panic("pw_cpus_run from CPU %u: only CPU 0 hands out work", pw_cpu_id());
	work_fn = fn;
	work_arg = arg;
	work_done = 0;
	__atomic_add_fetch(&work_gen, 1, __ATOMIC_SEQ_CST);
	for (unsigned cpu = 1; cpu < n; cpu++)
		pw_send_ipi(cpu, VEC_WAKE);
	fn(0, arg);
	while (__atomic_load_n(&work_done, __ATOMIC_ACQUIRE) < n - 1) {
		shootdown_serve();
		cpu_relax();
	}
}

void pw_smp_init(void)
{
	unsigned n = pw_cpu_count();

	pw_idt_set_handler(VEC_WAKE, pw_ipi_wake_entry, 0);
	pw_idt_set_handler(VEC_SHOOTDOWN, pw_ipi_shootdown_entry, 0);
	pw_idt_set_handler(APIC_SPURIOUS_VEC, pw_ipi_spurious_entry, 0);
	__asm__ volatile("sidt %0" : "=m"(smp_idtr));
	console_percpu = true;
	__atomic_store_n(&smp_idt_ready, true, __ATOMIC_RELEASE);
	apic_enable();
	while (__atomic_load_n(&smp_online, __ATOMIC_ACQUIRE) < n - 1)
		cpu_relax();
	/* From here CPU 0 takes IPIs too, so a shootdown sent by another CPU never waits for it
	 * longer than an interrupts-off stretch (a fault handler, ring 3). */
	__asm__ volatile("sti");
}

void pw_ap_main(unsigned cpu)
{
	uint64_t seen;

	while (!__atomic_load_n(&smp_idt_ready, __ATOMIC_ACQUIRE))
		cpu_relax();
	__asm__ volatile("lidt %0" : : "m"(smp_idtr));
	apic_enable();
	seen = work_gen;
	__atomic_add_fetch(&smp_online, 1, __ATOMIC_RELEASE);
	for (;;) {
		/* sti; hlt: an IPI between the check and hlt still ends hlt (the sti shadow). */
		__asm__ volatile("cli" ::: "memory");
		if (work_gen == seen) {
			__asm__ volatile("sti; hlt" ::: "memory");
			continue;
		}
		__asm__ volatile("sti" ::: "memory");
		seen = work_gen;
		work_fn(cpu, work_arg);
		__atomic_add_fetch(&work_done, 1, __ATOMIC_RELEASE);
	}
}
