/* Fuzz target: the fault-injection SPEC parser. Whatever it accepts must format to canonical
 * text that parses again to the same canonical text. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "inject.h"

#define FZ_SPEC_MAX 512

int fuzz_spec_one(const uint8_t *data, size_t len)
{
	char s[FZ_SPEC_MAX + 1], a[FZ_SPEC_MAX * 2], b[FZ_SPEC_MAX * 2], why[256];
	struct inject_spec spec, again;

	if (len > FZ_SPEC_MAX)
		len = FZ_SPEC_MAX;
	memcpy(s, data, len);
	s[len] = '\0'; /* a NUL inside the input just ends the string early */
	if (inject_parse(s, &spec, why, sizeof(why)) != INJ_OK)
		return 0;
	if (inject_format(&spec, a, sizeof(a)) >= (int)sizeof(a))
		abort();
	if (inject_parse(a, &again, why, sizeof(why)) != INJ_OK)
		abort(); /* the canonical form of an accepted spec is refused */
	inject_format(&again, b, sizeof(b));
	if (strcmp(a, b) != 0)
		abort(); /* formatting is not a fixed point */
	return 0;
}
