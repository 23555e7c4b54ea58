/* libFuzzer's entry point for the target named by FUZZ_TARGET (set by the Makefile). */
#include "fuzz.h"

#define FUZZ_CAT2(a, b) a##b
#define FUZZ_CAT(a, b)	FUZZ_CAT2(a, b)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	return FUZZ_CAT(FUZZ_CAT(fuzz_, FUZZ_TARGET), _one)(data, len);
}
