/* Exits with the number given on the command line (./vmm exitcode.bin 7), 42 without one. */
#include <pagewarden/guest.h>

/* Parse a leading decimal number (optional '-') from s; def if there is none. */
static int parse_int(const char *s, int def)
{
	int sign = 1, v = 0;

	while (*s == ' ')
		s++;
	if (*s == '-') {
		sign = -1;
		s++;
	}
	if (*s < '0' || *s > '9')
		return def;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return sign * v;
}

int main(void)
{
	return parse_int(pw_cmdline(), 42);
}
