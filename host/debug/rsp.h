/* GDB Remote Serial Protocol framing: bytes from the wire in, whole packets out, and replies
 * framed with their checksum. No sockets and no target here (fuzz/fuzz_gdb.c feeds it). */
#ifndef PW_HOST_RSP_H
#define PW_HOST_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest packet payload accepted or sent (qSupported's PacketSize, in hex there). */
#define RSP_PACKET_MAX 16384
/* A framed reply: '$', the payload escaped (at worst doubled), '#', two hex digits. */
#define RSP_FRAME_MAX (2 * RSP_PACKET_MAX + 4)

/* What one byte completed. */
enum rsp_event {
	RSP_NONE = 0,	  /* nothing yet */
	RSP_PACKET,	  /* a packet with a good checksum: payload and len hold it */
	RSP_INTERRUPT,	  /* ^C (0x03) outside a packet: stop the guest */
	RSP_ACK,	  /* '+' */
	RSP_NACK,	  /* '-': resend the last reply */
	RSP_BAD_CHECKSUM, /* a whole packet whose checksum is wrong: answer '-' */
	RSP_OVERSIZE,	  /* a whole packet longer than RSP_PACKET_MAX: answer '-' and E01 */
};

struct rsp_parser {
	unsigned state; /* where in a packet the next byte falls (rsp.c) */
	uint8_t sum;	/* checksum of the bytes so far */
	uint8_t want;	/* the checksum's first hex digit */
	bool escape;	/* the last byte was '}' */
	bool overflow;	/* the payload did not fit */
	size_t len;
	char payload[RSP_PACKET_MAX + 1]; /* unescaped, NUL-terminated */
};

/* Start p afresh, outside any packet. */
void rsp_init(struct rsp_parser *p);

/* Feed byte c; returns what it completed. After RSP_PACKET, p->payload[0..p->len) is the
 * packet (unescaped; a NUL inside is possible in binary data) until the next call. */
enum rsp_event rsp_feed(struct rsp_parser *p, uint8_t c);

/* Frame payload[0..n) as "$...#xx" into out (cap bytes), escaping '#', '$', '}' and '*'.
 * Returns the framed length, or 0 if it does not fit. */
size_t rsp_frame(const char *payload, size_t n, char *out, size_t cap);

/* Value of hex digit c, or -1. */
int rsp_hexval(int c);

#endif
