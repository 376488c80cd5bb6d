# tug: kernel/eBPF-assisted chaos fault injector.
#
#   make              build build/tug (the node controller) and build/tug-full
#   make check        unit, BPF and integration tests (integration needs root)
#   make check SAN=1  the same against an -fsanitize=address,undefined build
#   make check SAN=thread T=orchestrator   the orchestrator's tests under TSan
#   T=PATTERN         only the tests whose file name contains PATTERN
#   EXCEPT=PATTERN    all but the tests whose file name contains PATTERN
#   make torture      SIGKILL/SIGSTOP cycles for every fault family, residue and
#                     revert lateness, table written to docs/TORTURE.md
#                     (TORTURE_CYCLES=2 is the short version)
#   make check-vm     the integration suite inside Debian 12 and 13 guests
#                     (scripts/vm; VM_RELEASES=bookworm, VM_TESTS="a b" for a subset)
#   make bench        benchmarks, tables written to docs/BENCHMARKS.md
#   make demo         the main job (see README.md)
#   make install      honours PREFIX and DESTDIR
#   make deb          build/tug_VERSION_ARCH.deb: what make install installs,
#                     with its run-time dependencies computed (scripts/deb)
#   LINK=shared       the node controller with shared libraries (default: libbpf,
#                     libnl, json-c, libseccomp from their static archives)
#   V=1               show the commands

PREFIX ?= /usr/local
DESTDIR ?=
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
DOC_DIR ?= $(PREFIX)/share/doc/tug
SAN ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(SAN),1)
OUT := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
# Any report fails the test that caused it, here as in CI.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	   UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
else ifeq ($(SAN),thread)
# The orchestrator's threads (faults, pollers, the main loop) under TSan:
# make check SAN=thread T=orchestrator (CI runs that).
OUT := build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
SAN_ENV := TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1
else
OUT := build
SANFLAGS :=
SAN_ENV :=
endif

# Two executables from one tree. tug, the node controller (faults, actions,
# status, doctor, watch), links only what faults need; tug-full adds the
# orchestrator (run, schedule, lab) and the PostgreSQL faults, with their
# libraries. tug runs tug-full, from beside itself, for what it does not
# carry. Either loads libcurl on demand (user/core/http.c).
NODE_PKGS := libbpf libnl-3.0 libnl-route-3.0 libnl-idiag-3.0 json-c libseccomp
PKGS := $(NODE_PKGS) yaml-0.1 libssh2 libcurl libpq libcrypto
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# The release; `tug --version` adds the commit it was built from, when known.
VERSION := 0.3.0
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	  -I$(OUT) $(addprefix -I,$(USER_DIRS)) -Ibpf $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lelf -lz -lm
# The node controller links libbpf, libnl, json-c and libseccomp from their
# static archives: the dynamic loader's symbol lookups in a dozen shared
# objects, and fork() copying their mappings for the guardian, cost half a
# millisecond of every fault's onset (docs/bench/net.md). libelf and zlib
# too, where libbpf links against their archives (ELF_STATIC, a test link):
# Debian 13's libelf.a (elfutils 0.192) calls eu_search_tree_* that no
# archive defines (sourceware bug 32293), so there they stay shared. LINK=shared
# links everything shared, for a distribution that updates the libraries in
# place; without their archives (lib*.a of the -dev packages) the build
# does that and says so.
NODE_SHARED := -lelf -lz -lzstd -lpthread -pthread -lm -ldl -lrt
NODE_STATIC := $(filter-out $(NODE_SHARED),$(shell $(PKG_CONFIG) --static --libs $(NODE_PKGS)))
NODE_MISSING := $(strip $(foreach l,$(patsubst -l%,lib%.a,$(filter -l%,$(NODE_STATIC))),$(if $(filter /%,$(shell $(CC) -print-file-name=$(l))),,$(l))))
ifeq ($(LINK),)
LINK := $(if $(NODE_MISSING),shared,static)
ifneq ($(NODE_MISSING),)
$(info note: no $(NODE_MISSING): the node controller links shared libraries (LINK=shared), and starts slower)
endif
endif
ifeq ($(LINK),static)
ELF_STATIC := $(shell t=$$(mktemp) && printf 'void *bpf_object__open_mem(const void *, unsigned long, const void *);\nint main(void) { return !bpf_object__open_mem(0, 0, 0); }\n' | \
	$(CC) -x c - -o $$t -Wl,-Bstatic $(NODE_STATIC) -lelf -lz -Wl,-Bdynamic -lpthread 2>/dev/null && echo -lelf -lz; rm -f $$t)
