/* Parsing a SPEC string and applying one injection to a paused vCPU. */
#include "inject.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpu.h"
#include "disasm.h"
#include "paging.h"
#include "report.h"

#define INJ_PTE_P     (1ull << 0)
#define INJ_PTE_W     (1ull << 1)
#define INJ_PTE_U     (1ull << 2)
#define INJ_PTE_PS    (1ull << 7)
#define INJ_PTE_NX    (1ull << 63)
#define INJ_PTE_ADDR  0x000ffffffffff000ull
#define INJ_RFLAGS_RF (1ull << 16)

static const char *const inj_errs[INJ_ERR_COUNT] = {
    [INJ_OK] = "ok",
    [INJ_ESYNTAX] = "bad SPEC",
    [INJ_ERANGE] = "value out of range",
    [INJ_ENOTHERE] = "target not mapped",
    [INJ_EKVM] = "KVM call failed",
    [INJ_ENOTSUP] = "not supported here",
};

static const char *const inj_models[INJ_MODEL_COUNT] = {"pte", "mem", "reg", "exc", "skip"};
static const char *const inj_triggers[INJ_TRIGGER_COUNT] = {"insn", "rip", "hc", "checkpoint",
							    "time"};
static const char *const inj_regs[INJ_REG_COUNT] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp",	"rbp", "r8",  "r9",  "r10",
    "r11", "r12", "r13", "r14", "r15", "rip", "rflags", "cr0", "cr3", "cr4",
};
static const char *const inj_pte_actions[INJ_PTE_ACTION_COUNT] = {
    "clear-p", "clear-w", "set-nx", "toggle-u", "flip", "frame",
};

const char *inject_strerror(enum inject_err err)
{
	return (unsigned)err < INJ_ERR_COUNT ? inj_errs[err] : "?";
}

const char *inject_model_name(enum inject_model m)
{
	return (unsigned)m < INJ_MODEL_COUNT ? inj_models[m] : "?";
}

const char *inject_trigger_name(enum inject_trigger t)
{
	return (unsigned)t < INJ_TRIGGER_COUNT ? inj_triggers[t] : "?";
}

const char *inject_reg_name(enum inject_reg r)
{
	return (unsigned)r < INJ_REG_COUNT ? inj_regs[r] : "?";
}

bool inject_deterministic(const struct inject_spec *spec)
{
	return spec->trigger != INJ_AT_TIME;
}

