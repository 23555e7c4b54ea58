/* The one ABI between the VMM and the guest: boot info, hypercalls, fault kinds.
 *
 * Guest pointers are plain uint64_t guest-physical addresses (identity mapped, so also the
 * guest's virtual addresses). The VMM converts each one through a single checked helper.
 * docs/abi.md describes the same structures.
 */
#ifndef PAGEWARDEN_ABI_H
#define PAGEWARDEN_ABI_H

#include <stdint.h>

/* ---- Hypercalls ----------------------------------------------------------------------------
 * A hypercall is a 32-bit port write: `outl %eax, $PW_PORT(nr)` with EAX = the guest-physical
 * address of the call's argument struct (every struct lives below 4 GiB). The VMM handles the
 * exit and resumes the guest after the instruction. Any other port, width or direction, or a
 * pointer/length that leaves guest RAM, ends the guest with status PW_STATUS_BAD_HYPERCALL.
 * Exception: PW_HC_TRAP carries the vector number in EAX instead of a pointer.
 */
#define PW_PORT_BASE 0x0500
#define PW_PORT(nr)  (PW_PORT_BASE + (nr))

enum pw_hypercall {
	PW_HC_CONSOLE = 0,    /* struct pw_hc_console: write a buffer to the console */
	PW_HC_EXIT = 1,	      /* struct pw_hc_exit: stop with a code */
	PW_HC_FAULT = 2,      /* struct pw_hc_fault: report a fault the guest caught */
	PW_HC_CHECKPOINT = 3, /* struct pw_hc_checkpoint: a marker for tracing and injection */
	PW_HC_PANIC = 4,      /* struct pw_hc_panic: assert/panic with file:line, stops the guest */
	PW_HC_TRAP = 5,	      /* EAX = vector: exit from a VMM-installed IDT stub (--faults=vmm) */
	PW_HC_RECOVERY = 6,   /* struct pw_recovery: where the VMM resumes an expected fault */
	PW_HC_DEBUG = 7,      /* EAX = vector: an exception, before the runtime handles it, when a
			       * debugger is attached (PW_BOOT_F_DEBUGGER; docs/debugging.md) */
	PW_HC_COUNT
};

#define PW_CONSOLE_MAX (1u << 20) /* longest single console write */
#define PW_STRING_MAX  4096u	  /* longest file name or message in a panic */

struct pw_hc_console {
	uint64_t buf; /* GPA of the bytes */
	uint64_t len; /* 0..PW_CONSOLE_MAX */
};

struct pw_hc_exit {
	int64_t code; /* the VMM exits with code & 0xff; use 0..63 to stay clear of VMM statuses */
};

/* Fault kinds, as classified by whoever caught the fault. */
enum pw_fault_kind {
	PW_FAULT_NONE = 0,
	PW_FAULT_NULL,		 /* #PF in the null guard page */
	PW_FAULT_STACK_OVERFLOW, /* #PF in a stack's guard page */
	PW_FAULT_WRITE_PROTECT,	 /* write to a read-only page (text, rodata, boot info) */
	PW_FAULT_NX_EXEC,	 /* instruction fetch from a non-executable page */
	PW_FAULT_HIGH_GUARD,	 /* #PF in the high-end guard below 4 GiB */
	PW_FAULT_HEAP_GROW,	 /* first touch of a heap page: mapped and resumed */
	PW_FAULT_RESERVED_BIT,	 /* #PF with RSVD: a reserved bit set in an entry */
	PW_FAULT_UNMAPPED,	 /* any other #PF */
	PW_FAULT_EXCEPTION,	 /* a non-#PF exception (#GP, #UD, #DE, ...): see vector */
	PW_FAULT_EPT_UNBACKED,	 /* guest-physical access with no memslot behind it */
	PW_FAULT_EPT_READONLY,	 /* write to a read-only memslot (--protect-pt) */
	PW_FAULT_TRIPLE,	 /* triple fault: KVM_EXIT_SHUTDOWN */
	PW_FAULT_USER_SUPERVISOR, /* a CPL-3 access to a supervisor page (U/S = 0 on the walk) */
	PW_FAULT_SMEP,		 /* a supervisor fetch from a user page under CR4.SMEP */
	PW_FAULT_SMAP,		 /* a supervisor data access to a user page under CR4.SMAP, AC = 0 */
	PW_FAULT_KIND_COUNT
};

