# tug: kernel/eBPF-assisted chaos fault injector.
#
#   make              build build/tug
#   make check        unit, BPF and integration tests (integration needs root)
#   make check SAN=1  the same against an -fsanitize=address,undefined build
#   make bench        benchmarks, tables written to docs/BENCHMARKS.md
#   make demo         the main job (see README.md)
#   make install      honours PREFIX and DESTDIR
#   V=1               show the commands

PREFIX ?= /usr/local
DESTDIR ?=
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
else
OUT := build
SANFLAGS :=
SAN_ENV :=
endif

PKGS := libbpf libnl-3.0 libnl-route-3.0 json-c
PKGS += yaml-0.1 libssh2 libcurl libpq
PKGS += libseccomp libcrypto
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	  -I$(OUT) -Iuser -Ibpf $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lelf -lz -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUT) -Ibpf -Wall \
	      -I/usr/include/$(shell $(CC) -dumpmachine)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUT)/user/%.o,$(USER_SRCS))
LIB_OBJS := $(filter-out $(OUT)/user/main.o,$(USER_OBJS))
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
.SECONDARY:
.PHONY: all clean check unit-tests bench demo install deps

all: $(OUT)/tug $(UNIT_BINS) $(BPFT_BINS) $(TOOL_BINS)

# vmlinux.h from the running kernel's BTF, else the committed fallback copy.
$(OUT)/vmlinux.h: | $(OUT)
	$(call msg,GEN,$@)
	$(Q)if [ -r /sys/kernel/btf/vmlinux ]; then \
		$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@; \
	else cp vmlinux/vmlinux.h $@; fi

$(OUT)/%.bpf.o: bpf/%.bpf.c bpf/%.h bpf/common.h $(OUT)/vmlinux.h | $(OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUT)/user/%.o: user/%.c $(wildcard user/*.h) $(wildcard bpf/*.h) $(SKELS) | $(OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/tug: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUT)/tests/%: tests/unit/%.c tests/harness.h $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/tests/%: tests/bpf/%.c tests/harness.h $(LIB_OBJS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

$(OUT)/tests/%: tests/tools/%.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

$(OUT):
	$(Q)mkdir -p $(OUT)/user $(OUT)/tests

check: all
	$(Q)$(SAN_ENV) TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) TUG_SAN=$(SAN) tests/run

unit-tests: all
	$(Q)TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) tests/run --unit

bench: all
	$(Q)TUG=$(CURDIR)/$(OUT)/tug TUG_BUILD=$(CURDIR)/$(OUT) scripts/bench

# Dependencies first, in their own step: on a fresh machine the compilers
# and libraries the build looks up do not exist until install-deps ran.
demo:
	$(Q)scripts/install-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)TUG=$(CURDIR)/$(OUT)/tug scripts/demo

deps:
	$(Q)scripts/install-deps

install: $(OUT)/tug
	install -D -m 0755 $(OUT)/tug $(DESTDIR)$(PREFIX)/sbin/tug
	install -D -m 0755 scripts/lab $(DESTDIR)$(PREFIX)/share/tug/lab

clean:
	rm -rf build build-san
