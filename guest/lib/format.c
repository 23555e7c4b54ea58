/* The one printf formatter behind printf, vprintf, snprintf and vsnprintf. Integer-only (no
 * floating point in the guest); output matches glibc for the subset documented in guest.h, which
 * tests/guests/printf_check.c checks case by case. */
#include <limits.h>

#include <pagewarden/guest.h>

#include "runtime.h"

/* Flag characters of a conversion. */
#define FMT_LEFT  (1u << 0) /* '-': pad on the right */
#define FMT_ZERO  (1u << 1) /* '0': pad numbers with zeros */
#define FMT_PLUS  (1u << 2) /* '+': sign on positive signed numbers */
#define FMT_SPACE (1u << 3) /* ' ': space on positive signed numbers */
#define FMT_ALT	  (1u << 4) /* '#': 0x for hex, leading 0 for octal */

enum fmt_length {
	LEN_INT,
	LEN_CHAR,
	LEN_SHORT,
	LEN_LONG,
	LEN_LLONG,
	LEN_SIZE,
	LEN_PTRDIFF,
	LEN_MAX
};

/* One parsed conversion: %[flags][width][.precision][length]conv. */
struct fmt_spec {
	unsigned flags;
	size_t width;
	int prec; /* -1: none given */
	enum fmt_length len;
	char conv;
};

/* The argument list in a struct, so helpers can take arguments through a pointer on every ABI
 * (a va_list parameter may be an array that decays). */
struct fmt_args {
	va_list ap;
};

/* Output position: where text goes and how much was produced so far. */
struct fmt_out {
	struct fmt_sink *sink;
	size_t count;
};

static const char fmt_spaces[] = "                ";
static const char fmt_zeros[] = "0000000000000000";

/* Send n bytes of s to the sink and count them. */
static void out_str(struct fmt_out *o, const char *s, size_t n)
{
	if (n)
		o->sink->write(o->sink, s, n);
	o->count += n;
}

/* Send n copies of c (' ' or '0'), in chunks from a constant run. */
static void out_fill(struct fmt_out *o, char c, size_t n)
{
	const char *run = c == '0' ? fmt_zeros : fmt_spaces;
	size_t chunk = sizeof(fmt_spaces) - 1;

	for (; n > chunk; n -= chunk)
		out_str(o, run, chunk);
	out_str(o, run, n);
}

/* Parse a decimal field at *p, saturating instead of overflowing. */
static int parse_decimal(const char **p)
{
	int v = 0;

	for (; **p >= '0' && **p <= '9'; (*p)++)
		v = v > (INT_MAX - 9) / 10 ? INT_MAX : v * 10 + (**p - '0');
	return v;
}

/* Parse the flag characters at p into spec; returns the first non-flag character. */
static const char *parse_flags(const char *p, struct fmt_spec *spec)
{
	for (;; p++) {
		switch (*p) {
		case '-':
			spec->flags |= FMT_LEFT;
			break;
		case '0':
			spec->flags |= FMT_ZERO;
			break;
		case '+':
			spec->flags |= FMT_PLUS;
			break;
		case ' ':
			spec->flags |= FMT_SPACE;
			break;
		case '#':
			spec->flags |= FMT_ALT;
			break;
		default:
			return p;
		}
	}
}

/* Parse width and precision (digits or '*'); a negative '*' width means '-', a negative '*'
 * precision means none, as in C11 7.21.6.1. */
static const char *parse_width_prec(const char *p, struct fmt_spec *spec, struct fmt_args *args)
{
	if (*p == '*') {
		int w = va_arg(args->ap, int);

		if (w < 0) {
			spec->flags |= FMT_LEFT;
			spec->width = (size_t)0 - (size_t)(long)w;
		} else {
			spec->width = (size_t)w;
		}
		p++;
	} else {
		spec->width = (size_t)parse_decimal(&p);
	}
	if (*p != '.')
		return p;
	p++;
	if (*p == '*') {
		int prec = va_arg(args->ap, int);

		spec->prec = prec < 0 ? -1 : prec;
		p++;
	} else {
		spec->prec = parse_decimal(&p);
	}
	return p;
}

/* Parse a length modifier (hh h l ll z t j) at p into spec. */
static const char *parse_length(const char *p, struct fmt_spec *spec)
{
	switch (*p) {
	case 'h':
		if (p[1] == 'h') {
			spec->len = LEN_CHAR;
			return p + 2;
		}
		spec->len = LEN_SHORT;
		return p + 1;
	case 'l':
		if (p[1] == 'l') {
			spec->len = LEN_LLONG;
			return p + 2;
		}
		spec->len = LEN_LONG;
		return p + 1;
	case 'z':
		spec->len = LEN_SIZE;
		return p + 1;
	case 't':
		spec->len = LEN_PTRDIFF;
		return p + 1;
	case 'j':
		spec->len = LEN_MAX;
		return p + 1;
	default:
		return p;
	}
}