/* The one-line report of an unrecovered fault, as ./vmm prints it after "vmm: " and a PVH guest
 * after "pvh: " (docs/images.md): the same words from both, so the two can be compared. */
#define PW_CRASH_LINE_FMT                                                                          \
	"guest crashed: %s, %s (vector %u) at 0x%llx, error 0x%llx, RIP 0x%llx, RSP 0x%llx"
#define PW_CRASH_LINE_ARGS(f)                                                                      \
	pw_fault_kind_name((f)->kind), pw_exception_name((f)->vector), (unsigned)(f)->vector,    \
	    (unsigned long long)(f)->gva, (unsigned long long)(f)->error_code,                     \
	    (unsigned long long)(f)->rip, (unsigned long long)(f)->rsp

/* The report of a panic: file, line (unsigned long long), message, each escaped by pw_escape
 * (pagewarden/escape.h). */
#define PW_PANIC_LINE_FMT "guest panic at %s:%llu: %s"

/* Who caught a fault. */
enum pw_caught_by {
	PW_CAUGHT_GUEST_IDT = 0, /* the guest runtime's own IDT handler */
	PW_CAUGHT_VMM = 1,	 /* a VMM-installed IDT stub exited to the VMM */
	PW_CAUGHT_EXIT = 2,	 /* a VM exit (shutdown, MMIO, read-only slot) */
};

struct pw_hc_fault {
	uint32_t kind;	 /* enum pw_fault_kind */
	uint32_t vector; /* exception vector (14 for #PF) */
	uint64_t error_code;
	uint64_t gva; /* CR2 for #PF, else 0 */
	uint64_t rip;
	uint64_t rsp;
	uint32_t recovered; /* 1 if the guest resumes after it */
	uint32_t frame;	    /* unrecovered: GVA of the faulting context's struct pw_fault_frame
			     * (below 4 GiB, like every guest struct), for --core; 0: none (was
			     * reserved: old guests leave 0) */
};

/* The faulting context's registers as the runtime's trap entry saved them (its struct
 * pw_trap_frame, guest/lib/trap.h, checks it has this layout): the GPRs, the vector, the error
 * code (0 if none), then the frame the CPU pushed. */
struct pw_fault_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Expected-fault recovery (pw_expect_fault). The guest registers one such struct once, with
 * PW_HC_RECOVERY, under --faults=vmm. When a fault reaches the VMM while armed != 0, the VMM
 * fills the fault fields, sets armed = 0, reloads the saved registers and RFLAGS (DF cleared),
 * sets RAX = 1 and resumes at rip: the same outcome the guest's own handler gives under
 * --faults=guest. rflags is the armer's, not the faulting context's: a fault at CPL 3 must not
 * hand user flags (AC, TF, NT) to ring 0, and it also gives the classifier EFLAGS.AC. */
struct pw_recovery {
	uint64_t armed;
	uint64_t rip, rsp, rbx, rbp, r12, r13, r14, r15;   /* resume context */
	uint64_t vector, error_code, cr2, fault_rip, kind; /* filled on a fault */
	uint64_t rflags;				   /* resume context: RFLAGS when armed */
};

struct pw_hc_checkpoint {
	uint64_t id;
	uint64_t value;
};

struct pw_hc_panic {
	uint64_t file; /* GPA of the file name, not NUL-terminated */
	uint64_t file_len;
	uint64_t line;
	uint64_t msg; /* GPA of the message */
	uint64_t msg_len;
};

/* ---- Boot info -----------------------------------------------------------------------------
 * At PW_BOOT_INFO_GPA, read-only to the guest; RDI holds its address at entry.
 */
#define PW_BOOT_MAGIC	0x6e64727761776770ull /* "pgwawrdn" */
#define PW_BOOT_VERSION 3 /* 2: 50 regions (the user stack); 3: ncpus, percpu_base */
#define PW_MAX_REGIONS	50
#define PW_CMDLINE_MAX	1024

