/* gdb's remote protocol, one packet at a time. */
#include "gdb_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char gdb_hex[] = "0123456789abcdef";

/* Features answered to qSupported: PacketSize is RSP_PACKET_MAX in hex. */
#define GDB_SUPPORTED                                                                             \
	"PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;"                 \
	"QStartNoAckMode+"

void gdb_session_init(struct gdb_session *s, const struct gdb_ops *ops, void *ctx,
		      struct gdb_regfile *rf)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	s->rf = rf;
}

/* Set the reply to a formatted string. */
__attribute__((format(printf, 2, 3))) static void gdb_reply(struct gdb_session *s,
							    const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->reply, sizeof(s->reply), fmt, ap);
	va_end(ap);
	s->reply_len = n < 0 ? 0 : (size_t)n < sizeof(s->reply) ? (size_t)n : sizeof(s->reply) - 1;
}

/* Append n bytes as hex; false if the reply is full. */
static bool gdb_reply_hex(struct gdb_session *s, const uint8_t *b, size_t n)
{
	if (s->reply_len + 2 * n > RSP_PACKET_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		s->reply[s->reply_len++] = gdb_hex[b[i] >> 4];
		s->reply[s->reply_len++] = gdb_hex[b[i] & 0xf];
	}
	s->reply[s->reply_len] = '\0';
	return true;
}

/* Parse a hex number at *p (at least one digit, at most 16) and move *p past it. */
static bool gdb_num(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned digits = 0;
	int d;

	while (*p < end && (d = rsp_hexval((unsigned char)**p)) >= 0) {
		if (++digits > 16)
			return false;
		v = v << 4 | (uint64_t)d;
		(*p)++;
	}
	*out = v;
	return digits > 0;
}

/* Expect character c at *p and move past it. */
static bool gdb_expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return false;
	(*p)++;
	return true;
}

