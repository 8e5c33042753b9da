# SPDX-License-Identifier: GPL-2.0
#
# Static selftest binaries for the test guest (called by build-selftests.sh).
#
#   make -f selftests.mk SRC=<kernel source> HDR=<installed uapi headers>
#                        OUT=<output dir> PROJ=<project root>
#
# KSFT_MM lists the kernel's own tools/testing/selftests/mm programs to
# build: adding one is a one-word change here (plus LDLIBS_<name> when it
# needs a library, and a line in selftests/tests.list to run it).
# Every selftests/*.c of the project becomes a binary of the same name, and
# so does every tools/bench/*.c (the benchmark, which also includes the
# kernel's mm/gup_test.h and lib/test_hmm_uapi.h from SRC).

KSFT_MM := hmm-tests gup_test cow gup_longterm migration ksm_functional_tests

CC ?= gcc
MM := $(SRC)/tools/testing/selftests/mm
PROJ_TESTS := $(patsubst $(PROJ)/selftests/%.c,%,$(wildcard $(PROJ)/selftests/*.c))
PROJ_BENCH := $(patsubst $(PROJ)/tools/bench/%.c,%,$(wildcard $(PROJ)/tools/bench/*.c))

# As the kernel's mm/Makefile builds them, but static and against the uapi
# headers installed from the test kernel's build tree.
# ksft-tcg.h scales the harness's per-test alarm() for TCG (see there).
BASE_CFLAGS := -O2 -g -Wall -U_FORTIFY_SOURCE -static -pthread \
	-include $(dir $(lastword $(MAKEFILE_LIST)))ksft-tcg.h \
	-isystem $(HDR)/include -isystem $(SRC)/tools/include/uapi
# gup_longterm creates __FILE__"_tmpfile_XXXXXX": strip the host path of the
# source, so that the file is made in the guest's working directory.
MM_CFLAGS := $(BASE_CFLAGS) -I $(SRC) -I $(OUT)/config -fmacro-prefix-map=$(MM)/=
MM_LDLIBS := -lrt -lpthread -lm
LDLIBS_migration := -lnuma
# The userptr matrix maps hugetlbfs through libhugetlbfs and moves pages
# between NUMA nodes (move_pages, mbind).  libhugetlbfs finds its mounts in
# a constructor of init.o, which exports nothing: a static link drops it
# (and every hugetlbfs_*() call then fails) unless the whole archive is in.
LDLIBS_sgpu_matrix := -Wl,--whole-archive -lhugetlbfs -Wl,--no-whole-archive \
	-lnuma

# tools/testing/selftests/mm/check_config.sh probes liburing and records it
# as LOCAL_CONFIG_HAVE_LIBURING in local_config.h (cow, gup_longterm).  The
# test kernel has no CONFIG_IO_URING, so the io_uring variants could only
# fail: record "not found" on purpose.
#
# Older hmm-tests.c used libhugetlbfs (#include <hugetlbfs.h>, guarded by
# LOCAL_CONFIG_HAVE_LIBHUGETLBFS); 6.12's uses MAP_HUGETLB directly.  Link
# libhugetlbfs statically only if this source still asks for it.
ifneq ($(shell grep -l 'hugetlbfs\.h' $(MM)/hmm-tests.c 2>/dev/null),)
CFLAGS_hmm-tests := -DLOCAL_CONFIG_HAVE_LIBHUGETLBFS
LDLIBS_hmm-tests := -lhugetlbfs
endif

PROJ_CFLAGS := $(BASE_CFLAGS) -I $(SRC)/tools/testing/selftests \
	-I $(PROJ)/include/uapi -I $(PROJ)/selftests

BINS := $(addprefix $(OUT)/,$(KSFT_MM) $(PROJ_TESTS) $(PROJ_BENCH))

.PHONY: all list
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

all: $(BINS)

list:
	@echo $(KSFT_MM) $(PROJ_TESTS) $(PROJ_BENCH)

$(OUT)/config/local_config.h:
	@mkdir -p $(dir $@)
	@echo '// liburing: off on purpose, the test kernel has no CONFIG_IO_URING' > $@

# HDR/.stamp changes whenever the headers are re-installed (kernel source
# or build tree changed); the mm tests' own headers are listed explicitly.
MM_DEPS := $(MM)/vm_util.c $(MM)/thp_settings.c $(wildcard $(MM)/*.h) \
	$(SRC)/tools/testing/selftests/kselftest.h \
	$(SRC)/tools/testing/selftests/kselftest_harness.h \
	$(OUT)/config/local_config.h $(HDR)/.stamp \
	$(dir $(lastword $(MAKEFILE_LIST)))ksft-tcg.h

$(addprefix $(OUT)/,$(KSFT_MM)): $(OUT)/%: $(MM)/%.c $(MM_DEPS)
	@echo "  CC      $(notdir $@)"
	@$(CC) $(MM_CFLAGS) $(CFLAGS_$*) $(MM)/$*.c $(MM)/vm_util.c $(MM)/thp_settings.c \
		$(MM_LDLIBS) $(LDLIBS_$*) -o $@

$(addprefix $(OUT)/,$(PROJ_TESTS)): $(OUT)/%: $(PROJ)/selftests/%.c $(HDR)/.stamp
	@echo "  CC      $(notdir $@)"
	@$(CC) $(PROJ_CFLAGS) -MMD -MP -MF $@.d $< $(LDLIBS_$*) -lrt -lpthread -lm -o $@

# Every program is rebuilt when the TCG timeout scaling changes.
$(addprefix $(OUT)/,$(PROJ_TESTS) $(PROJ_BENCH)): $(dir $(lastword $(MAKEFILE_LIST)))ksft-tcg.h

-include $(wildcard $(OUT)/*.d)

$(addprefix $(OUT)/,$(PROJ_BENCH)): $(OUT)/%: $(PROJ)/tools/bench/%.c $(HDR)/.stamp
	@echo "  CC      $(notdir $@)"
	@$(CC) $(PROJ_CFLAGS) -I $(SRC) -MMD -MP -MF $@.d $< -lrt -lpthread -lm -o $@