enum pw_region_kind {
	PW_REGION_NULL_GUARD = 1,
	PW_REGION_BOOT_INFO,
	PW_REGION_GDT,
	PW_REGION_IDT,
	PW_REGION_STUBS,
	PW_REGION_STACK_GUARD, /* guard page below a stack */
	PW_REGION_STACK,       /* main stack */
	PW_REGION_IST_STACK,   /* #PF / #DF IST stacks */
	PW_REGION_PT_POOL,     /* page-table frames */
	PW_REGION_TEXT,	       /* image: read-only, executable */
	PW_REGION_RODATA,      /* image: read-only, not executable */
	PW_REGION_DATA,	       /* image: data and bss, writable, not executable */
	PW_REGION_RAM,	       /* free RAM, writable, not executable */
	PW_REGION_HEAP,	       /* demand-paged heap */
	PW_REGION_UNBACKED,    /* mapped, but no memslot: second-level guard */
	PW_REGION_HIGH_GUARD,
	PW_REGION_USER_STACK, /* the CPL-3 stack of pw_user_call: user-accessible, guarded below */
	PW_REGION_FIRMWARE,   /* below 1 MiB, kept by a PVH firmware: a guard (docs/images.md) */
	PW_REGION_PERCPU,     /* CPUs 1..N-1's stacks, guards and GDTs (layout.h, docs/smp.md) */
	PW_REGION_KIND_COUNT
};

struct pw_region {
	uint64_t start;
	uint64_t size;
	uint32_t kind; /* enum pw_region_kind */
	uint32_t reserved;
};

/* Fault handling mode, chosen by --faults. */
enum pw_fault_mode {
	PW_FAULTS_GUEST = 0, /* the guest runtime installs and owns the IDT */
	PW_FAULTS_VMM = 1,   /* the VMM installed an IDT of exit stubs; the guest leaves it alone */
};

struct pw_boot_info {
	uint64_t magic;	  /* PW_BOOT_MAGIC */
	uint32_t version; /* PW_BOOT_VERSION */
	uint32_t size;	  /* sizeof(struct pw_boot_info) */
	uint64_t mem_size;
	uint64_t pt_root;      /* CR3 at entry */
	uint64_t pt_pool_next; /* first free frame of the page-table pool */
	uint64_t pt_pool_end;
	uint64_t heap_start;
	uint64_t heap_end;
	uint32_t fault_mode; /* enum pw_fault_mode */
	uint32_t maxphyaddr;
	uint32_t features; /* PW_BOOT_F_* */
	uint32_t nregions;
	struct pw_region regions[PW_MAX_REGIONS];
	uint32_t cmdline_len;
	char cmdline[PW_CMDLINE_MAX]; /* guest args joined by spaces, NUL-terminated */
	uint32_t ncpus;		      /* --cpus: 1..PW_MAX_CPUS */
	uint32_t reserved;
	uint64_t percpu_base; /* CPU k >= 1's block: percpu_base + (k - 1) * PW_PERCPU_SIZE */
};

/* What GS points at on each CPU: at PW_CPU_DATA_OFF in its GDT page. The layout writes id and
 * self; the rest is the runtime's (guest/lib/runtime.h), zero at entry. */
struct pw_cpu_data {
	uint32_t id;   /* 0..ncpus-1; the boot CPU is 0 */
	uint32_t reserved;
	uint64_t self; /* this struct's own address: one load gives a pointer to it */
};

#define PW_BOOT_F_1G_PAGES   (1u << 0) /* the CPU supports 1 GiB pages */
#define PW_BOOT_F_PROTECT_PT (1u << 1) /* page tables are in a read-only memslot */
#define PW_BOOT_F_DEBUGGER   (1u << 2) /* gdb is attached (--gdb): under --faults=guest the
					* runtime's gates go through PW_HC_DEBUG stubs first */
#define PW_BOOT_F_PVH	     (1u << 3) /* booted through the PVH entry under another VMM: no
					* hypercalls; console on COM1, exit on isa-debug-exit
					* (docs/images.md) */

/* ---- Flat-image header -------------------------------------------------------------------
 * Optional, like a multiboot header: a flat image may carry this struct, 8-byte aligned,
 * within its first 4 KiB (the entry at byte 0 jumps over it). With it, the VMM maps text and
 * rodata read-only and data/bss non-executable, and zeroes bss; without it, the whole image is
 * mapped read-write-execute. All addresses are guest-physical.
 */
