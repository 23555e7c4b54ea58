# pagewarden build. `make` builds ./vmm and ./guest.bin; `make run` boots the demo guest;
# `make test` runs every Criterion test; `make bench` runs the benchmarks.
# Out-of-tree: make O=/path/to/dir (default: build/). Honours CC, CFLAGS, LDFLAGS.

O ?= build
B := $(O)
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif

CFLAGS ?= -O2 -g

# Where commands that need KVM run (the demo, the test suite, valgrind): KVM=auto runs them here
# when /dev/kvm works and otherwise in the VM of scripts/kvm-vm (a KVM host emulated by QEMU),
# saying so in one line; KVM=native always here; KVM=vm always in the VM.
KVM ?= auto
ifeq ($(KVM),auto)
ON_KVM := scripts/kvm-vm --
else ifeq ($(KVM),vm)
ON_KVM := scripts/kvm-vm --vm --
else ifeq ($(KVM),native)
ON_KVM :=
else
$(error KVM must be auto, native or vm, not '$(KVM)')
endif
# host/ holds the VMM's core; each larger subsystem has a folder of its own. layout/ (the guest
# memory layout) is built into both the VMM and the guest runtime, which uses it for the PVH entry.
HOST_DIRS := host host/campaign host/fault host/debug layout
HOST_CFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP -Ipaging -Iguest/include \
	$(HOST_DIRS:%=-I%) -Ifuzz $(CFLAGS)
# Every guest, the project's and its users', is compiled as kernels are: a null pointer is an
# address like any other (its guard page catches it), not undefined behaviour that lets the
# compiler turn an access into ud2 or delete a later check; and gcc 12's assumption that no object
# lives in the first 4 KiB (which makes it warn on constant addresses there) is off. clang needs
# only the first flag (docs/guest.md). $(call guest_null_flags,COMPILER):
guest_null_flags = -fno-delete-null-pointer-checks $(shell $(1) -Werror --param=min-pagesize=0 \
	-x c -c /dev/null -o /dev/null 2>/dev/null && echo --param=min-pagesize=0)
GUEST_NULL_FLAGS := $(call guest_null_flags,$(CC))
GUEST_BASE_CFLAGS := -std=c11 -Wall -Wextra -O2 -g -MMD -MP \
	-ffreestanding -mno-red-zone -mgeneral-regs-only -fno-pie -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fcf-protection=none -nostdlib -mno-mmx -mno-sse \
	-Ipaging -Iguest/include -Ilayout
# The project's own guests and runtime keep -Werror; a user's guest (make guest) gets warnings.
GUEST_CFLAGS := $(GUEST_BASE_CFLAGS) $(GUEST_NULL_FLAGS) -Werror
USER_GUEST_CFLAGS := $(GUEST_BASE_CFLAGS) $(GUEST_NULL_FLAGS)
GUEST_LDFLAGS := -nostdlib -static -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
	-Wl,-z,noexecstack -T guest/guest.ld
# libseccomp compiles the sandbox's filter at build time (host/tools/sandbox_gen.c); ./vmm itself
# loads the finished program and does not link libseccomp.
HAVE_LIBSECCOMP := $(shell pkg-config --exists libseccomp 2>/dev/null && echo yes)
HOST_LIBS :=
SANDBOX_BPF :=
ifneq ($(HAVE_LIBSECCOMP),)
HOST_CFLAGS += -DHAVE_SECCOMP -I$(B)/gen
SANDBOX_BPF := $(B)/gen/sandbox_bpf.h
endif
# capstone is dlopen'ed by host/disasm.c, never linked: only its header is needed here.
ifneq ($(shell pkg-config --exists capstone 2>/dev/null && echo yes),)
HOST_CFLAGS += -DHAVE_CAPSTONE
endif

