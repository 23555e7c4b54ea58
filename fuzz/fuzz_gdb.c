/* Fuzz target: the gdb stub's wire. Bytes go through the packet framer (host/debug/rsp.c);
 * every packet it completes is handled (host/debug/gdb_proto.c) against a fake target with
 * 64 KiB of memory and a register file. Rules: replies fit the packet limit and frame again,
 * memory outside the fake's range is never touched, and nothing crashes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gdb_proto.h"
#include "rsp.h"

#define FZ_MEM_BASE 0x100000ull
#define FZ_MEM_SIZE 0x10000ull

struct fz_target {
	uint8_t mem[FZ_MEM_SIZE];
	unsigned points;
};

/* Bytes [addr, addr + n) that fall in the fake memory, from its start. */
static size_t fz_span(uint64_t addr, size_t n)
{
	if (addr < FZ_MEM_BASE || addr - FZ_MEM_BASE >= FZ_MEM_SIZE)
		return 0;
	return n < FZ_MEM_SIZE - (addr - FZ_MEM_BASE) ? n : (size_t)(FZ_MEM_SIZE - (addr - FZ_MEM_BASE));
}

static size_t fz_read(void *ctx, uint64_t addr, uint8_t *out, size_t n)
{
	struct fz_target *t = ctx;
	size_t k = fz_span(addr, n);

	memcpy(out, t->mem + (addr - FZ_MEM_BASE) * (k != 0), k);
	return k;
}

static size_t fz_write(void *ctx, uint64_t addr, const uint8_t *in, size_t n)
{
	struct fz_target *t = ctx;
	size_t k = fz_span(addr, n);

	memcpy(t->mem + (addr - FZ_MEM_BASE) * (k != 0), in, k);
	return k;
}

static enum gdb_point_result fz_point(void *ctx, bool insert, unsigned type, uint64_t addr,
				      uint64_t len)
{
	struct fz_target *t = ctx;

	if (type > GDB_POINT_ACCESS)
		abort(); /* the parser let an unknown type through */
	(void)len;
	if (!fz_span(addr, 1))
		return GDB_POINT_ERROR;
	t->points += insert ? 1 : 0;
	return type == GDB_POINT_READ ? GDB_POINT_UNSUPPORTED : GDB_POINT_OK;
}

static const char *fz_stop(void *ctx)
{
	(void)ctx;
	return "T05thread:1;";
}

static const struct gdb_ops fz_ops = {fz_read, fz_write, fz_point, fz_stop};

int fuzz_gdb_one(const uint8_t *data, size_t len)
{
	static struct fz_target t;
	static struct rsp_parser p;
	static struct gdb_session s;
	static struct gdb_regfile rf;
	static char frame[RSP_FRAME_MAX];

	memset(&t, 0, sizeof(t));
	memset(&rf, 0, sizeof(rf));
	rsp_init(&p);
	gdb_session_init(&s, &fz_ops, &t, &rf);
	for (size_t i = 0; i < len; i++) {
		if (rsp_feed(&p, data[i]) != RSP_PACKET)
			continue;
		if (p.len > RSP_PACKET_MAX)
			abort();
		gdb_handle(&s, p.payload, p.len);
		if (s.reply_len > RSP_PACKET_MAX || strlen(s.reply) > s.reply_len)
			abort();
		if (rsp_frame(s.reply, s.reply_len, frame, sizeof(frame)) == 0)
			abort(); /* a reply too long to send */
	}
	return 0;
}
