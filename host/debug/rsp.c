/* GDB Remote Serial Protocol framing. */
#include "rsp.h"

enum { RSP_IDLE, RSP_DATA, RSP_SUM1, RSP_SUM2 };

#define RSP_ESCAPE_XOR 0x20

void rsp_init(struct rsp_parser *p)
{
	p->state = RSP_IDLE;
	p->sum = p->want = 0;
	p->escape = p->overflow = false;
	p->len = 0;
	p->payload[0] = '\0';
}

int rsp_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Outside a packet: a start, an ack, ^C; anything else is line noise and ignored. */
static enum rsp_event rsp_idle(struct rsp_parser *p, uint8_t c)
{
	switch (c) {
	case '$':
		p->state = RSP_DATA;
		p->sum = 0;
		p->escape = p->overflow = false;
		p->len = 0;
		return RSP_NONE;
	case '+':
		return RSP_ACK;
	case '-':
		return RSP_NACK;
	case 0x03:
		return RSP_INTERRUPT;
	default:
		return RSP_NONE;
	}
}

/* A payload byte: summed as sent, stored unescaped. */
static void rsp_data(struct rsp_parser *p, uint8_t c)
{
	p->sum = (uint8_t)(p->sum + c);
	if (!p->escape && c == '}') {
		p->escape = true;
		return;
	}
	if (p->escape) {
		c ^= RSP_ESCAPE_XOR;
		p->escape = false;
	}
	if (p->len >= RSP_PACKET_MAX) {
		p->overflow = true;
		return;
	}
	p->payload[p->len++] = (char)c;
}

enum rsp_event rsp_feed(struct rsp_parser *p, uint8_t c)
{
	int v;

	switch (p->state) {
	case RSP_IDLE:
		return rsp_idle(p, c);
	case RSP_DATA:
		if (c == '#')
			p->state = RSP_SUM1;
		else if (c == '$') /* a new start inside a packet: the old one was cut off */
			rsp_idle(p, c);
		else
			rsp_data(p, c);
		return RSP_NONE;
	case RSP_SUM1:
		v = rsp_hexval(c);
		p->want = (uint8_t)(v < 0 ? 0 : v << 4);
		p->state = v < 0 ? RSP_IDLE : RSP_SUM2;
		return v < 0 ? RSP_BAD_CHECKSUM : RSP_NONE;
	default: /* RSP_SUM2 */
		p->state = RSP_IDLE;
		v = rsp_hexval(c);
		p->payload[p->len] = '\0';
		if (v < 0 || (uint8_t)(p->want | v) != p->sum)
			return RSP_BAD_CHECKSUM;
		return p->overflow ? RSP_OVERSIZE : RSP_PACKET;
	}
}

size_t rsp_frame(const char *payload, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t sum = 0;
	size_t o = 0;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)payload[i];
		bool esc = c == '#' || c == '$' || c == '}' || c == '*';

		if (o + (esc ? 2 : 1) + 3 > cap)
			return 0;
		if (esc) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= RSP_ESCAPE_XOR;
		}
		out[o++] = (char)c;
		sum = (uint8_t)(sum + c);
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 0xf];
	return o;
}
