# SPDX-License-Identifier: GPL-2.0
#
# Top-level Makefile of the out-of-tree userptr subsystem.
#
#   make                 build the modules against the debug test kernel
#                        (building that kernel first when needed)
#   make KDIR=<tree>     build the modules against any prepared 6.12 tree
#   make check [T=pat]   quality gates + boot the test kernel + run tests
#                        (FLAVOUR=kcsan: on the KCSAN kernel instead)
#   make soak [DURATION=s] the fuzzer on the debug guest for DURATION
#                        seconds (default 1800) across seeds (tools/soak.sh)
#   make coverage [T=pat]  gcov line/function coverage of mm/ and drm/ over
#                        the manifest (tools/coverage.sh; out/coverage/)
#   make run [ARGS=...]  the main job, the benchmark (tools/run.sh --help;
#                        e.g. ARGS=--full, ARGS="--only register")
#   make kernel          build/update the test kernel (FLAVOUR=debug|release)
#   make nodevpriv       compile-only check with CONFIG_DEVICE_PRIVATE=n
#   make clean

FLAVOUR ?= debug
KERNEL_SH := $(CURDIR)/tools/kernel.sh

ifeq ($(origin KDIR),undefined)
KDIR := $(shell $(KERNEL_SH) $(FLAVOUR) --print-dir)
need_kernel := kernel
endif

.PHONY: all modules kernel check coverage soak run nodevpriv clean

all: modules

kernel:
	$(KERNEL_SH) $(FLAVOUR)

modules: $(need_kernel)
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

check:
	@tools/check.sh --flavour $(FLAVOUR) $(if $(T),--filter '$(T)')

coverage:
	@tools/coverage.sh $(if $(T),--filter '$(T)')

soak:
	@tools/soak.sh $(if $(DURATION),--duration $(DURATION)) $(SOAK_ARGS)

run:
	@tools/run.sh $(ARGS)

nodevpriv:
	$(KERNEL_SH) nodevpriv
	$(MAKE) -C $(shell $(KERNEL_SH) nodevpriv --print-dir) M=$(CURDIR) \
		W=1 KBUILD_MODPOST_WARN=1 modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf out
