# phitrail - build, test, install.
#
#   make               build/libphitrail.so, build/phitraild, build/phitrail
#   make test          unit, fuzz-smoke and end-to-end tests ("N passed, N failed")
#   make test-quick    the same without sanitizer builds and fuzzing
#   make demo          a collector on a scratch store, real programs, the trail
#   make demo-fleet    two hosts and an aggregator over NATS JetStream
#   make install       PREFIX (/usr/local) and DESTDIR honoured; the systemd
#                      unit, sysusers.d, tmpfiles.d and a sample
#                      /etc/phitrail/phitrail.conf (never over an existing one)
#   make deps          install the Debian packages needed (as root)

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
SBINDIR = $(PREFIX)/sbin
LIBDIR = $(PREFIX)/lib
MANDIR = $(PREFIX)/share/man
SYSTEMDUNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
SYSCONFDIR = /etc

CC ?= cc
FUZZCC ?= clang
B := build

PKGS := msgpack inih libbsd libsodium sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

# common/ holds what two of the programs share, one folder per kind of
# thing (README "Layout"): format (the record codec, spool and hand-off
# formats), policy (configuration, globs, addresses), detect (HL7, FHIR,
# DICOM), crypto (SHA-256, Merkle tree, checkpoints), protocol (the query,
# status and fleet wire codecs, the frames between phitraild's processes),
# store (the SQLite schema and queries), interop (the ATNA/DICOM
# vocabularies, UTF-8).
COMMON_DIRS := format policy detect crypto protocol store interop
COMMON_INCLUDES := $(COMMON_DIRS:%=-Icommon/%)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CPPFLAGS) $(CFLAGS) -D_GNU_SOURCE -DPHITRAIL_LIBDIR=\"$(LIBDIR)\" $(COMMON_INCLUDES) $(PKG_CFLAGS) -MMD -MP
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# The test build compiles in the collector's fault hooks (PHITRAILD_FAULT_*).
ASAN_FLAGS += -DPHITRAILD_FAULTS

