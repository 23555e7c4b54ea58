/* The gdb stub's wire without KVM: packet framing (host/debug/rsp.c) and the protocol handler
 * (host/debug/gdb_proto.c) against a fake target of 4 KiB at 0x1000. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gdb_proto.h"
#include "rsp.h"

#define FAKE_BASE 0x1000u
#define FAKE_SIZE 0x1000u

static uint8_t fake_mem[FAKE_SIZE];
static unsigned fake_points;
static struct gdb_regfile fake_rf;
static struct gdb_session sess;

static size_t fake_read(void *ctx, uint64_t addr, uint8_t *out, size_t n)
{
	(void)ctx;
	if (addr < FAKE_BASE || addr >= FAKE_BASE + FAKE_SIZE)
		return 0;
	n = n < FAKE_BASE + FAKE_SIZE - addr ? n : FAKE_BASE + FAKE_SIZE - addr;
	memcpy(out, fake_mem + (addr - FAKE_BASE), n);
	return n;
}

static size_t fake_write(void *ctx, uint64_t addr, const uint8_t *in, size_t n)
{
	(void)ctx;
	if (addr < FAKE_BASE || addr + n > FAKE_BASE + FAKE_SIZE)
		return 0;
	memcpy(fake_mem + (addr - FAKE_BASE), in, n);
	return n;
}

static enum gdb_point_result fake_point(void *ctx, bool insert, unsigned type, uint64_t addr,
					uint64_t len)
{
	(void)ctx, (void)len;
	if (type == GDB_POINT_READ)
		return GDB_POINT_UNSUPPORTED;
	if (addr < FAKE_BASE)
		return GDB_POINT_ERROR;
	fake_points += insert ? 1u : 0u;
	return GDB_POINT_OK;
}

static const char *fake_stop(void *ctx)
{
	(void)ctx;
	return "T05thread:1;";
}

static const struct gdb_ops fake_ops = {fake_read, fake_write, fake_point, fake_stop};

static void setup(void)
{
	memset(fake_mem, 0, sizeof(fake_mem));
	memset(&fake_rf, 0, sizeof(fake_rf));
	fake_points = 0;
	gdb_session_init(&sess, &fake_ops, NULL, &fake_rf);
}

/* Handle pkt; the reply in sess.reply. */
static enum gdb_resume ask(const char *pkt)
{
	return gdb_handle(&sess, pkt, strlen(pkt));
}

TestSuite(gdb_proto, .init = setup);

Test(gdb_proto, frame_escapes_and_sums)
{
	char out[64];
	size_t n = rsp_frame("a#b$c}d*", 8, out, sizeof(out));
	unsigned sum = 0;

	cr_assert_gt(n, 0);
	out[n] = '\0';
	cr_expect_eq(memcmp(out, "$a}\x03" "b}\x04" "c}]d}\x0a" "#", n - 2), 0, "%s", out);
	cr_expect_eq(n, 16);
	for (size_t i = 1; i < n - 3; i++)
		sum += (unsigned char)out[i];
	cr_expect_eq(strtoul(out + n - 2, NULL, 16), sum & 0xff);
	cr_expect_eq(rsp_frame("abc", 3, out, 6), 0, "too small a buffer is refused");
}

/* Feed s; the last event. */
static enum rsp_event feed(struct rsp_parser *p, const char *s, size_t n)
{
	enum rsp_event ev = RSP_NONE;

	for (size_t i = 0; i < n; i++)
		ev = rsp_feed(p, (uint8_t)s[i]);
	return ev;
}

