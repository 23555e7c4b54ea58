/* Build-time seccomp filter compiler: turns the rules in host/sandbox_rules.h into classic BPF
 * with libseccomp and prints it as a C header (the Makefile writes $(B)/gen/sandbox_bpf.h), so
 * that ./vmm loads a finished program with one seccomp(2) call instead of building it with
 * libseccomp at every start (~0.1 ms). The VMM's fds appear as placeholders; the header says
 * how many comparisons use each, and host/sandbox.c checks that count when it patches them. */
#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sandbox_rules.h"

#define GEN_MAX_INSNS 4096

/* ioctl(fd, req) allowed for each req in reqs[0..n). */
static int gen_ioctls(scmp_filter_ctx ctx, int fd, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd, 0),
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)reqs[i], 0)) < 0)
			return -1;
	return 0;
}

/* The rules --gdb adds: recv and send on the socket, memslot changes. */
static int gen_gdb_rules(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < SANDBOX_N(sandbox_gdb_socket); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_gdb_socket[i], 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)SANDBOX_FD_GDB, 0)) < 0)
			return -1;
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(accept4), 1,
			     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)SANDBOX_FD_GDB_LISTEN, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(dup3), 1,
			     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)SANDBOX_FD_GDB, 0)) < 0)
		return -1;
	return gen_ioctls(ctx, SANDBOX_FD_VM, sandbox_gdb_vm_reqs, SANDBOX_N(sandbox_gdb_vm_reqs));
}

/* ioctl(fd, req) for each req in reqs[0..n) and any fd of the vCPU block (--cpus). */
static int gen_block_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, SANDBOX_VCPU_BLOCK_MASK,
					     (scmp_datum_t)SANDBOX_FD_VCPU_BLOCK),
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)reqs[i], 0)) < 0)
			return -1;
	return 0;
}

/* Add every rule to ctx, with placeholder fds (and gdb's with gdb; the vCPU block's with smp
 * instead of one vCPU's). */
static int gen_rules(scmp_filter_ctx ctx, int gdb, int smp)
{
	if (gdb && gen_gdb_rules(ctx) < 0)
		return -1;
	for (size_t i = 0; i < SANDBOX_N(sandbox_plain); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_plain[i], 0) < 0)
			return -1;
	/* malloc may map memory, but nothing may become executable: no injected code runs. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		return -1;
	if (SANDBOX_MPROTECT_NOEXEC &&
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		return -1;
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)SANDBOX_TTY_IOCTL, 0)) < 0)
		return -1;
#ifndef __SANITIZE_ADDRESS__ /* ASan's list has them, and tgkill to every process */
	for (size_t i = 0; smp && i < SANDBOX_N(sandbox_smp); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_smp[i], 0) < 0)
			return -1;
	if (smp && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)SANDBOX_PID, 0)) < 0)
		return -1;
#endif
	/* Opening files fails instead of killing: optional loads degrade (docs/security.md). */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0) < 0)
		return -1;
	if (smp)
		return gen_block_ioctls(ctx, sandbox_vcpu_reqs, SANDBOX_N(sandbox_vcpu_reqs)) ||
		       gen_block_ioctls(ctx, sandbox_smp_vcpu_reqs,
					SANDBOX_N(sandbox_smp_vcpu_reqs)) ||
		       gen_ioctls(ctx, SANDBOX_FD_VM, sandbox_vm_reqs, SANDBOX_N(sandbox_vm_reqs)) ||
		       gen_ioctls(ctx, SANDBOX_FD_VM, sandbox_smp_vm_reqs,
				  SANDBOX_N(sandbox_smp_vm_reqs));
	return gen_ioctls(ctx, SANDBOX_FD_VCPU, sandbox_vcpu_reqs, SANDBOX_N(sandbox_vcpu_reqs)) ||
	       gen_ioctls(ctx, SANDBOX_FD_VM, sandbox_vm_reqs, SANDBOX_N(sandbox_vm_reqs));
}

