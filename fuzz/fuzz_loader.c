/* Fuzz target: the image loader on arbitrary bytes. */
#include <stdlib.h>

#include "fuzz.h"
#include "loader.h"
#include "memory.h"
#include "pagewarden/layout.h"

int fuzz_loader_one(const uint8_t *data, size_t len)
{
	static struct guest_mem mem; /* one 4 MiB RAM for every input: mapping it costs more */
	struct image_error e = {0};
	struct image img;

	if (!mem.host && guest_mem_alloc(&mem, PW_MEM_MIN) != MEM_OK)
		abort();
	if (image_parse(data, len, mem.size, &img, &e) != IMAGE_OK)
		return 0;
	/* A parsed image fits RAM by contract: loading it must not fail. */
	if (image_load(&img, &mem, &e) != IMAGE_OK)
		abort();
	return 0;
}
