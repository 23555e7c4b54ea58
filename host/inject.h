/* Fault injection: one experiment is a SPEC string, MODEL:TARGET[:ARGS]@TRIGGER, parsed by a
 * pure function (fuzzable) into struct inject_spec, and applied to a paused vCPU by
 * inject_apply. docs/fault-injection.md documents the syntax; this header is its grammar. */
#ifndef PW_HOST_INJECT_H
#define PW_HOST_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

#define INJECT_SPEC_MAX 128 /* longest SPEC string, NUL included */

enum inject_model {
	INJ_PTE = 0, /* pte:VA[:LEVEL]:ACTION  edit the entry mapping VA */
	INJ_MEM,     /* mem:gpa=A|gva=A:bit=N[:burst=K]  flip K consecutive bits */
	INJ_REG,     /* reg:NAME:bit=N  flip one bit of a register */
	INJ_EXC,     /* exc:VECTOR[:err=E][:cr2=A]  inject an exception */
	INJ_SKIP,    /* skip  skip the next instruction */
	INJ_MODEL_COUNT
};

enum inject_pte_action {
	INJ_PTE_CLEAR_P = 0,
	INJ_PTE_CLEAR_W,
	INJ_PTE_SET_NX,
	INJ_PTE_TOGGLE_U,
	INJ_PTE_FLIP,  /* flip=N: bit N */
	INJ_PTE_FRAME, /* frame=PA: point the entry at another frame */
	INJ_PTE_ACTION_COUNT
};

enum inject_trigger {
	INJ_AT_INSN = 0,   /* @insn=N: after N single-steps from the start point */
	INJ_AT_RIP,	   /* @rip=ADDR[#K]: the K-th (default 1st) arrival at ADDR (hw breakpoint) */
	INJ_AT_HC,	   /* @hc=K: at the K-th hypercall exit */
	INJ_AT_CHECKPOINT, /* @checkpoint=K: at the K-th checkpoint */
	INJ_AT_TIME,	   /* @time=MS: the first exit after MS ms: NOT deterministic */
	INJ_TRIGGER_COUNT
};

/* Registers reg:NAME can name, in this order (inject.c keeps the name table). */
enum inject_reg {
	INJ_RAX = 0, INJ_RBX, INJ_RCX, INJ_RDX, INJ_RSI, INJ_RDI, INJ_RSP, INJ_RBP,
	INJ_R8, INJ_R9, INJ_R10, INJ_R11, INJ_R12, INJ_R13, INJ_R14, INJ_R15,
	INJ_RIP, INJ_RFLAGS, INJ_CR0, INJ_CR3, INJ_CR4,
	INJ_REG_COUNT
};

struct inject_spec {
	enum inject_model model;
	/* pte */
	uint64_t va;
	unsigned level; /* 1 = PTE (4K leaf) .. 4 = PML4E; 0 = the leaf, whatever its level */
	enum inject_pte_action action;
	bool noflush; /* pte: do not force the MMU/TLB reset after the edit */
	/* mem */
	bool gva; /* addr is a guest-virtual address (translated at injection time) */
	uint64_t addr;
	unsigned burst; /* bits to flip from bit (mem), >= 1 */
	/* pte flip / mem / reg */
	unsigned bit;
	uint64_t frame; /* pte frame=PA */
	enum inject_reg reg;
	/* exc */
	unsigned vector;
	bool has_err, has_cr2;
	uint64_t err, cr2;
	/* trigger */
	enum inject_trigger trigger;
	uint64_t when; /* N, ADDR, K or MS */
	uint64_t hit;  /* @rip: K-th hit (>= 1) */
	/* @TRIGGER:cpu=K (--cpus N): the vCPU whose trigger it is and whose registers, exception
	 * or instruction it acts on; RAM and tables are every vCPU's. 0 by default. */
	unsigned cpu;
};

enum inject_err {
	INJ_OK = 0,
	INJ_ESYNTAX,  /* the SPEC string is malformed: why names the bad part */
	INJ_ERANGE,   /* a number is out of range (bit > 63, level > 4, vector > 31, cpu > 63) */
	INJ_ENOTHERE, /* the address is not mapped, its table is outside RAM, or (skip) no code */
	INJ_EKVM,     /* a KVM call applying it failed */
	INJ_ENOTSUP,  /* this build or host cannot do it (skip without capstone) */
	INJ_ERR_COUNT
};

/* What inject_apply did, for the results. */
struct inject_effect {
	uint64_t rip;	     /* RIP when applied */
	uint64_t gpa;	     /* the byte, entry or page written (mem, pte), else 0 */
	uint64_t len;	     /* bytes written from gpa when host_wrote */
	uint64_t old, new;   /* the value before and after (entry, register, byte) */
	bool tlb_flushed;    /* pte: the VMM forced an MMU/TLB reset */
	bool host_wrote;     /* guest RAM was written from the host: gpa's page is dirty */
};

/* Constant description of err. */
const char *inject_strerror(enum inject_err err);

/* Names ("pte", "insn", "rax", "clear-p"); "?" if out of range. */
const char *inject_model_name(enum inject_model m);
const char *inject_trigger_name(enum inject_trigger t);
const char *inject_reg_name(enum inject_reg r);

/* Parse SPEC s into *out. Pure: no KVM, no globals. On error, why (n bytes) says which part is
 * bad and what was expected. */
enum inject_err inject_parse(const char *s, struct inject_spec *out, char *why, size_t n);

/* Format spec back into canonical SPEC text (parses to the same spec). Returns snprintf's
 * length. */
int inject_format(const struct inject_spec *spec, char *buf, size_t n);

/* True if the trigger gives the same point on every run (all but @time). */
bool inject_deterministic(const struct inject_spec *spec);

/* Apply spec to r's paused vCPU (between exits) and record it in *eff. Invalidates r's cached
 * registers. why (n bytes) explains an error. */
enum inject_err inject_apply(struct run *r, const struct inject_spec *spec,
			     struct inject_effect *eff, char *why, size_t n);

#endif