/* Compile the filter (gdb: with gdb's rules; smp: for --cpus) into insns; returns the
 * instruction count, or -1. */
static long gen_compile(struct sock_filter *insns, size_t max, int gdb, int smp)
{
	/* Kill the whole process, not one thread: a VMM that made a syscall outside this list is
	 * either buggy or no longer ours. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	FILE *tmp = tmpfile();
	long len = -1;

	if (ctx && tmp && gen_rules(ctx, gdb, smp) == 0 &&
	    seccomp_export_bpf(ctx, fileno(tmp)) == 0) {
		rewind(tmp);
		len = (long)fread(insns, sizeof(*insns), max, tmp);
		if (len <= 0 || (size_t)len == max)
			len = -1;
	}
	if (tmp)
		fclose(tmp);
	seccomp_release(ctx);
	return len;
}

/* Number of `jeq #fd` tests of placeholder fd; -1 if it appears anywhere else. */
static long gen_slots(const struct sock_filter *insns, long n, unsigned fd)
{
	long slots = 0;

	for (long i = 0; i < n; i++) {
		if (insns[i].k != fd)
			continue;
		if (insns[i].code != (BPF_JMP | BPF_JEQ | BPF_K))
			return -1;
		slots++;
	}
	return slots;
}

/* Print filter insns[0..n) as the C array name, with its placeholder counts; false if a
 * placeholder is missing or misplaced. */
static int gen_print(const char *name, const struct sock_filter *insns, long n, int gdb, int smp)
{
	long vcpu = n > 0 ? gen_slots(insns, n, smp ? SANDBOX_FD_VCPU_BLOCK : SANDBOX_FD_VCPU) : -1;
	long vm = n > 0 ? gen_slots(insns, n, SANDBOX_FD_VM) : -1;
	long sock = n > 0 ? gen_slots(insns, n, SANDBOX_FD_GDB) : -1;
	long lsn = n > 0 ? gen_slots(insns, n, SANDBOX_FD_GDB_LISTEN) : -1;
	long pid = n > 0 ? gen_slots(insns, n, SANDBOX_PID) : -1;

	if (n <= 0 || vcpu <= 0 || vm <= 0 || sock < 0 || lsn < 0 || pid < 0 ||
	    (gdb && (!sock || !lsn))) {
		fprintf(stderr,
			"sandbox_gen: cannot compile the seccomp filter %s (%ld instructions, "
			"%ld vCPU, %ld VM, %ld socket, %ld listening fd and %ld pid slots)\n",
			name, n, vcpu, vm, sock, lsn, pid);
		return -1;
	}
	printf("#define %s_VCPU_SLOTS %ld\n#define %s_VM_SLOTS %ld\n#define %s_GDB_SLOTS %ld\n"
	       "#define %s_LISTEN_SLOTS %ld\n#define %s_PID_SLOTS %ld\n"
	       "static const struct sock_filter %s[%ld] = {\n",
	       name, vcpu, name, vm, name, sock, name, lsn, name, pid, name, n);
	for (long i = 0; i < n; i++)
		printf("\t{0x%04x, %u, %u, 0x%08x},\n", insns[i].code, insns[i].jt, insns[i].jf,
		       insns[i].k);
	printf("};\n");
	return 0;
}

int main(void)
{
	static struct sock_filter insns[GEN_MAX_INSNS];
	long n;

	printf("/* Generated by host/tools/sandbox_gen.c from host/sandbox_rules.h: do not edit. */\n");
	n = gen_compile(insns, GEN_MAX_INSNS, 0, 0);
	if (gen_print("sandbox_bpf", insns, n, 0, 0) < 0)
		return 1;
	n = gen_compile(insns, GEN_MAX_INSNS, 1, 0);
	if (gen_print("sandbox_bpf_gdb", insns, n, 1, 0) < 0)
		return 1;
	n = gen_compile(insns, GEN_MAX_INSNS, 0, 1);
	if (gen_print("sandbox_bpf_smp", insns, n, 0, 1) < 0)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