/* Parse the conversion after '%' at p into spec; returns a pointer to the conversion character
 * (which is NUL if the format ends early). */
static const char *parse_spec(const char *p, struct fmt_spec *spec, struct fmt_args *args)
{
	*spec = (struct fmt_spec){.prec = -1, .len = LEN_INT};
	p = parse_flags(p, spec);
	p = parse_width_prec(p, spec, args);
	p = parse_length(p, spec);
	spec->conv = *p;
	return p;
}

/* Fetch a signed argument of the spec's length, widened. */
static intmax_t fetch_signed(struct fmt_args *args, enum fmt_length len)
{
	switch (len) {
	case LEN_CHAR:
		return (signed char)va_arg(args->ap, int);
	case LEN_SHORT:
		return (short)va_arg(args->ap, int);
	case LEN_LONG:
		return va_arg(args->ap, long);
	case LEN_LLONG:
		return va_arg(args->ap, long long);
	/* The signed type of size_t's width; ptrdiff_t has it on every ABI we build for. */
	case LEN_SIZE:
		return va_arg(args->ap, ptrdiff_t);
	case LEN_PTRDIFF:
		return va_arg(args->ap, ptrdiff_t);
	case LEN_MAX:
		return va_arg(args->ap, intmax_t);
	default:
		return va_arg(args->ap, int);
	}
}

/* Fetch an unsigned argument of the spec's length, widened. */
static uintmax_t fetch_unsigned(struct fmt_args *args, enum fmt_length len)
{
	switch (len) {
	case LEN_CHAR:
		return (unsigned char)va_arg(args->ap, unsigned);
	case LEN_SHORT:
		return (unsigned short)va_arg(args->ap, unsigned);
	case LEN_LONG:
		return va_arg(args->ap, unsigned long);
	case LEN_LLONG:
		return va_arg(args->ap, unsigned long long);
	case LEN_SIZE:
		return va_arg(args->ap, size_t);
	case LEN_PTRDIFF:
		return (uintmax_t)va_arg(args->ap, ptrdiff_t);
	case LEN_MAX:
		return va_arg(args->ap, uintmax_t);
	default:
		return va_arg(args->ap, unsigned);
	}
}

/* Emit a string of n bytes padded to the spec's width (precision already applied). */
static void out_padded(struct fmt_out *o, const struct fmt_spec *spec, const char *s, size_t n)
{
	size_t pad = spec->width > n ? spec->width - n : 0;

	if (!(spec->flags & FMT_LEFT))
		out_fill(o, ' ', pad);
	out_str(o, s, n);
	if (spec->flags & FMT_LEFT)
		out_fill(o, ' ', pad);
}

/* Emit a number: [spaces][sign or 0x][zeros][digits][spaces]. negative selects the '-' sign;
 * is_signed allows '+' and ' '. */
static void out_number(struct fmt_out *o, const struct fmt_spec *spec, uintmax_t v, bool negative,
		       bool is_signed, unsigned base, bool upper)
{
	const char *xdigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char digits[sizeof(uintmax_t) * 3]; /* enough for 64 bits in octal (22) */
	char prefix[2];
	size_t nd = 0, np = 0, zeros, len, pad;
	bool nonzero = v != 0;

	/* C11: precision 0 with value 0 prints no digits. */
	if (!(spec->prec == 0 && v == 0)) {
		do {
			digits[sizeof(digits) - 1 - nd++] = xdigits[v % base];
			v /= base;
		} while (v);
	}
	if (negative)
		prefix[np++] = '-';
	else if (is_signed && (spec->flags & FMT_PLUS))
		prefix[np++] = '+';
	else if (is_signed && (spec->flags & FMT_SPACE))
		prefix[np++] = ' ';
	if ((spec->flags & FMT_ALT) && base == 16 && nonzero) {
		prefix[np++] = '0';
		prefix[np++] = upper ? 'X' : 'x';
	}
	zeros = spec->prec > 0 && (size_t)spec->prec > nd ? (size_t)spec->prec - nd : 0;
	/* '#' with octal raises the precision just enough to show a leading zero. */
	if ((spec->flags & FMT_ALT) && base == 8 && zeros == 0 &&
	    (nd == 0 || digits[sizeof(digits) - nd] != '0'))
		zeros = 1;
	/* '0' is ignored with '-' or with a precision (C11 7.21.6.1p6). */
	if ((spec->flags & FMT_ZERO) && !(spec->flags & FMT_LEFT) && spec->prec < 0 &&
	    spec->width > np + zeros + nd)
		zeros = spec->width - np - nd;
	len = np + zeros + nd;
	pad = spec->width > len ? spec->width - len : 0;
	if (!(spec->flags & FMT_LEFT))
		out_fill(o, ' ', pad);
	out_str(o, prefix, np);
	out_fill(o, '0', zeros);
	out_str(o, digits + sizeof(digits) - nd, nd);
	if (spec->flags & FMT_LEFT)
		out_fill(o, ' ', pad);
}