PAGING_SRC := $(wildcard paging/*.c)
HOST_SRC := $(filter-out host/main.c,$(wildcard $(HOST_DIRS:%=%/*.c)))
GUEST_RT_SRC := $(wildcard guest/lib/*.c) $(wildcard guest/lib/*.S) $(wildcard layout/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
# The fuzz targets' entry points: linked into the tests too, which replay fuzz/regress/.
FUZZ_SRC := $(filter-out fuzz/fuzz_main.c,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS := $(FUZZ_SRC:fuzz/fuzz_%.c=%)
TEST_GUEST_SRC := $(wildcard tests/guests/*.c)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_HELPER_SRC := $(wildcard bench/helpers/*.c)

PAGING_OBJ := $(PAGING_SRC:%.c=$(B)/host/%.o)
PAGING_GUEST_OBJ := $(PAGING_SRC:%.c=$(B)/guest/%.o)
HOST_OBJ := $(HOST_SRC:%.c=$(B)/host/%.o)
GUEST_RT_OBJ := $(patsubst %,$(B)/guest/%.o,$(basename $(GUEST_RT_SRC)))
TEST_OBJ := $(TEST_SRC:%.c=$(B)/host/%.o) $(FUZZ_SRC:%.c=$(B)/host/%.o)
TEST_GUESTS := $(TEST_GUEST_SRC:tests/guests/%.c=$(B)/tests/guests/%.bin) \
	$(TEST_GUEST_SRC:tests/guests/%.c=$(B)/tests/guests/%.elf)
BENCHES := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
BENCH_HELPERS := $(BENCH_HELPER_SRC:bench/helpers/%.c=$(B)/bench/helpers/%)

LIBPAGING := $(B)/libpaging.a
LIBPAGING_GUEST := $(B)/libpaging-guest.a
LIBVMM := $(B)/libvmm.a
LIBGUEST := $(B)/libguest.a
TEST_BIN := $(B)/tests/run-tests
FREESTANDING_TEST := $(B)/tests/paging-freestanding

.PHONY: all build run test test-run bench bench-run clean guest deps deps-test
# Missing Debian packages are installed first (scripts/deps.sh), then a sub-make builds, so that
# `make -j` never compiles before the headers it needs exist.
all: deps
	@$(MAKE) --no-print-directory build
build: vmm guest.bin

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test

# ---- host objects ----
$(B)/host/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(LIBPAGING): $(PAGING_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(LIBVMM): $(HOST_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# The sandbox's filter, compiled with libseccomp by a build-time tool built with the same flags
# (so an ASan build gets the ASan rules), not a fuzzer's.
ifneq ($(HAVE_LIBSECCOMP),)
$(B)/tools/sandbox-gen: host/tools/sandbox_gen.c host/sandbox_rules.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -fsanitize=fuzzer%,$(HOST_CFLAGS)) $(LDFLAGS) -o $@ $< -lseccomp
$(SANDBOX_BPF): $(B)/tools/sandbox-gen
	@mkdir -p $(@D)
	ASAN_OPTIONS=detect_leaks=0 $< > $@.tmp && mv $@.tmp $@
$(B)/host/host/sandbox.o: $(SANDBOX_BPF)
endif

vmm: $(B)/host/host/main.o $(LIBVMM) $(LIBPAGING)
	$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

# ---- guest objects ----
$(B)/guest/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(B)/guest/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(LIBPAGING_GUEST): $(PAGING_GUEST_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
$(LIBGUEST): $(GUEST_RT_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# Link a guest ELF from one object; the runtime's entry stub comes first via the linker script.
define link_guest
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(1) $(LIBGUEST) $(LIBPAGING_GUEST) -lgcc
endef

$(B)/demo/guest.elf: $(B)/guest/guest/demo/demo.o $(LIBGUEST) $(LIBPAGING_GUEST) guest/guest.ld
	$(call link_guest,$<)
guest.elf: $(B)/demo/guest.elf
	cp $< $@
guest.bin: $(B)/demo/guest.elf
	objcopy -O binary $< $@

$(B)/tests/guests/%.elf: $(B)/guest/tests/guests/%.o $(LIBGUEST) $(LIBPAGING_GUEST) guest/guest.ld
	$(call link_guest,$<)
$(B)/tests/guests/%.bin: $(B)/tests/guests/%.elf
	objcopy -O binary $< $@

# Guests as users write them (tests/plain/): compiled with a user's flags by gcc and by clang,
# linked with the runtime; and, as the control tests/test_plain.c checks, by gcc without the
# null-pointer flags (what those prevent shows in its disassembly).
PLAIN_SRC := $(wildcard tests/plain/*.c)
PLAIN_GUESTS := $(foreach c,gcc clang,$(PLAIN_SRC:tests/plain/%.c=$(B)/tests/plain/$(c)/%.bin)) \
	$(PLAIN_SRC:tests/plain/%.c=$(B)/tests/plain/no-null-flags/%.o)
$(B)/tests/plain/gcc/%.o: tests/plain/%.c
	@mkdir -p $(@D)
	gcc $(GUEST_BASE_CFLAGS) $(call guest_null_flags,gcc) -c $< -o $@
$(B)/tests/plain/clang/%.o: tests/plain/%.c
	@mkdir -p $(@D)
	clang $(GUEST_BASE_CFLAGS) $(call guest_null_flags,clang) -c $< -o $@
$(B)/tests/plain/no-null-flags/%.o: tests/plain/%.c
	@mkdir -p $(@D)
	gcc $(GUEST_BASE_CFLAGS) -c $< -o $@
$(B)/tests/plain/%.elf: $(B)/tests/plain/%.o $(LIBGUEST) $(LIBPAGING_GUEST) guest/guest.ld
	$(call link_guest,$<)
$(B)/tests/plain/%.bin: $(B)/tests/plain/%.elf
	objcopy -O binary $< $@

# `make guest SRC=path/to/file.c OUT=path/to/file.bin` (OUT=....elf gives an ELF).
guest: $(LIBGUEST) $(LIBPAGING_GUEST)
	@test -n "$(SRC)" -a -n "$(OUT)" || { echo "usage: make guest SRC=file.c OUT=file.bin|file.elf" >&2; exit 2; }
	@mkdir -p $(B)/user
	$(CC) $(USER_GUEST_CFLAGS) -c $(SRC) -o $(B)/user/$(notdir $(basename $(SRC))).o
	$(CC) $(USER_GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $(B)/user/$(notdir $(basename $(SRC))).elf \
		$(B)/user/$(notdir $(basename $(SRC))).o $(LIBGUEST) $(LIBPAGING_GUEST) -lgcc
	@case "$(OUT)" in \
	*.elf) cp $(B)/user/$(notdir $(basename $(SRC))).elf $(OUT) ;; \
	*) objcopy -O binary $(B)/user/$(notdir $(basename $(SRC))).elf $(OUT) ;; \
	esac
	@echo "built $(OUT)"

run: all
	$(ON_KVM) ./vmm guest.bin

# ---- tests ----
$(TEST_BIN): $(TEST_OBJ) $(LIBVMM) $(LIBPAGING)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(HOST_LIBS)

# The paging library built with the guest flags, linked into a non-PIE host test.
$(FREESTANDING_TEST): tests/freestanding/smoke.c $(LIBPAGING_GUEST)
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -Ipaging -no-pie -fno-pie -o $@ $^ -lcriterion

test: deps-test
	@$(MAKE) --no-print-directory test-run
test-run: build $(TEST_BIN) $(FREESTANDING_TEST) $(TEST_GUESTS) $(PLAIN_GUESTS) $(B)/demo/guest.elf
	$(FREESTANDING_TEST) --jobs 2
	PW_ROOT=$(CURDIR) PW_BUILD=$(abspath $(B)) PW_CC='$(CC)' $(ON_KVM) $(TEST_BIN) --jobs 2

# scripts/kvm-vm's own contract, checked in its VM whether or not /dev/kvm works here (boots the
# VM a few times: about a minute under emulation).
.PHONY: test-kvm-vm
test-kvm-vm:
	@scripts/deps.sh build
	tests/kvm-vm.sh

# ---- sanitizers: the host side with ASan+UBSan in $(O)/asan, the whole suite against it ----
# ./vmm is the sanitized one while this runs, and rebuilt plainly afterwards. Leak checking is
# off here (the test processes keep their captures until exit); make valgrind checks ./vmm's.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
.PHONY: test-asan valgrind fuzz fuzz-run deps-fuzz
test-asan: deps-test
	@rm -f vmm; st=0; ASAN_OPTIONS=detect_leaks=0 \
	$(MAKE) --no-print-directory O=$(B)/asan CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" \
		test-run || st=$$?; \
	rm -f vmm; $(MAKE) --no-print-directory build >/dev/null || st=1; exit $$st

# The whole suite built by clang (host, guests and runtime), in its own build dir; ./vmm and
# ./guest.bin are clang's while it runs and rebuilt with $(CC) afterwards.
.PHONY: test-clang deps-clang
deps-clang:
	@scripts/deps.sh clang
test-clang: deps-clang
	@rm -f vmm guest.bin; st=0; \
	$(MAKE) --no-print-directory O=$(B)/clang CC=clang test-run || st=$$?; \
	rm -f vmm guest.bin; $(MAKE) --no-print-directory build >/dev/null || st=1; exit $$st

# valgrind on ./vmm with the demo guest, a crashing one and a small campaign (its workers too);
# see docs/security.md for why KVM's ioctls need the suppressions in tests/valgrind.supp.
valgrind: build $(B)/tests/guests/triple.bin $(B)/tests/guests/workload.elf
	$(ON_KVM) $(MAKE) --no-print-directory valgrind-run
.PHONY: valgrind-run
valgrind-run:
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp ./vmm -q --no-sandbox guest.bin >/dev/null
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp ./vmm -q --no-sandbox $(B)/tests/guests/triple.bin \
		>/dev/null 2>&1; test $$? = 75
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp ./vmm campaign --no-sandbox --runs 40 --jobs 2 \
		--model skip --model pte --model reg --no-progress $(B)/tests/guests/workload.elf >/dev/null

# ---- fuzzing: one libFuzzer binary per fuzz/fuzz_<target>.c, FUZZ_SECONDS each ----
FUZZ_SECONDS ?= 30
FUZZ_B := $(B)/fuzz
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -Ipaging -Iguest/include $(HOST_DIRS:%=-I%) -Ifuzz \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	$(filter -DHAVE_%,$(HOST_CFLAGS))
deps-fuzz:
	@scripts/deps.sh fuzz
fuzz: deps-fuzz
	@$(MAKE) --no-print-directory fuzz-run
$(FUZZ_B)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_main.c fuzz/fuzz.h $(HOST_SRC) $(PAGING_SRC) $(SANDBOX_BPF)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -I$(B)/gen -DFUZZ_TARGET=$* -o $@ fuzz/fuzz_$*.c fuzz/fuzz_main.c $(HOST_SRC) \
		$(PAGING_SRC) $(HOST_LIBS)
# Each run starts from the committed seeds plus what earlier runs found (kept in $(FUZZ_B)).
fuzz-run: $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/crashes/$$t; \
		echo "== fuzz $$t ($(FUZZ_SECONDS)s)"; \
		$(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_B)/crashes/$$t/ \
			$(FUZZ_B)/corpus/$$t fuzz/corpus/$$t >$(FUZZ_B)/$$t.log 2>&1; st=$$?; \
		grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' \
			$(FUZZ_B)/$$t.log; \
		test $$st = 0 || { echo "fuzz $$t: crash, see $(FUZZ_B)/$$t.log and" \
			"$(FUZZ_B)/crashes/$$t/"; exit 1; }; \
	done

# ---- benchmarks ----
$(B)/bench/%: bench/%.c $(LIBVMM) $(LIBPAGING)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(HOST_LIBS)

# Programs a benchmark runs as its floor (e.g. a raw-KVM boot); built, not run, by `make bench`.
$(B)/bench/helpers/%: bench/helpers/%.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(LDFLAGS) -o $@ $<

# The paging benchmarks need no KVM and run here; the others run where the tests do (KVM=: in
# the VM of scripts/kvm-vm where /dev/kvm does not work, which marks their wall times
# "emulated"; their instruction and exit counts mean the same everywhere).
PAGING_BENCHES := $(B)/bench/bench_paging
KVM_BENCHES := $(filter-out $(PAGING_BENCHES),$(BENCHES))
bench: deps
	@$(MAKE) --no-print-directory bench-run
bench-run: build $(BENCHES) $(BENCH_HELPERS) $(TEST_GUESTS)
	@for b in $(PAGING_BENCHES); do PW_ROOT=$(CURDIR) PW_BUILD=$(abspath $(B)) $$b || exit 1; done
	@PW_ROOT=$(CURDIR) PW_BUILD=$(abspath $(B)) $(ON_KVM) sh -c \
		'for b in $(KVM_BENCHES); do $$b || exit 1; done'

clean:
	rm -rf $(B) vmm guest.bin guest.elf

.SECONDARY:

-include $(shell find $(B) -name '*.d' 2>/dev/null)
