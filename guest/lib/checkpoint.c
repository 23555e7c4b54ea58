/* Checkpoints: markers the VMM can trace or trigger fault injection on. */
#include <pagewarden/guest.h>

#include "runtime.h"

void pw_checkpoint(uint64_t id, uint64_t value)
{
	struct pw_hc_checkpoint hc = {.id = id, .value = value};

	/* Output written before the marker must reach the VMM before it, so traces and
	 * injections line up with the console. Costs an exit only if something is buffered. */
	pw_flush();
	if (pw_pvh)
		return; /* no VMM to mark it for */
	pw_hypercall(PW_HC_CHECKPOINT, (uint64_t)(uintptr_t)&hc);
}