/* Decode 2n hex digits at p into out; false on a non-hex digit. */
static bool gdb_unhex(const char *p, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = rsp_hexval((unsigned char)p[2 * i]), lo = rsp_hexval((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* g: every register, in target.xml's order. */
static void gdb_cmd_g(struct gdb_session *s)
{
	uint8_t b[GDB_REG_MAX];

	s->reply_len = 0;
	for (unsigned n = 0; n < GDB_NREGS; n++)
		gdb_reply_hex(s, b, gdb_reg_get(s->rf, n, b));
}

/* G XX...: every register. Selectors cannot change: theirs must be what they are. */
static void gdb_cmd_G(struct gdb_session *s, const char *p, const char *end)
{
	struct gdb_regfile next = *s->rf;
	uint8_t b[GDB_REG_MAX], cur[GDB_REG_MAX];

	if ((size_t)(end - p) != 2 * (size_t)gdb_regs_bytes())
		return gdb_reply(s, "E01");
	for (unsigned n = 0; n < GDB_NREGS; n++) {
		unsigned size = gdb_reg_size(n);

		if (!gdb_unhex(p, size, b))
			return gdb_reply(s, "E01");
		p += 2 * size;
		gdb_reg_get(&next, n, cur);
		if (memcmp(cur, b, size) != 0 && gdb_reg_set(&next, n, b) < 0)
			return gdb_reply(s, "E01");
	}
	*s->rf = next;
	gdb_reply(s, "OK");
}

/* p N: one register. */
static void gdb_cmd_p(struct gdb_session *s, const char *p, const char *end)
{
	uint8_t b[GDB_REG_MAX];
	uint64_t n;
	unsigned size;

	if (!gdb_num(&p, end, &n) || p != end || n >= GDB_NREGS)
		return gdb_reply(s, "E00");
	size = gdb_reg_get(s->rf, (unsigned)n, b);
	s->reply_len = 0;
	gdb_reply_hex(s, b, size);
}

/* P N=XX: write one register. */
static void gdb_cmd_P(struct gdb_session *s, const char *p, const char *end)
{
	uint8_t b[GDB_REG_MAX];
	uint64_t n;

	if (!gdb_num(&p, end, &n) || !gdb_expect(&p, end, '=') || n >= GDB_NREGS ||
	    (size_t)(end - p) != 2 * (size_t)gdb_reg_size((unsigned)n) ||
	    !gdb_unhex(p, gdb_reg_size((unsigned)n), b))
		return gdb_reply(s, "E00");
	if (gdb_reg_set(s->rf, (unsigned)n, b) < 0)
		return gdb_reply(s, "E01");
	gdb_reply(s, "OK");
}

/* ADDR,LEN with the separator that follows (':' for M and X, end for m). */
static bool gdb_addr_len(const char **p, const char *end, uint64_t *addr, uint64_t *len)
{
	return gdb_num(p, end, addr) && gdb_expect(p, end, ',') && gdb_num(p, end, len);
}

/* m ADDR,LEN: memory through the guest's page tables; E14 (EFAULT) if none is mapped. */
static void gdb_cmd_m(struct gdb_session *s, const char *p, const char *end)
{
	static uint8_t b[RSP_PACKET_MAX / 2];
	uint64_t addr, len;
	size_t got;

	if (!gdb_addr_len(&p, end, &addr, &len) || p != end)
		return gdb_reply(s, "E01");
	if (len > sizeof(b))
		len = sizeof(b);
	got = s->ops->mem_read(s->ctx, addr, b, (size_t)len);
	if (len && !got)
		return gdb_reply(s, "E14");
	s->reply_len = 0;
	s->reply[0] = '\0';
	gdb_reply_hex(s, b, got);
}

/* M ADDR,LEN:XX... and X ADDR,LEN:binary. */
static void gdb_cmd_write(struct gdb_session *s, const char *p, const char *end, bool binary)
{
	static uint8_t b[RSP_PACKET_MAX];
	uint64_t addr, len;

	if (!gdb_addr_len(&p, end, &addr, &len) || !gdb_expect(&p, end, ':') ||
	    len > sizeof(b) || (uint64_t)(end - p) != (binary ? len : 2 * len))
		return gdb_reply(s, "E01");
	if (binary)
		memcpy(b, p, (size_t)len);
	else if (!gdb_unhex(p, (size_t)len, b))
		return gdb_reply(s, "E01");
	if (s->ops->mem_write(s->ctx, addr, b, (size_t)len) != len)
		return gdb_reply(s, "E14");
	gdb_reply(s, "OK");
}

/* Z/z TYPE,ADDR,KIND (conditions and commands after ';' are not supported: ignored). */
static void gdb_cmd_point(struct gdb_session *s, bool insert, const char *p, const char *end)
{
	uint64_t type, addr, kind;
	const char *semi = memchr(p, ';', (size_t)(end - p));

	if (semi)
		end = semi;
	if (!gdb_num(&p, end, &type) || !gdb_expect(&p, end, ',') || !gdb_num(&p, end, &addr) ||
	    !gdb_expect(&p, end, ',') || !gdb_num(&p, end, &kind) || p != end)
		return gdb_reply(s, "E01");
	if (type > GDB_POINT_ACCESS)
		return gdb_reply(s, "%s", "");
	switch (s->ops->point(s->ctx, insert, (unsigned)type, addr, kind)) {
	case GDB_POINT_OK:
		return gdb_reply(s, "OK");
	case GDB_POINT_UNSUPPORTED:
		return gdb_reply(s, "%s", "");
	default:
		return gdb_reply(s, "E22");
	}
}

/* qXfer:features:read:target.xml:OFF,LEN */
static void gdb_cmd_xfer(struct gdb_session *s, const char *p, const char *end)
{
	static const char annex[] = "target.xml:";
	size_t xml_len;
	const char *xml = gdb_target_xml(&xml_len);
	uint64_t off, len;

	if ((size_t)(end - p) < sizeof(annex) - 1 || memcmp(p, annex, sizeof(annex) - 1) != 0)
		return gdb_reply(s, "E00");
	p += sizeof(annex) - 1;
	if (!gdb_addr_len(&p, end, &off, &len) || p != end)
		return gdb_reply(s, "E01");
	if (off >= xml_len)
		return gdb_reply(s, "l");
	if (len > RSP_PACKET_MAX - 1)
		len = RSP_PACKET_MAX - 1;
	if (len > xml_len - off)
		len = xml_len - off;
	gdb_reply(s, "%c%.*s", off + len < xml_len ? 'm' : 'l', (int)len, xml + off);
}

/* True if pkt[0..len) starts with prefix. */
static bool gdb_prefix(const char *pkt, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(pkt, prefix, n) == 0;
}

/* q and Q packets. */
static void gdb_cmd_query(struct gdb_session *s, const char *pkt, size_t len)
{
	static const char xfer[] = "qXfer:features:read:";
	const char *end = pkt + len;

	if (gdb_prefix(pkt, len, "qSupported"))
		gdb_reply(s, GDB_SUPPORTED);
	else if (gdb_prefix(pkt, len, xfer))
		gdb_cmd_xfer(s, pkt + sizeof(xfer) - 1, end);
	else if (gdb_prefix(pkt, len, "qAttached"))
		gdb_reply(s, "1");
	else if (len == 2 && pkt[1] == 'C')
		gdb_reply(s, "QC1");
	else if (gdb_prefix(pkt, len, "qfThreadInfo"))
		gdb_reply(s, "m1");
	else if (gdb_prefix(pkt, len, "qsThreadInfo"))
		gdb_reply(s, "l");
	else if (gdb_prefix(pkt, len, "qSymbol"))
		gdb_reply(s, "OK");
	else if (gdb_prefix(pkt, len, "QStartNoAckMode")) {
		s->no_ack = true;
		gdb_reply(s, "OK");
	} else
		gdb_reply(s, "%s", "");
}

/* c [ADDR] / s [ADDR], and C SIG[;ADDR] / S SIG[;ADDR]: with a signal, an exception stop's fault
 * is delivered to the guest on resuming; without one it is not (gdb's `signal 0`). */
static enum gdb_resume gdb_cmd_resume(struct gdb_session *s, const char *p, const char *end,
				      bool with_sig, enum gdb_resume what)
{
	uint64_t v;

	s->resume_addr_set = false;
	s->resume_signal = -1;
	if (with_sig && (!gdb_num(&p, end, &v) || v > 0xff ||
			 (p != end && !gdb_expect(&p, end, ';')))) {
		gdb_reply(s, "E01");
		return GDB_RESUME_NONE;
	}
	if (with_sig)
		s->resume_signal = (int)v;
	if (p != end) {
		if (!gdb_num(&p, end, &v) || p != end) {
			gdb_reply(s, "E01");
			return GDB_RESUME_NONE;
		}
		s->rf->regs.rip = v;
		s->rf->dirty |= GDB_DIRTY_REGS;
		s->resume_addr_set = true;
	}
	s->reply_len = 0;
	s->reply[0] = '\0';
	return what;
}

/* vCont? and vCont;ACTION[:TID][;...]: one thread, so the first action decides. */
static enum gdb_resume gdb_cmd_vcont(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *p = pkt + 5, *end = pkt + len;

	if (len == 6 && pkt[5] == '?') {
		gdb_reply(s, "vCont;c;C;s;S");
		return GDB_RESUME_NONE;
	}
	if (!gdb_expect(&p, end, ';') || p >= end) {
		gdb_reply(s, "E01");
		return GDB_RESUME_NONE;
	}
	s->resume_addr_set = false;
	s->resume_signal = -1;
	s->reply_len = 0;
	s->reply[0] = '\0';
	if ((*p == 'C' || *p == 'S') && p + 1 < end) {
		const char *q = p + 1;
		uint64_t v;

		if (gdb_num(&q, end, &v) && v <= 0xff)
			s->resume_signal = (int)v;
	}
	switch (*p) {
	case 'c':
	case 'C':
		return GDB_RESUME_CONTINUE;
	case 's':
	case 'S':
		return GDB_RESUME_STEP;
	default:
		gdb_reply(s, "%s", "");
		return GDB_RESUME_NONE;
	}
}

/* v packets: vCont, vKill, vMustReplyEmpty and the rest (unsupported). */
static enum gdb_resume gdb_cmd_v(struct gdb_session *s, const char *pkt, size_t len)
{
	if (gdb_prefix(pkt, len, "vCont") && (len == 5 || pkt[5] == ';' || pkt[5] == '?'))
		return gdb_cmd_vcont(s, pkt, len);
	if (gdb_prefix(pkt, len, "vKill")) {
		gdb_reply(s, "OK");
		return GDB_RESUME_KILL;
	}
	gdb_reply(s, "%s", "");
	return GDB_RESUME_NONE;
}

enum gdb_resume gdb_handle(struct gdb_session *s, const char *pkt, size_t len)
{
	const char *end = pkt + len;

	s->reply_len = 0;
	s->reply[0] = '\0';
	if (len == 0)
		return GDB_RESUME_NONE;
	switch (pkt[0]) {
	case '?':
		gdb_reply(s, "%s", s->ops->stop_reply(s->ctx));
		return GDB_RESUME_NONE;
	case 'g':
		gdb_cmd_g(s);
		return GDB_RESUME_NONE;
	case 'G':
		gdb_cmd_G(s, pkt + 1, end);
		return GDB_RESUME_NONE;
	case 'p':
		gdb_cmd_p(s, pkt + 1, end);
		return GDB_RESUME_NONE;
	case 'P':
		gdb_cmd_P(s, pkt + 1, end);
		return GDB_RESUME_NONE;
	case 'm':
		gdb_cmd_m(s, pkt + 1, end);
		return GDB_RESUME_NONE;
	case 'M':
		gdb_cmd_write(s, pkt + 1, end, false);
		return GDB_RESUME_NONE;
	case 'X':
		gdb_cmd_write(s, pkt + 1, end, true);
		return GDB_RESUME_NONE;
	case 'c':
		return gdb_cmd_resume(s, pkt + 1, end, false, GDB_RESUME_CONTINUE);
	case 's':
		return gdb_cmd_resume(s, pkt + 1, end, false, GDB_RESUME_STEP);
	case 'C':
		return gdb_cmd_resume(s, pkt + 1, end, true, GDB_RESUME_CONTINUE);
	case 'S':
		return gdb_cmd_resume(s, pkt + 1, end, true, GDB_RESUME_STEP);
	case 'k':
		return GDB_RESUME_KILL;
	case 'D':
		gdb_reply(s, "OK");
		return GDB_RESUME_DETACH;
	case 'H':
	case 'T':
		gdb_reply(s, "OK");
		return GDB_RESUME_NONE;
	case 'Z':
	case 'z':
		gdb_cmd_point(s, pkt[0] == 'Z', pkt + 1, end);
		return GDB_RESUME_NONE;
	case 'q':
	case 'Q':
		gdb_cmd_query(s, pkt, len);
		return GDB_RESUME_NONE;
	case 'v':
		return gdb_cmd_v(s, pkt, len);
	default:
		return GDB_RESUME_NONE; /* unsupported: the empty reply */
	}
}
