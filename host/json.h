/* The run report as JSON (--json FILE, or '-' for stdout). The schema is in docs/abi.md.
 * 64-bit addresses are hex strings ("0x1000"): JSON numbers lose precision past 2^53. */
#ifndef PW_HOST_JSON_H
#define PW_HOST_JSON_H

#include <stdint.h>
#include <stdio.h>

#include "run.h"

/* Write s as a JSON string literal: quoted, with ", \\ and control characters escaped and
 * invalid UTF-8 bytes replaced by U+FFFD, so any C string gives valid JSON. */
void json_string(FILE *f, const char *s);

/* Write the report object of the stopped run r (image path, RAM size, exit status of ./vmm)
 * to f, ending with a newline. Returns 0, or -1 if writing failed. */
int json_write_run(FILE *f, const struct run *r, const char *image, uint64_t mem, int status);

#endif