Test(gdb_proto, parser_round_trips_and_rejects)
{
	static struct rsp_parser p;
	static char payload[RSP_PACKET_MAX + 1], framed[RSP_FRAME_MAX + 8];
	size_t n = rsp_frame("m}1#,4", 6, framed, sizeof(framed));

	rsp_init(&p);
	cr_expect_eq(feed(&p, framed, n), RSP_PACKET);
	cr_expect_eq(p.len, 6);
	cr_expect_eq(memcmp(p.payload, "m}1#,4", 6), 0, "unescaped: %s", p.payload);
	cr_expect_eq(feed(&p, "$g#00", 5), RSP_BAD_CHECKSUM);
	cr_expect_eq(feed(&p, "$g#z", 4), RSP_BAD_CHECKSUM);
	cr_expect_eq(feed(&p, "\x03", 1), RSP_INTERRUPT);
	cr_expect_eq(feed(&p, "+", 1), RSP_ACK);
	cr_expect_eq(feed(&p, "-", 1), RSP_NACK);
	/* a packet of exactly the limit is accepted, one byte more is not */
	memset(payload, 'x', sizeof(payload));
	n = rsp_frame(payload, RSP_PACKET_MAX, framed, sizeof(framed));
	cr_assert_gt(n, 0);
	cr_expect_eq(feed(&p, framed, n), RSP_PACKET);
	n = rsp_frame(payload, RSP_PACKET_MAX + 1, framed, sizeof(framed));
	cr_assert_gt(n, 0);
	cr_expect_eq(feed(&p, framed, n), RSP_OVERSIZE);
	/* a packet cut off by a new start: the new one counts */
	cr_expect_eq(feed(&p, "$m1", 3), RSP_NONE);
	n = rsp_frame("g", 1, framed, sizeof(framed));
	cr_expect_eq(feed(&p, framed, n), RSP_PACKET);
	cr_expect_eq(p.len, 1);
}

Test(gdb_proto, connect_queries)
{
	cr_expect_eq(ask("qSupported:multiprocess+;swbreak+"), GDB_RESUME_NONE);
	cr_expect(strstr(sess.reply, "PacketSize=4000"), "%s", sess.reply);
	cr_expect(strstr(sess.reply, "qXfer:features:read+"), "%s", sess.reply);
	ask("qAttached");
	cr_expect_str_eq(sess.reply, "1");
	ask("qC");
	cr_expect_str_eq(sess.reply, "QC1");
	ask("qfThreadInfo");
	cr_expect_str_eq(sess.reply, "m1");
	ask("qsThreadInfo");
	cr_expect_str_eq(sess.reply, "l");
	ask("?");
	cr_expect_str_eq(sess.reply, "T05thread:1;");
	ask("vMustReplyEmpty");
	cr_expect_str_eq(sess.reply, "");
	ask("vCont?");
	cr_expect_str_eq(sess.reply, "vCont;c;C;s;S");
	ask("QStartNoAckMode");
	cr_expect_str_eq(sess.reply, "OK");
	cr_expect(sess.no_ack);
}

Test(gdb_proto, target_xml_in_chunks)
{
	size_t len, got = 0;
	const char *xml = gdb_target_xml(&len);
	char cmd[64];

	for (;;) {
		snprintf(cmd, sizeof(cmd), "qXfer:features:read:target.xml:%zx,100", got);
		ask(cmd);
		cr_assert(sess.reply[0] == 'm' || sess.reply[0] == 'l', "%s", sess.reply);
		cr_assert_eq(memcmp(sess.reply + 1, xml + got, sess.reply_len - 1), 0);
		got += sess.reply_len - 1;
		if (sess.reply[0] == 'l')
			break;
	}
	cr_expect_eq(got, len);
	cr_expect(strstr(xml, "<reg name=\"cr3\"") && strstr(xml, "<reg name=\"fs_base\""));
	ask("qXfer:features:read:other.xml:0,100");
	cr_expect_str_eq(sess.reply, "E00");
}

