/* Fuzz target: the hypercall dispatcher with guest-chosen port, width, direction and value,
 * over a real guest RAM the input fills. Needs no KVM: the vCPU fd is -1, so RIP reads as 0. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hypercall.h"
#include "pagewarden/layout.h"

#define FUZZ_HC_HEADER 9	   /* port 2, size 1, direction 1, count 1, value 4 */
#define FUZZ_HC_LIMIT  (64u << 10) /* a console cap small enough to hit */

/* The header bytes in little-endian order: */
static unsigned fuzz_le(const uint8_t *p, int n)
{
	unsigned v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int fuzz_hypercall_one(const uint8_t *data, size_t len)
{
	static struct guest_mem mem;
	static struct kvm_run *kr;
	static FILE *devnull;
	struct run_config cfg = {.quiet = true, .console_limit = FUZZ_HC_LIMIT};
	struct vm vm = {.kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1};
	struct run r;
	uint32_t value;
	enum hc_result res;

	if (!mem.host) {
		kr = calloc(1, 8192);
		devnull = fopen("/dev/null", "w");
		if (!kr || !devnull || guest_mem_alloc(&mem, PW_MEM_MIN) != MEM_OK)
			abort();
	}
	if (len < FUZZ_HC_HEADER)
		return 0;
	/* The rest of the input is guest RAM from GPA 0, where small pointers land. */
	memset(mem.host, 0, 1 << 16);
	memcpy(mem.host, data + FUZZ_HC_HEADER,
	       len - FUZZ_HC_HEADER < (1 << 16) ? len - FUZZ_HC_HEADER : (1 << 16));
	memset(kr, 0, sizeof(*kr));
	kr->exit_reason = KVM_EXIT_IO;
	kr->io.port = (uint16_t)fuzz_le(data, 2);
	kr->io.size = data[2];
	kr->io.direction = data[3] & 1;
	kr->io.count = data[4];
	kr->io.data_offset = 4096;
	value = fuzz_le(data + 5, 4);
	memcpy((uint8_t *)kr + 4096, &value, sizeof(value));
	vm.run = kr;
	cfg.console_fd = fileno(devnull);
	cfg.log = devnull;
	run_init(&r, &vm, &mem, NULL, &cfg);
	res = hypercall_handle(&r);
	/* The dispatcher's promises: a stop says why, the cap holds, a resume leaves running. */
	if ((res == HC_STOP) != (r.stop != RUN_STOP_NONE) || r.console_bytes > FUZZ_HC_LIMIT ||
	    (r.stop != RUN_STOP_NONE && !r.msg[0] && r.stop != RUN_STOP_EXIT))
		abort();
	run_free(&r);
	return 0;
}