COMMON_SRCS := $(sort $(wildcard $(COMMON_DIRS:%=common/%/*.c)))
SHIM_SRCS := $(sort $(wildcard shim/*.c))
COLLECTOR_SRCS := $(sort $(wildcard collector/*.c))
TOOLS_SRCS := $(sort $(wildcard tools/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# The shim: position independent, only the wrapped symbols exported, and
# only the small libraries DESIGN.md allows inside every host process,
# linked in from their static archives (PIC in Debian) with their symbols
# kept private: a program started under the shim loads one object, not
# five (each costs a process about 8 system calls and 6 page faults at
# exec), and the shim's copies never interpose on the program's own.
SHIM_CFLAGS := -fPIC -fvisibility=hidden -ftls-model=initial-exec
SHIM_LIBS := -Wl,--exclude-libs,ALL -Wl,-Bstatic -lmsgpackc -linih -lbsd -lmd \
	-Wl,-Bdynamic -ldl
COLLECTOR_LIBS := -lsqlite3 -lmsgpackc -linih -lbsd -lsodium -lgnutls -lnats -lpthread -lseccomp
TOOLS_LIBS := -lmsgpackc -linih -lbsd -lsodium -lsqlite3

# The shim links only the common/ folders that stay within what DESIGN.md
# allows inside every host process (msgpack-c, inih, libbsd): no libsodium,
# no SQLite.
SHIM_COMMON_DIRS := format policy detect
COMMON_PIC_OBJS := $(patsubst %.c,$(B)/pic/%.o,$(sort $(wildcard $(SHIM_COMMON_DIRS:%=common/%/*.c))))
SHIM_OBJS := $(SHIM_SRCS:%.c=$(B)/pic/%.o)
COMMON_OBJS := $(COMMON_SRCS:%.c=$(B)/obj/%.o)
COLLECTOR_OBJS := $(COLLECTOR_SRCS:%.c=$(B)/obj/%.o)
TOOLS_OBJS := $(TOOLS_SRCS:%.c=$(B)/obj/%.o)
COMMON_ASAN_OBJS := $(COMMON_SRCS:%.c=$(B)/asan/%.o)
COLLECTOR_ASAN_OBJS := $(COLLECTOR_SRCS:%.c=$(B)/asan/%.o)
TOOLS_ASAN_OBJS := $(TOOLS_SRCS:%.c=$(B)/asan/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)

all: $(B)/libphitrail.so $(B)/phitraild $(B)/phitrail

asan: $(B)/asan/phitraild $(B)/asan/phitrail

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SHIM_CFLAGS) -c -o $@ $<

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

$(B)/libphitrail.so: $(SHIM_OBJS) $(COMMON_PIC_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined -o $@ $^ $(SHIM_LIBS)

$(B)/phitraild: $(COLLECTOR_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(COLLECTOR_LIBS)

$(B)/phitrail: $(TOOLS_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(TOOLS_LIBS)

$(B)/asan/phitraild: $(COLLECTOR_ASAN_OBJS) $(COMMON_ASAN_OBJS)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(COLLECTOR_LIBS)

$(B)/asan/phitrail: $(TOOLS_ASAN_OBJS) $(COMMON_ASAN_OBJS)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(TOOLS_LIBS)

# Unit tests link the pure-logic objects they exercise (common/ plus the
# collector's and tools' own files, minus each program's main).
UNIT_LINK_OBJS := $(COMMON_ASAN_OBJS) \
	$(filter-out $(B)/asan/collector/main.o,$(COLLECTOR_ASAN_OBJS)) \
	$(filter-out $(B)/asan/tools/main.o,$(TOOLS_ASAN_OBJS))

$(B)/tests/%: tests/unit/%.c $(UNIT_LINK_OBJS) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -Itests/unit -Icollector -Itools -Ishim -o $@ $< \
		$(filter $(B)/asan/shim/%.o,$^) $(UNIT_LINK_OBJS) $(COLLECTOR_LIBS)

# The few shim files with pure logic a unit test drives without LD_PRELOAD.
$(B)/tests/test_real_elf: $(B)/asan/shim/real_elf.o
$(B)/tests-quick/test_real_elf: $(B)/obj/shim/real_elf.o

UNIT_QUICK_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests-quick/%)
UNIT_QUICK_LINK_OBJS := $(COMMON_OBJS) \
	$(filter-out $(B)/obj/collector/main.o,$(COLLECTOR_OBJS)) \
	$(filter-out $(B)/obj/tools/main.o,$(TOOLS_OBJS))

$(B)/tests-quick/%: tests/unit/%.c $(UNIT_QUICK_LINK_OBJS) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -Icollector -Itools -Ishim -o $@ $< \
		$(filter $(B)/obj/shim/%.o,$^) $(UNIT_QUICK_LINK_OBJS) $(COLLECTOR_LIBS)

# Fuzz targets: libFuzzer with clang; each parser of outside data has one.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE $(COMMON_INCLUDES) -Icollector $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined
$(B)/fuzz/%: tests/fuzz/%.c $(COMMON_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $< $(COMMON_SRCS) $(TOOLS_LIBS)

fuzz: $(FUZZ_BINS)

# PHITRAIL_LIBDIR is compiled into tools/run.c (where "phitrail run" looks
# for the shim): rebuilt whenever LIBDIR differs from the last build's.
$(B)/libdir.stamp: FORCE
	@mkdir -p $(B)
	@[ "$$(cat $@ 2>/dev/null)" = "$(LIBDIR)" ] || echo "$(LIBDIR)" >$@
$(B)/obj/tools/run.o $(B)/asan/tools/run.o: $(B)/libdir.stamp

unit: $(UNIT_BINS)

unit-quick: $(UNIT_QUICK_BINS)

# Each build step says what it builds; tests/run.sh says which part it
# runs and, before its last line ("N passed, N failed"), how long it all
# took, builds included.
test:
	@start=$$(date +%s); \
	echo "== build: shim, collector and CLI" && $(MAKE) --no-print-directory all && \
	echo "== build: collector and CLI under ASan/UBSan" && $(MAKE) --no-print-directory asan && \
	echo "== build: unit tests (ASan/UBSan)" && $(MAKE) --no-print-directory unit && \
	echo "== build: fuzz targets (libFuzzer, $(FUZZCC))" && $(MAKE) --no-print-directory fuzz && \
	PHITRAIL_TEST_STARTED=$$start sh tests/run.sh

# The same without sanitizers and fuzzing: unit tests built plain, the
# collector and CLI of build/.
test-quick:
	@start=$$(date +%s); \
	echo "== build: shim, collector and CLI" && $(MAKE) --no-print-directory all && \
	echo "== build: unit tests (no sanitizers)" && $(MAKE) --no-print-directory unit-quick && \
	PHITRAIL_TEST_STARTED=$$start sh tests/run.sh --quick

test-transparency: all
	sh tests/transparency/run.sh

demo: deps all
	sh scripts/demo.sh

demo-fleet: all
	sh scripts/demo_fleet.sh

bench: all
	sh bench/run.sh

bench-quick: all
	sh bench/run.sh --quick

deps:
	sh scripts/install-deps.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR)
	install -m 0755 $(B)/phitrail $(DESTDIR)$(BINDIR)/phitrail
	install -m 0755 $(B)/phitraild $(DESTDIR)$(SBINDIR)/phitraild
	install -m 0644 $(B)/libphitrail.so $(DESTDIR)$(LIBDIR)/libphitrail.so
	for m in man/*.[0-9]; do \
		[ -f "$$m" ] || continue; \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/phitraild.service.in >$(B)/phitraild.service
	install -m 0644 $(B)/phitraild.service $(DESTDIR)$(SYSTEMDUNITDIR)/phitraild.service
	install -m 0644 dist/phitrail.sysusers $(DESTDIR)$(SYSUSERSDIR)/phitrail.conf
	install -m 0644 dist/phitrail.tmpfiles $(DESTDIR)$(TMPFILESDIR)/phitrail.conf
	install -d $(DESTDIR)$(SYSCONFDIR)/phitrail
	[ -e $(DESTDIR)$(SYSCONFDIR)/phitrail/phitrail.conf ] || \
		install -m 0644 dist/phitrail.conf $(DESTDIR)$(SYSCONFDIR)/phitrail/phitrail.conf

clean:
	rm -rf $(B)

.PHONY: all asan unit unit-quick fuzz test test-quick test-transparency demo demo-fleet bench bench-quick deps install clean FORCE

-include $(shell find $(B) -name '*.d' 2>/dev/null)