/* ---- parsing --------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static enum inject_err
inj_fail(enum inject_err err, char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Parse all of s (decimal or 0x hex) into *v; -1 unless the whole string is a number. */
static int inj_number(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/* If field is "key=NUMBER", store NUMBER in *v and return 1; 0 if the key differs; -1 if the
 * key matches but the number is bad. */
static int inj_keyed(const char *field, const char *key, uint64_t *v)
{
	size_t k = strlen(key);

	if (strncmp(field, key, k) || field[k] != '=')
		return 0;
	return inj_number(field + k + 1, v) ? -1 : 1;
}

static int inj_lookup(const char *const *names, unsigned count, const char *s)
{
	for (unsigned i = 0; i < count; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* The trigger's `:cpu=K` suffix, if any, into o->cpu; *len becomes the trigger's length
 * without it. */
static enum inject_err inj_parse_cpu(const char *t, size_t *len, struct inject_spec *o, char *why,
				     size_t n)
{
	const char *colon = strchr(t, ':');
	uint64_t cpu;

	*len = strlen(t);
	if (!colon)
		return INJ_OK;
	*len = (size_t)(colon - t);
	if (inj_keyed(colon + 1, "cpu", &cpu) != 1)
		return inj_fail(INJ_ESYNTAX, why, n,
				"trigger '%s': after ':' want cpu=K (the vCPU, 0..%u)", t,
				PW_MAX_CPUS - 1);
	if (cpu >= PW_MAX_CPUS)
		return inj_fail(INJ_ERANGE, why, n, "trigger '%s': cpu %" PRIu64 " is not 0..%u", t,
				cpu, PW_MAX_CPUS - 1);
	o->cpu = (unsigned)cpu;
	return INJ_OK;
}

static enum inject_err inj_parse_trigger(const char *t, struct inject_spec *o, char *why, size_t n)
{
	char name[16];
	const char *eq = strchr(t, '=');
	char *hash;
	char val[64];
	enum inject_err err;
	size_t len;
	int i;

	if (!eq || (size_t)(eq - t) >= sizeof(name))
		return inj_fail(INJ_ESYNTAX, why, n,
				"trigger '%s': want insn=N, rip=ADDR[#K], hc=K, checkpoint=K or "
				"time=MS",
				t);
	memcpy(name, t, (size_t)(eq - t));
	name[eq - t] = '\0';
	i = inj_lookup(inj_triggers, INJ_TRIGGER_COUNT, name);
	if (i < 0)
		return inj_fail(INJ_ESYNTAX, why, n,
				"trigger '%s': unknown (insn, rip, hc, checkpoint, time)", name);
	o->trigger = (enum inject_trigger)i;
	if ((err = inj_parse_cpu(eq + 1, &len, o, why, n)))
		return err;
	if (len >= sizeof(val))
		return inj_fail(INJ_ESYNTAX, why, n, "trigger %s: value too long", name);
	memcpy(val, eq + 1, len);
	val[len] = '\0';
	o->hit = 1;
	hash = strchr(val, '#');
	if (hash) {
		if (o->trigger != INJ_AT_RIP)
			return inj_fail(INJ_ESYNTAX, why, n,
					"trigger %s: '#K' only goes with rip=", name);
		*hash = '\0';
		if (inj_number(hash + 1, &o->hit) || o->hit == 0)
			return inj_fail(INJ_ESYNTAX, why, n,
					"trigger rip: hit count '%s' is not a number >= 1",
					hash + 1);
	}
	if (inj_number(val, &o->when))
		return inj_fail(INJ_ESYNTAX, why, n, "trigger %s: '%s' is not a number", name, val);
	if ((o->trigger == INJ_AT_HC || o->trigger == INJ_AT_CHECKPOINT) && o->when == 0)
		return inj_fail(INJ_ERANGE, why, n, "trigger %s: counts from 1", name);
	return INJ_OK;
}

static enum inject_err inj_parse_pte(char **f, int nf, struct inject_spec *o, char *why, size_t n)
{
	bool have_action = false;
	uint64_t v;
	int i;

	if (nf < 3)
		return inj_fail(INJ_ESYNTAX, why, n,
				"pte: want pte:VA[:level=L]:ACTION[:noflush], ACTION one of "
				"clear-p, clear-w, set-nx, toggle-u, flip=N, frame=PA");
	if (inj_number(f[1], &o->va))
		return inj_fail(INJ_ESYNTAX, why, n, "pte: VA '%s' is not a number", f[1]);
	for (int k = 2; k < nf; k++) {
		if (strcmp(f[k], "noflush") == 0) {
			o->noflush = true;
		} else if ((i = inj_keyed(f[k], "level", &v)) != 0) {
			if (i < 0 || v < 1 || v > 4)
				return inj_fail(INJ_ERANGE, why, n, "pte: '%s': level is 1..4",
						f[k]);
			o->level = (unsigned)v;
		} else if ((i = inj_keyed(f[k], "flip", &v)) != 0) {
			if (i < 0 || v > 63)
				return inj_fail(INJ_ERANGE, why, n, "pte: '%s': bit is 0..63",
						f[k]);
			o->action = INJ_PTE_FLIP, o->bit = (unsigned)v, have_action = true;
		} else if ((i = inj_keyed(f[k], "frame", &v)) != 0) {
			if (i < 0 || v & 0xfff || v & ~INJ_PTE_ADDR)
				return inj_fail(INJ_ERANGE, why, n,
						"pte: '%s': frame is a 4K-aligned physical address",
						f[k]);
			o->action = INJ_PTE_FRAME, o->frame = v, have_action = true;
		} else if ((i = inj_lookup(inj_pte_actions, INJ_PTE_FLIP, f[k])) >= 0) {
			o->action = (enum inject_pte_action)i, have_action = true;
		} else {
			return inj_fail(INJ_ESYNTAX, why, n,
					"pte: '%s': unknown (clear-p, clear-w, set-nx, toggle-u, "
					"flip=N, frame=PA, level=L, noflush)",
					f[k]);
		}
	}
	if (!have_action)
		return inj_fail(INJ_ESYNTAX, why, n, "pte: no action given");
	return INJ_OK;
}

static enum inject_err inj_parse_mem(char **f, int nf, struct inject_spec *o, char *why, size_t n)
{
	bool have_addr = false, have_bit = false;
	uint64_t v;
	int i;

	o->burst = 1;
	for (int k = 1; k < nf; k++) {
		if ((i = inj_keyed(f[k], "gpa", &o->addr)) != 0 ||
		    (i = inj_keyed(f[k], "gva", &o->addr)) != 0) {
			if (i < 0)
				return inj_fail(INJ_ESYNTAX, why, n, "mem: '%s': bad address",
						f[k]);
			o->gva = f[k][1] == 'v', have_addr = true;
		} else if ((i = inj_keyed(f[k], "bit", &v)) != 0) {
			if (i < 0 || v > 63)
				return inj_fail(INJ_ERANGE, why, n, "mem: '%s': bit is 0..63",
						f[k]);
			o->bit = (unsigned)v, have_bit = true;
		} else if ((i = inj_keyed(f[k], "burst", &v)) != 0) {
			if (i < 0 || v < 1 || v > 64)
				return inj_fail(INJ_ERANGE, why, n, "mem: '%s': burst is 1..64",
						f[k]);
			o->burst = (unsigned)v;
		} else {
			return inj_fail(INJ_ESYNTAX, why, n,
					"mem: '%s': unknown (gpa=A, gva=A, bit=N, burst=K)", f[k]);
		}
	}
	if (!have_addr || !have_bit)
		return inj_fail(INJ_ESYNTAX, why, n, "mem: want mem:gpa=A|gva=A:bit=N[:burst=K]");
	return INJ_OK;
}

static enum inject_err inj_parse_reg(char **f, int nf, struct inject_spec *o, char *why, size_t n)
{
	uint64_t v;
	int i;

	if (nf != 3)
		return inj_fail(INJ_ESYNTAX, why, n, "reg: want reg:NAME:bit=N");
	i = inj_lookup(inj_regs, INJ_REG_COUNT, f[1]);
	if (i < 0)
		return inj_fail(
		    INJ_ESYNTAX, why, n,
		    "reg: '%s': unknown register (rax..r15, rip, rflags, cr0, cr3, cr4)", f[1]);
	o->reg = (enum inject_reg)i;
	i = inj_keyed(f[2], "bit", &v);
	if (i == 0)
		return inj_fail(INJ_ESYNTAX, why, n, "reg: '%s': want bit=N", f[2]);
	if (i < 0 || v > 63)
		return inj_fail(INJ_ERANGE, why, n, "reg: '%s': bit is 0..63", f[2]);
	o->bit = (unsigned)v;
	return INJ_OK;
}

static enum inject_err inj_parse_exc(char **f, int nf, struct inject_spec *o, char *why, size_t n)
{
	uint64_t v;
	int i;

	if (nf < 2 || inj_number(f[1], &v))
		return inj_fail(INJ_ESYNTAX, why, n, "exc: want exc:VECTOR[:err=E][:cr2=A]");
	if (v > 31 || v == 2 || v == 15 || (v > 21 && v < 29) || v == 31)
		return inj_fail(INJ_ERANGE, why, n,
				"exc: vector %s is not an exception (0..21, 29, 30; not 2, 15)",
				f[1]);
	o->vector = (unsigned)v;
	for (int k = 2; k < nf; k++) {
		if ((i = inj_keyed(f[k], "err", &o->err)) != 0) {
			if (i < 0 || o->err > 0xffffffffull)
				return inj_fail(INJ_ERANGE, why, n, "exc: '%s': 32-bit error code",
						f[k]);
			o->has_err = true;
		} else if ((i = inj_keyed(f[k], "cr2", &o->cr2)) != 0) {
			if (i < 0)
				return inj_fail(INJ_ESYNTAX, why, n, "exc: '%s': bad address",
						f[k]);
			o->has_cr2 = true;
		} else {
			return inj_fail(INJ_ESYNTAX, why, n, "exc: '%s': unknown (err=E, cr2=A)",
					f[k]);
		}
	}
	if (o->has_err && !pw_exception_has_error_code(o->vector))
		return inj_fail(INJ_ESYNTAX, why, n, "exc: vector %u pushes no error code",
				o->vector);
	if (!o->has_err && pw_exception_has_error_code(o->vector))
		o->has_err = true, o->err = 0;
	if (o->has_cr2 && o->vector != 14)
		return inj_fail(INJ_ESYNTAX, why, n, "exc: cr2= only goes with vector 14 (#PF)");
	return INJ_OK;
}

#define INJ_MAX_FIELDS 8

enum inject_err inject_parse(const char *s, struct inject_spec *out, char *why, size_t n)
{
	char buf[INJECT_SPEC_MAX];
	char *f[INJ_MAX_FIELDS];
	const char *at;
	int nf = 0, m;
	char *p;

	memset(out, 0, sizeof(*out));
	if (n)
		why[0] = '\0';
	if (!s || !*s)
		return inj_fail(INJ_ESYNTAX, why, n,
				"empty SPEC (want MODEL:TARGET[:ARGS]@TRIGGER)");
	if (strlen(s) >= sizeof(buf))
		return inj_fail(INJ_ESYNTAX, why, n, "SPEC longer than %d characters",
				INJECT_SPEC_MAX - 1);
	at = strchr(s, '@');
	if (!at)
		return inj_fail(INJ_ESYNTAX, why, n, "'%s': no '@TRIGGER'", s);
	if (strchr(at + 1, '@'))
		return inj_fail(INJ_ESYNTAX, why, n, "'%s': more than one '@'", s);
	memcpy(buf, s, (size_t)(at - s));
	buf[at - s] = '\0';
	for (p = buf; nf < INJ_MAX_FIELDS; nf++) {
		f[nf] = p;
		p = strchr(p, ':');
		if (!p) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	if (p)
		return inj_fail(INJ_ESYNTAX, why, n, "'%s': too many ':' fields", s);
	for (int k = 0; k < nf; k++)
		if (!*f[k])
			return inj_fail(INJ_ESYNTAX, why, n, "'%s': empty field %d", s, k + 1);
	m = inj_lookup(inj_models, INJ_MODEL_COUNT, f[0]);
	if (m < 0)
		return inj_fail(INJ_ESYNTAX, why, n,
				"model '%s': unknown (pte, mem, reg, exc, skip)", f[0]);
	out->model = (enum inject_model)m;
	enum inject_err err = INJ_OK;
	switch (out->model) {
	case INJ_PTE:
		err = inj_parse_pte(f, nf, out, why, n);
		break;
	case INJ_MEM:
		err = inj_parse_mem(f, nf, out, why, n);
		break;
	case INJ_REG:
		err = inj_parse_reg(f, nf, out, why, n);
		break;
	case INJ_EXC:
		err = inj_parse_exc(f, nf, out, why, n);
		break;
	case INJ_SKIP:
		if (nf != 1)
			err = inj_fail(INJ_ESYNTAX, why, n, "skip: takes no arguments");
		break;
	case INJ_MODEL_COUNT:
		break;
	}
	if (err)
		return err;
	return inj_parse_trigger(at + 1, out, why, n);
}

int inject_format(const struct inject_spec *s, char *buf, size_t n)
{
	char body[96], trig[64];

	switch (s->model) {
	case INJ_PTE: {
		char act[32];

		if (s->action == INJ_PTE_FLIP)
			snprintf(act, sizeof(act), "flip=%u", s->bit);
		else if (s->action == INJ_PTE_FRAME)
			snprintf(act, sizeof(act), "frame=0x%" PRIx64, s->frame);
		else
			snprintf(act, sizeof(act), "%s", inj_pte_actions[s->action]);
		snprintf(body, sizeof(body), "pte:0x%" PRIx64 "%s%.0u:%s%s", s->va,
			 s->level ? ":level=" : "", s->level, act, s->noflush ? ":noflush" : "");
		break;
	}
	case INJ_MEM:
		snprintf(body, sizeof(body), "mem:%s=0x%" PRIx64 ":bit=%u", s->gva ? "gva" : "gpa",
			 s->addr, s->bit);
		if (s->burst > 1)
			snprintf(body + strlen(body), sizeof(body) - strlen(body), ":burst=%u",
				 s->burst);
		break;
	case INJ_REG:
		snprintf(body, sizeof(body), "reg:%s:bit=%u", inject_reg_name(s->reg), s->bit);
		break;
	case INJ_EXC:
		snprintf(body, sizeof(body), "exc:%u", s->vector);
		if (s->has_err)
			snprintf(body + strlen(body), sizeof(body) - strlen(body),
				 ":err=0x%" PRIx64, s->err);
		if (s->has_cr2)
			snprintf(body + strlen(body), sizeof(body) - strlen(body),
				 ":cr2=0x%" PRIx64, s->cr2);
		break;
	default:
		snprintf(body, sizeof(body), "skip");
		break;
	}
	if (s->trigger == INJ_AT_RIP && s->hit > 1)
		snprintf(trig, sizeof(trig), "rip=0x%" PRIx64 "#%" PRIu64, s->when, s->hit);
	else if (s->trigger == INJ_AT_RIP)
		snprintf(trig, sizeof(trig), "rip=0x%" PRIx64, s->when);
	else
		snprintf(trig, sizeof(trig), "%s=%" PRIu64, inject_trigger_name(s->trigger),
			 s->when);
	if (s->cpu)
		snprintf(trig + strlen(trig), sizeof(trig) - strlen(trig), ":cpu=%u", s->cpu);
	return snprintf(buf, n, "%s@%s", body, trig);
}

/* ---- applying -------------------------------------------------------------------------- */

static enum inject_err inj_ioctl(struct run *r, unsigned long req, void *arg, const char *name,
				 char *why, size_t n)
{
	if (ioctl(r->vm->vcpu_fd, req, arg) == 0)
		return INJ_OK;
	return inj_fail(INJ_EKVM, why, n, "%s: %s", name, strerror(errno));
}

static __u64 *inj_gpr(struct kvm_regs *g, enum inject_reg reg)
{
	__u64 *const slots[] = {
	    &g->rax, &g->rbx, &g->rcx, &g->rdx, &g->rsi, &g->rdi, &g->rsp, &g->rbp, &g->r8,
	    &g->r9,  &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15, &g->rip, &g->rflags,
	};
	return reg <= INJ_RFLAGS ? slots[reg] : NULL;
}

static enum inject_err inj_reg(struct run *r, const struct inject_spec *s,
			       struct inject_effect *eff, char *why, size_t n)
{
	struct kvm_regs g;
	struct kvm_sregs sr;
	__u64 *v;
	enum inject_err err;

	if (s->reg <= INJ_RFLAGS) {
		if ((err = inj_ioctl(r, KVM_GET_REGS, &g, "KVM_GET_REGS", why, n)))
			return err;
		v = inj_gpr(&g, s->reg);
		eff->old = *v;
		*v ^= 1ull << s->bit;
		eff->new = *v;
		return inj_ioctl(r, KVM_SET_REGS, &g, "KVM_SET_REGS", why, n);
	}
	if ((err = inj_ioctl(r, KVM_GET_SREGS, &sr, "KVM_GET_SREGS", why, n)))
		return err;
	v = s->reg == INJ_CR0 ? &sr.cr0 : s->reg == INJ_CR3 ? &sr.cr3 : &sr.cr4;
	eff->old = *v;
	*v ^= 1ull << s->bit;
	eff->new = *v;
	/* KVM refuses inconsistent control registers (EINVAL): the CPU would not take them either,
	 * and the result says so as a vmm-error rather than guessing a guest outcome. */
	return inj_ioctl(r, KVM_SET_SREGS, &sr, "KVM_SET_SREGS", why, n);
}

/* GPA of guest-virtual va through the vCPU's current tables, or INJ_ENOTHERE. */
static enum inject_err inj_translate(struct run *r, uint64_t va, uint64_t *gpa, char *why, size_t n)
{
	struct kvm_translation t = {.linear_address = va};
	enum inject_err err;

	/* KVM_TRANSLATE ignores bits 63:48: it would act on the page of the low 48 bits. */
	if (!pt_canonical(va))
		return inj_fail(INJ_ENOTHERE, why, n, "GVA 0x%" PRIx64 " is not canonical", va);
	err = inj_ioctl(r, KVM_TRANSLATE, &t, "KVM_TRANSLATE", why, n);
	if (err)
		return err;
	if (!t.valid)
		return inj_fail(INJ_ENOTHERE, why, n, "GVA 0x%" PRIx64 " is not mapped", va);
	*gpa = t.physical_address;
	return INJ_OK;
}

static enum inject_err inj_mem(struct run *r, const struct inject_spec *s,
			       struct inject_effect *eff, char *why, size_t n)
{
	uint64_t gpa = s->addr;
	unsigned last = s->bit + s->burst - 1;
	uint8_t *p;
	enum inject_err err;

	if (s->gva && (err = inj_translate(r, s->addr, &gpa, why, n)))
		return err;
	p = gpa_to_host(r->mem, gpa, last / 8 + 1);
	if (!p)
		return inj_fail(INJ_ENOTHERE, why, n, "GPA 0x%" PRIx64 " (+%u bytes) is not RAM",
				gpa, last / 8 + 1);
	eff->gpa = gpa;
	eff->old = p[s->bit / 8];
	for (unsigned b = s->bit; b <= last; b++)
		p[b / 8] ^= (uint8_t)(1u << (b % 8));
	eff->new = p[s->bit / 8];
	eff->len = last / 8 + 1;
	eff->host_wrote = true;
	return INJ_OK;
}

/* Host pointer to the entry for va at level (0: the leaf) in the tables at cr3. */
static uint64_t *inj_walk(struct run *r, uint64_t cr3, uint64_t va, unsigned level,
			  uint64_t *gpa_out)
{
	uint64_t table = cr3 & INJ_PTE_ADDR;

	for (unsigned l = 4; l >= 1; l--) {
		uint64_t gpa = table + ((va >> (12 + 9 * (l - 1))) & 0x1ff) * 8;
		uint64_t *e = gpa_to_host(r->mem, gpa, 8);

		if (!e)
			return NULL;
		if (l == level ||
		    (level == 0 && (l == 1 || (*e & INJ_PTE_PS) || !(*e & INJ_PTE_P)))) {
			*gpa_out = gpa;
			return e;
		}
		if (!(*e & INJ_PTE_P))
			return NULL;
		table = *e & INJ_PTE_ADDR;
	}
	return NULL;
}

/* Make KVM drop every translation built from the old tables (cpu_set_sregs_reset_mmu; hardware
 * KVM also flushes the guest's TLB, VPID-tagged, on that reset). */
static enum inject_err inj_flush(struct run *r, char *why, size_t n)
{
	struct kvm_sregs sr;
	struct vm_error ve;
	enum inject_err err;

	if ((err = inj_ioctl(r, KVM_GET_SREGS, &sr, "KVM_GET_SREGS", why, n)))
		return err;
	if (cpu_set_sregs_reset_mmu(r->vm, &sr, &ve) != VM_OK)
		return inj_fail(INJ_EKVM, why, n, "%s", ve.detail);
	return INJ_OK;
}

static enum inject_err inj_pte(struct run *r, const struct inject_spec *s,
			       struct inject_effect *eff, char *why, size_t n)
{
	struct kvm_sregs sr;
	uint64_t *e, gpa = 0;
	enum inject_err err;

	if ((err = inj_ioctl(r, KVM_GET_SREGS, &sr, "KVM_GET_SREGS", why, n)))
		return err;
	if (!pt_canonical(s->va))
		return inj_fail(INJ_ENOTHERE, why, n, "pte: VA 0x%" PRIx64 " is not canonical",
				s->va);
	e = inj_walk(r, sr.cr3, s->va, s->level, &gpa);
	if (!e)
		return inj_fail(INJ_ENOTHERE, why, n,
				"pte: no level-%u entry maps VA 0x%" PRIx64 " (table outside RAM "
				"or an upper level not present)",
				s->level, s->va);
	eff->gpa = gpa;
	eff->old = *e;
	switch (s->action) {
	case INJ_PTE_CLEAR_P:
		*e &= ~INJ_PTE_P;
		break;
	case INJ_PTE_CLEAR_W:
		*e &= ~INJ_PTE_W;
		break;
	case INJ_PTE_SET_NX:
		*e |= INJ_PTE_NX;
		break;
	case INJ_PTE_TOGGLE_U:
		*e ^= INJ_PTE_U;
		break;
	case INJ_PTE_FLIP:
		*e ^= 1ull << s->bit;
		break;
	default:
		*e = (*e & ~INJ_PTE_ADDR) | s->frame;
		break;
	}
	eff->new = *e;
	eff->len = sizeof(*e);
	eff->host_wrote = true;
	if (s->noflush)
		return INJ_OK;
	eff->tlb_flushed = true;
	return inj_flush(r, why, n);
}

static enum inject_err inj_exc(struct run *r, const struct inject_spec *s,
			       struct inject_effect *eff, char *why, size_t n)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs sr;
	enum inject_err err;

	/* CR2 through sregs works with or without KVM_CAP_EXCEPTION_PAYLOAD (not enabled here). */
	if (s->has_cr2) {
		if ((err = inj_ioctl(r, KVM_GET_SREGS, &sr, "KVM_GET_SREGS", why, n)))
			return err;
		sr.cr2 = s->cr2;
		if ((err = inj_ioctl(r, KVM_SET_SREGS, &sr, "KVM_SET_SREGS", why, n)))
			return err;
	}
	if ((err = inj_ioctl(r, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS", why, n)))
		return err;
	ev.exception.injected = 1;
	ev.exception.pending = 0;
	ev.exception.nr = (uint8_t)s->vector;
	ev.exception.has_error_code = s->has_err;
	ev.exception.error_code = (uint32_t)s->err;
	ev.flags &= ~(uint32_t)KVM_VCPUEVENT_VALID_PAYLOAD;
	eff->new = s->vector;
	return inj_ioctl(r, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS", why, n);
}

/* Move RIP past the instruction at RIP, its length decoded by the shared disassembler. */
static enum inject_err inj_skip(struct run *r, struct inject_effect *eff, char *why, size_t n)
{
	uint8_t code[REPORT_CODE_BYTES];
	struct disasm_insn insn;
	enum disasm_err de;
	struct kvm_regs g;
	enum inject_err err;
	size_t got;

	if ((err = inj_ioctl(r, KVM_GET_REGS, &g, "KVM_GET_REGS", why, n)))
		return err;
	got = report_read_guest(r, g.rip, code, sizeof(code));
	if (!got)
		return inj_fail(INJ_ENOTHERE, why, n, "skip: the code at RIP 0x%llx is unreadable",
				(unsigned long long)g.rip);
	de = disasm_one(code, got, g.rip, &insn);
	if (de)
		return inj_fail(de == DISASM_EUNAVAILABLE ? INJ_ENOTSUP : INJ_ENOTHERE, why, n,
				"skip: cannot decode the instruction at RIP 0x%llx: %s",
				(unsigned long long)g.rip, disasm_strerror(de));
	eff->old = g.rip;
	g.rip += insn.size;
	eff->new = g.rip;
	return inj_ioctl(r, KVM_SET_REGS, &g, "KVM_SET_REGS", why, n);
}

enum inject_err inject_apply(struct run *r, const struct inject_spec *spec,
			     struct inject_effect *eff, char *why, size_t n)
{
	struct vm_error ve;
	enum inject_err err;

	memset(eff, 0, sizeof(*eff));
	/* At a hypercall exit, apply to the state after the `out` on every KVM: standard KVM moves
	 * RIP past it only at the next entry (and not at all if RIP was changed meanwhile). */
	if (vm_complete_exit(r->vm, r->last_exit, &ve) != VM_OK)
		return inj_fail(INJ_EKVM, why, n, "%s", ve.detail);
	r->regs_valid = r->sregs_valid = false;
	eff->rip = run_rip(r);
	switch (spec->model) {
	case INJ_PTE:
		err = inj_pte(r, spec, eff, why, n);
		break;
	case INJ_MEM:
		err = inj_mem(r, spec, eff, why, n);
		break;
	case INJ_REG:
		err = inj_reg(r, spec, eff, why, n);
		break;
	case INJ_EXC:
		err = inj_exc(r, spec, eff, why, n);
		break;
	case INJ_SKIP:
		err = inj_skip(r, eff, why, n);
		break;
	default:
		err = inj_fail(INJ_ESYNTAX, why, n, "unknown model");
		break;
	}
	r->regs_valid = r->sregs_valid = false;
	return err;
}