Test(gdb_proto, registers)
{
	fake_rf.regs.rip = 0x100110;
	fake_rf.regs.rflags = 0x246;
	fake_rf.sregs.cr3 = 0x50000;
	ask("g");
	cr_expect_eq(sess.reply_len, 2 * gdb_regs_bytes());
	ask("p10"); /* rip */
	cr_expect_str_eq(sess.reply, "1001100000000000");
	ask("p11"); /* eflags: 4 bytes */
	cr_expect_str_eq(sess.reply, "46020000");
	ask("p3d"); /* cr3: after the core (40), SSE (17), segment (2) files, cr0 and cr2 */
	cr_expect_str_eq(sess.reply, "0000050000000000");
	ask("P0=efbeadde00000000");
	cr_expect_str_eq(sess.reply, "OK");
	cr_expect_eq(fake_rf.regs.rax, 0xdeadbeef);
	cr_expect(fake_rf.dirty & GDB_DIRTY_REGS);
	ask("P12=10000000"); /* cs: selectors are read-only */
	cr_expect_str_eq(sess.reply, "E01");
	ask("P0=12");
	cr_expect_str_eq(sess.reply, "E00", "a short value is refused");
	ask("Gabcd");
	cr_expect_str_eq(sess.reply, "E01");
	ask("p99");
	cr_expect_str_eq(sess.reply, "E00");
}

Test(gdb_proto, memory)
{
	fake_mem[0x10] = 0xab;
	ask("m1010,2");
	cr_expect_str_eq(sess.reply, "ab00");
	ask("m0,4");
	cr_expect_str_eq(sess.reply, "E14", "unmapped");
	ask("m1ffe,8");
	cr_expect_str_eq(sess.reply, "0000", "a short read stops at the end of the mapping");
	ask("M1020,3:010203");
	cr_expect_str_eq(sess.reply, "OK");
	cr_expect_eq(fake_mem[0x22], 3);
	ask("X1030,2:\x7d\x5d\x41"); /* binary, already unescaped by the framer: "}]A" */
	cr_expect_str_eq(sess.reply, "E01", "length and data disagree");
	ask("X1030,2:zA");
	cr_expect_str_eq(sess.reply, "OK");
	cr_expect_eq(fake_mem[0x30], 'z');
	ask("M0,1:00");
	cr_expect_str_eq(sess.reply, "E14");
	ask("mzz,1");
	cr_expect_str_eq(sess.reply, "E01");
	ask("m1,11111111111111111"); /* 17 hex digits */
	cr_expect_str_eq(sess.reply, "E01");
}

Test(gdb_proto, points_and_resumes)
{
	ask("Z0,1000,1");
	cr_expect_str_eq(sess.reply, "OK");
	cr_expect_eq(fake_points, 1);
	ask("Z3,1000,4");
	cr_expect_str_eq(sess.reply, "", "unsupported here: gdb falls back");
	ask("Z2,10,4");
	cr_expect_str_eq(sess.reply, "E22");
	ask("Z9,1000,1");
	cr_expect_str_eq(sess.reply, "");
	ask("Z0,1000");
	cr_expect_str_eq(sess.reply, "E01");
	cr_expect_eq(ask("c"), GDB_RESUME_CONTINUE);
	cr_expect_eq(ask("s"), GDB_RESUME_STEP);
	cr_expect_eq(ask("c1234"), GDB_RESUME_CONTINUE);
	cr_expect_eq(fake_rf.regs.rip, 0x1234);
	cr_expect(sess.resume_addr_set);
	cr_expect_eq(ask("C0b"), GDB_RESUME_CONTINUE);
	cr_expect_eq(ask("vCont;s:1;c"), GDB_RESUME_STEP);
	cr_expect_eq(ask("vCont;c"), GDB_RESUME_CONTINUE);
	cr_expect_eq(ask("vCont;t"), GDB_RESUME_NONE);
	cr_expect_eq(ask("k"), GDB_RESUME_KILL);
	cr_expect_eq(ask("vKill;1"), GDB_RESUME_KILL);
	cr_expect_eq(ask("D"), GDB_RESUME_DETACH);
	cr_expect_str_eq(sess.reply, "OK");
	cr_expect_eq(ask("Cxx"), GDB_RESUME_NONE);
	cr_expect_str_eq(sess.reply, "E01");
}
