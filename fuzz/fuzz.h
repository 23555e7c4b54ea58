/* The fuzz targets' entry points. Each takes one input and returns 0, and aborts if it finds
 * the code under test breaking a rule; libFuzzer (fuzz_main.c) and the regression test
 * (tests/test_fuzz_regress.c) call the same functions. */
#ifndef PW_FUZZ_FUZZ_H
#define PW_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* image_parse on data, then image_load into a small guest RAM when it parses. */
int fuzz_loader_one(const uint8_t *data, size_t len);

/* One KVM_EXIT_IO (port, width, direction, count, value from the first bytes) through the
 * hypercall dispatcher, over guest RAM holding the rest of data. */
int fuzz_hypercall_one(const uint8_t *data, size_t len);

/* A sequence of paging operations, each checked against a reference model of the mappings. */
int fuzz_paging_one(const uint8_t *data, size_t len);

/* inject_parse on data as a string; a spec it accepts must format and parse back the same. */
int fuzz_spec_one(const uint8_t *data, size_t len);

/* Bytes through the gdb stub's packet framer; every packet through the protocol handler, over a
 * fake target. */
int fuzz_gdb_one(const uint8_t *data, size_t len);

#endif