NODE_LDLIBS := -Wl,-Bstatic $(NODE_STATIC) $(ELF_STATIC) -Wl,-Bdynamic $(filter-out $(ELF_STATIC),-lelf -lz) -lpthread
else
NODE_LDLIBS := $(shell $(PKG_CONFIG) --libs $(NODE_PKGS)) -lelf -lz
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Ibpf -Wall \
	      -I/usr/include/$(shell $(CC) -dumpmachine)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
# user/: main.c, core/ (parsing, config, logging, the event vocabulary),
# engine/ (the fault runner, journal, guardian, status, doctor), faults/ (one
# module per family), observe/ (kernel events), orchestrator/ (tug run).
USER_DIRS := user $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.c user/*/*.h))))
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUT)/user/main.o,$(USER_OBJS))
# What only tug-full carries; main.c and the registry are built a second
# time for tug, without those commands (-DTUG_NODE).
FULL_ONLY := $(wildcard user/orchestrator/*.c) user/faults/pg.c user/core/conninfo.c user/core/digest.c
NODE_TWICE := user/main.c user/engine/registry.c
NODE_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(filter-out $(FULL_ONLY) $(NODE_TWICE),$(USER_SRCS))) \
	     $(patsubst user/%.c,$(OUT)/node/%.o,$(NODE_TWICE))
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(OUT)/tests/%,$(BPFT_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(OUT)/tests/%,$(TOOL_SRCS))

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
# The BPF objects and skeletons are kept; an object the build lost is remade.
.SECONDARY: $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS)) $(SKELS)
.PHONY: all clean check check-vm unit-tests bench demo demo-repeat install deb deps torture

all: $(OUT)/tug $(OUT)/tug-full $(UNIT_BINS) $(BPFT_BINS) $(TOOL_BINS)

# vmlinux.h from the running kernel's BTF, else the committed fallback copy.
$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ]; then \
		$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@; \
	else cp vmlinux/vmlinux.h $@; fi

# The BPF side's header dependencies from clang too (-MMD -MP, named for
# the object, not for the temporary file bpftool links it from).
$(OUT)/%.bpf.o: bpf/%.bpf.c $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -MF $@.d -MT $@ -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Header dependencies from the compiler (-MMD -MP); the skeletons are
# generated, so every object waits for them on a clean build.
$(OUT)/user/%.o: user/%.c $(SKELS) | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(OUT)/node/%.o: user/%.c $(SKELS) | $(OUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -DTUG_NODE -MMD -MP -c $< -o $@

-include $(USER_OBJS:.o=.d) $(patsubst user/%.c,$(OUT)/node/%.d,$(NODE_TWICE)) \
	 $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o.d,$(BPF_SRCS))

# Rewritten only when the release or the commit changes, so a new commit
# rebuilds main.o alone.
$(OUT)/version.h: FORCE | $(OUT)
	$(Q)printf '#define TUG_VERSION "%s"\n#define TUG_COMMIT "%s"\n' '$(VERSION)' '$(COMMIT)' >$@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(OUT)/user/main.o $(OUT)/node/main.o: $(OUT)/version.h
FORCE:

# A change of LINK (or of what it links) relinks the node controller.
$(OUT)/node-link: FORCE | $(OUT)
	$(Q)echo '$(LINK) $(NODE_LDLIBS)' >$@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(OUT)/tug: $(NODE_OBJS) $(OUT)/node-link
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(NODE_OBJS) $(NODE_LDLIBS) -o $@

$(OUT)/tug-full: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/%: tests/unit/%.c tests/harness.h $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/tests/%: tests/bpf/%.c tests/harness.h tests/bpf_pkt.h $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/tests/%: tests/tools/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUT):
	$(Q)mkdir -p $(OUT)/user $(OUT)/tests

# Like demo: what the tests need is installed first (install-deps says what
# it installs), then the build looks up the compilers and libraries.
check:
	$(Q)scripts/install-deps
	$(Q)$(MAKE) --no-print-directory all deb
	$(Q)$(SAN_ENV) TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) TUG_SAN=$(SAN) tests/run $(if $(EXCEPT),--except=$(EXCEPT)) $(T)

# Debian's own kernels (6.1, 6.12) with systemd, in QEMU guests built from
# Debian's archive and cached in /var/cache/tug/vm; tug is built for each
# release in its image's root, so this needs no host build.
VM_RELEASES ?= bookworm trixie
VM_TESTS ?=
check-vm:
	$(Q)TUG_VM_TESTS="$(VM_TESTS)" scripts/vm check $(VM_RELEASES)

unit-tests: all
	$(Q)TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) tests/run --unit

torture: all
	$(Q)$(SAN_ENV) TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) TUG_SAN=$(SAN) tests/torture.sh

bench: all
	$(Q)TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) scripts/bench

# Dependencies first, in their own step: on a fresh machine the compilers
# and libraries the build looks up do not exist until install-deps ran.
demo:
	$(Q)scripts/install-deps
	$(Q)$(MAKE) --no-print-directory all deb
	$(Q)TUG=$(CURDIR)/$(OUT)/tug scripts/demo

# The demo N times in a row, one table of verdicts and times (docs/DEMO.md).
demo-repeat:
	$(Q)scripts/install-deps
	$(Q)$(MAKE) --no-print-directory all deb
	$(Q)TUG=$(CURDIR)/$(OUT)/tug N=$(or $(N),10) DEMO_REPEAT_DOC=$(DEMO_REPEAT_DOC) scripts/demo-repeat

deps:
	$(Q)scripts/install-deps

# The one list of installed files (make deb packages what this installs).
# tug-recover.service runs 'tug recover' at boot; on a live systemd host
# (no DESTDIR) it is enabled too.
install: $(OUT)/tug $(OUT)/tug-full
	install -D -m 0755 $(OUT)/tug $(DESTDIR)$(PREFIX)/sbin/tug
	install -D -m 0755 $(OUT)/tug-full $(DESTDIR)$(PREFIX)/sbin/tug-full
	install -D -m 0755 scripts/lab $(DESTDIR)$(PREFIX)/share/tug/lab
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/tug/lab.d scripts/lab.d/runit.sh scripts/lab.d/systemd.sh scripts/lab.d/gateway.py scripts/lab.d/blackbox.yml
	install -D -m 0755 -t $(DESTDIR)$(PREFIX)/share/tug/lab.d scripts/lab.d/batch-job scripts/lab.d/worker.py scripts/lab.d/vllm-standin.py
	install -D -m 0644 scripts/lib/debroot.sh $(DESTDIR)$(PREFIX)/share/tug/lib/debroot.sh
	install -D -m 0644 README.md $(DESTDIR)$(DOC_DIR)/README.md
	install -D -m 0644 scripts/deb/copyright $(DESTDIR)$(DOC_DIR)/copyright
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	sed -e 's|@SBINDIR@|$(PREFIX)/sbin|' -e 's|@DOCDIR@|$(DOC_DIR)|' scripts/systemd/tug-recover.service \
		> $(DESTDIR)$(SYSTEMD_UNIT_DIR)/tug-recover.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/tug-recover.service
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl daemon-reload && systemctl enable tug-recover.service; fi

# A Debian package of the normal build, for installing tug on a fleet
# (apt-get install ./build/tug_*.deb pulls the dependencies). Installed with
# Debian's paths into a staging tree; scripts/deb/build computes Depends and
# writes the package.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB_MAINTAINER ?= tug developers <tug@localhost>
DEB_STAGE := $(OUT)/deb
deb: $(OUT)/tug $(OUT)/tug-full
	$(call msg,DEB,$(OUT)/tug_$(VERSION)_$(DEB_ARCH).deb)
	$(Q)rm -rf $(DEB_STAGE)
	$(Q)$(MAKE) --no-print-directory $(if $(Q),-s) install DESTDIR=$(CURDIR)/$(DEB_STAGE)/debian/tug \
		PREFIX=/usr SYSTEMD_UNIT_DIR=/lib/systemd/system
	$(Q)DEB_VERSION='$(VERSION)' DEB_COMMIT='$(COMMIT)' DEB_MAINTAINER='$(DEB_MAINTAINER)' CC='$(CC)' \
		DEB_STATIC_LIBS='$(if $(filter static,$(LINK)),$(filter -l%,$(NODE_STATIC)) $(ELF_STATIC))' \
		scripts/deb/build $(DEB_STAGE) $(OUT)/tug_$(VERSION)_$(DEB_ARCH).deb

clean:
	rm -rf build build-san build-tsan
