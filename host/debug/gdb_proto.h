/* gdb's remote protocol, one packet at a time: parse the command, read or change the target
 * through gdb_ops and its register file, and say what to answer and whether to resume. The
 * target (host/debug/gdb.c, or the fuzzer's fake) owns memory, breakpoints and stops. */
#ifndef PW_HOST_GDB_PROTO_H
#define PW_HOST_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb_regs.h"
#include "rsp.h"

/* What a packet asks the target to do once its reply is sent. */
enum gdb_resume {
	GDB_RESUME_NONE = 0, /* stay stopped: wait for the next packet */
	GDB_RESUME_CONTINUE, /* c, C, vCont;c */
	GDB_RESUME_STEP,     /* s, S, vCont;s */
	GDB_RESUME_KILL,     /* k, vKill: stop the guest */
	GDB_RESUME_DETACH,   /* D: let the guest run on without the debugger */
};

/* gdb's breakpoint and watchpoint types (Z0..Z4). */
enum gdb_point {
	GDB_POINT_SW = 0,
	GDB_POINT_HW = 1,
	GDB_POINT_WRITE = 2,
	GDB_POINT_READ = 3,
	GDB_POINT_ACCESS = 4,
};

/* What a Z/z packet came to. */
enum gdb_point_result {
	GDB_POINT_OK = 0,
	GDB_POINT_UNSUPPORTED, /* this kind cannot be done here: an empty reply, gdb falls back */
	GDB_POINT_ERROR,       /* it could not be set (no room, unmapped): E.. */
};

struct gdb_ops {
	/* Read up to n bytes at guest-virtual addr into out (breakpoints hidden); returns how many
	 * were readable, stopping at the first unmapped page. */
	size_t (*mem_read)(void *ctx, uint64_t addr, uint8_t *out, size_t n);
	/* Write up to n bytes at addr; returns how many were written. */
	size_t (*mem_write)(void *ctx, uint64_t addr, const uint8_t *in, size_t n);
	/* Insert or remove a breakpoint or watchpoint of type (enum gdb_point) over len bytes. */
	enum gdb_point_result (*point)(void *ctx, bool insert, unsigned type, uint64_t addr,
				       uint64_t len);
	/* The stop reply for the stop the target is in ("T05thread:1;"). */
	const char *(*stop_reply)(void *ctx);
};

struct gdb_session {
	const struct gdb_ops *ops;
	void *ctx;
	struct gdb_regfile *rf; /* the registers gdb sees at this stop */
	bool no_ack;		/* QStartNoAckMode: no '+' either way */
	bool resume_addr_set;	/* the resume packet named an address (c ADDR): rf's RIP */
	int resume_signal;	/* the signal to pass on resuming (C, S, vCont;C/S), or -1: none
				 * (c, s, vCont;c/s), which gdb sends for a signal not to pass */
	char reply[RSP_PACKET_MAX + 1];
	size_t reply_len;
};

/* Start s for a target. */
void gdb_session_init(struct gdb_session *s, const struct gdb_ops *ops, void *ctx,
		      struct gdb_regfile *rf);

/* Handle packet pkt[0..len); s->reply then holds the answer (empty: "not supported"). A
 * resume, kill or detach is returned; kill has no reply to send. */
enum gdb_resume gdb_handle(struct gdb_session *s, const char *pkt, size_t len);

#endif