/* %d %i: a signed number of the spec's length. */
static void conv_signed(struct fmt_out *o, const struct fmt_spec *spec, struct fmt_args *args)
{
	intmax_t v = fetch_signed(args, spec->len);
	/* Negate in unsigned arithmetic so INTMAX_MIN has a magnitude. */
	uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;

	out_number(o, spec, mag, v < 0, true, 10, false);
}

/* %u %x %X %o: an unsigned number of the spec's length in base. */
static void conv_unsigned(struct fmt_out *o, const struct fmt_spec *spec, struct fmt_args *args,
			  unsigned base)
{
	out_number(o, spec, fetch_unsigned(args, spec->len), false, false, base, spec->conv == 'X');
}

/* %s: a string cut at the precision; NULL prints as glibc does ("(null)", or nothing when the
 * precision is too short to hold it). */
static void conv_string(struct fmt_out *o, const struct fmt_spec *spec, struct fmt_args *args)
{
	const char *s = va_arg(args->ap, const char *);

	if (!s)
		s = spec->prec < 0 || spec->prec >= 6 ? "(null)" : "";
	out_padded(o, spec, s, spec->prec < 0 ? strlen(s) : strnlen(s, (size_t)spec->prec));
}

/* %p: 0x and lowercase hex, "(nil)" for NULL, as glibc prints it. */
static void conv_pointer(struct fmt_out *o, const struct fmt_spec *spec, struct fmt_args *args)
{
	uintptr_t v = (uintptr_t)va_arg(args->ap, void *);
	struct fmt_spec hex = *spec;

	if (!v) {
		out_padded(o, spec, "(nil)", 5);
		return;
	}
	hex.flags |= FMT_ALT;
	out_number(o, &hex, v, false, false, 16, false);
}

/* Perform one parsed conversion. Unknown conversions are printed as written. */
static void convert(struct fmt_out *o, const struct fmt_spec *spec, struct fmt_args *args)
{
	char c;

	switch (spec->conv) {
	case 'd':
	case 'i':
		conv_signed(o, spec, args);
		break;
	case 'u':
		conv_unsigned(o, spec, args, 10);
		break;
	case 'x':
	case 'X':
		conv_unsigned(o, spec, args, 16);
		break;
	case 'o':
		conv_unsigned(o, spec, args, 8);
		break;
	case 'p':
		conv_pointer(o, spec, args);
		break;
	case 's':
		conv_string(o, spec, args);
		break;
	case 'c':
		c = (char)va_arg(args->ap, int);
		out_padded(o, spec, &c, 1);
		break;
	case '%':
		out_str(o, "%", 1);
		break;
	default:
		out_str(o, "%", 1);
		out_str(o, &spec->conv, 1);
		break;
	}
}

int fmt_format_from(struct fmt_sink *sink, const char *fmt, const char *pct, va_list ap)
{
	struct fmt_out o = {.sink = sink, .count = 0};
	struct fmt_args args;
	struct fmt_spec spec;
	const char *p = fmt;

	va_copy(args.ap, ap);
	for (;;) {
		out_str(&o, p, (size_t)(pct - p)); /* the literal text up to the '%' or the end */
		if (!*pct)
			break;
		p = parse_spec(pct + 1, &spec, &args);
		if (!spec.conv)
			break; /* a lone '%' at the end prints nothing */
		convert(&o, &spec, &args);
		if (!*++p)
			break;
		pct = strchrnul(p, '%');
	}
	va_end(args.ap);
	return o.count > INT_MAX ? INT_MAX : (int)o.count;
}

int fmt_format(struct fmt_sink *sink, const char *fmt, va_list ap)
{
	return fmt_format_from(sink, fmt, strchrnul(fmt, '%'), ap);
}