#define PW_IMAGE_MAGIC	       0x67616d69776770ull /* "pgwimag" */
#define PW_IMAGE_HEADER_SEARCH 4096

struct pw_image_header {
	uint64_t magic;
	uint64_t checksum;   /* ~(magic + text_end + rodata_end + data_end + bss_end) */
	uint64_t text_end;   /* [PW_IMAGE_GPA, text_end): text */
	uint64_t rodata_end; /* [text_end, rodata_end): read-only data */
	uint64_t data_end;   /* [rodata_end, data_end): data, present in the file */
	uint64_t bss_end;    /* [data_end, bss_end): zeroed by the VMM */
};

/* ---- Names, shared so the VMM and the guest print the same words ---------------------------- */

/* Name of a fault kind as used in reports and JSON ("stack-overflow"); "?" if unknown. */
static inline const char *pw_fault_kind_name(unsigned kind)
{
	static const char *const names[PW_FAULT_KIND_COUNT] = {
	    [PW_FAULT_NONE] = "none",
	    [PW_FAULT_NULL] = "null",
	    [PW_FAULT_STACK_OVERFLOW] = "stack-overflow",
	    [PW_FAULT_WRITE_PROTECT] = "write-protect",
	    [PW_FAULT_NX_EXEC] = "nx-exec",
	    [PW_FAULT_HIGH_GUARD] = "high-guard",
	    [PW_FAULT_HEAP_GROW] = "heap-grow",
	    [PW_FAULT_RESERVED_BIT] = "reserved-bit",
	    [PW_FAULT_UNMAPPED] = "unmapped",
	    [PW_FAULT_EXCEPTION] = "exception",
	    [PW_FAULT_EPT_UNBACKED] = "ept-unbacked",
	    [PW_FAULT_EPT_READONLY] = "ept-readonly",
	    [PW_FAULT_TRIPLE] = "triple-fault",
	    [PW_FAULT_USER_SUPERVISOR] = "user-supervisor",
	    [PW_FAULT_SMEP] = "smep",
	    [PW_FAULT_SMAP] = "smap",
	};
	return kind < PW_FAULT_KIND_COUNT ? names[kind] : "?";
}

/* Name of a region kind ("stack-guard"); "?" if unknown. */
static inline const char *pw_region_kind_name(unsigned kind)
{
	static const char *const names[PW_REGION_KIND_COUNT] = {
	    [PW_REGION_NULL_GUARD] = "null-guard",
	    [PW_REGION_BOOT_INFO] = "boot-info",
	    [PW_REGION_GDT] = "gdt",
	    [PW_REGION_IDT] = "idt",
	    [PW_REGION_STUBS] = "fault-stubs",
	    [PW_REGION_STACK_GUARD] = "stack-guard",
	    [PW_REGION_STACK] = "stack",
	    [PW_REGION_IST_STACK] = "ist-stack",
	    [PW_REGION_PT_POOL] = "page-tables",
	    [PW_REGION_TEXT] = "text",
	    [PW_REGION_RODATA] = "rodata",
	    [PW_REGION_DATA] = "data",
	    [PW_REGION_RAM] = "ram",
	    [PW_REGION_HEAP] = "heap",
	    [PW_REGION_UNBACKED] = "unbacked",
	    [PW_REGION_HIGH_GUARD] = "high-guard",
	    [PW_REGION_USER_STACK] = "user-stack",
	    [PW_REGION_FIRMWARE] = "firmware",
	    [PW_REGION_PERCPU] = "per-cpu",
	};
	return kind < PW_REGION_KIND_COUNT && names[kind] ? names[kind] : "?";
}

/* Mnemonic of an exception vector ("#PF"); "#??" for reserved or external vectors. */
static inline const char *pw_exception_name(unsigned vector)
{
	static const char *const names[32] = {
	    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
	    "#NP", "#SS", "#GP", "#PF", "#??", "#MF", "#AC", "#MC", "#XM", "#VE",  "#CP",
	};
	return vector < 32 && names[vector] ? names[vector] : "#??";
}

/* True for the vectors that push an error code. */
static inline int pw_exception_has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
	       vector == 29 || vector == 30;
}

#endif
