# SPDX-License-Identifier: GPL-2.0
#
# Makefile - build axvcpu and run its tests.
#
#   make [modules]	build axvcpu.ko against KDIR (default: the running
#			kernel's headers); ARCH and CROSS_COMPILE as kbuild
#   make clean		remove what the targets below built
#   make check		what CI runs: deps, lint, then every CHECK_TARGETS;
#			the last line is "N passed, N failed, N skipped"
#   make check-x86-svm	the selftests in a QEMU guest with AMD SVM
#   make check-x86-vmx	the selftests in a Bochs guest with Intel VMX
#   make check-arm64	the selftests in QEMU arm64 guests at EL2 (VHE),
#			and KVM's ABI tests against KVM arm64
#   make check-debug	the same on a debug kernel built from linux-source
#			(KASAN, lockdep, kmemleak, UBSAN, ...; cached)
#   make check-qemu-arm64	Debian's arm64 QEMU boots Linux
#			on axvcpu and on KVM arm64, in QEMU arm64 guests
#   make fuzz		the long fuzzer run: over a million ioctl calls on
#			x86 (debug kernel) and on arm64; about 80 minutes
#   make lint		checkpatch, W=1 builds (6.1 and 6.12), sparse, and
#			htmldocs
#   make htmldocs	Documentation/ rendered to HTML by Sphinx, into
#			HTMLDOCS_OUT (default build/htmldocs); any warning
#			is an error
#   make run		run axvm's sample guests on axvcpu: natively if this
#			machine can load the module, else in the emulators
#			(see scripts/run.sh; AXVCPU_SHELL=1: and a shell)
#   make bench		what an exit, a wake-up, a vCPU, a VM and guest memory
#			cost on axvcpu beside KVM (AMD SVM), under QEMU with
#			-icount shift=0,sleep=off (guest time counts
#			instructions: the same figures on every run); one
#			table, build/bench-x86-svm.csv and a gnuplot chart
#			build/bench-x86-svm.png (Documentation/performance.rst)
#   make bench-x86-vmx	the same on Intel VMX, under Bochs with its clock
#			driven by the instruction count (1 ns = 1 instruction)
#   make bench-arm64	the same on arm64, beside KVM arm64
#   make bench-all	the three, one after the other
#   make deps		install the Debian packages all this needs (root)
#   make dkms-install	(root) the sources to /usr/src/axvcpu-<version>,
#			the udev rule, the modprobe options file, the uapi
#			header and the group axvcpu, then DKMS builds and
#			installs the module (KREL=: for that kernel)
#   make dkms-remove	(root) all of that again
#   make deb		the axvcpu-dkms Debian package (dpkg-buildpackage),
#			into build/deb
#   make check-dkms	the package built and checked, its module built by
#			DKMS for the test kernel, loaded in the SVM guest for
#			the quick tests
#
# The module's objects are listed in Kbuild.  The test targets build their
# own copies of the module against the kernel they boot, in build/; the
# kernel and the kselftest harness are fetched into ~/.cache/axvcpu.  See
# scripts/ for the environment variables they take.
#
# On a machine with VMX or SVM the suite also runs natively:
#   make && sudo insmod axvcpu.ko && make -C selftests/axvcpu run_tests

KDIR ?= /lib/modules/$(shell uname -r)/build

# Each backend adds its target here (check-x86-vmx, check-arm64, ...).
CHECK_TARGETS ?= check-x86-svm check-x86-vmx check-arm64 check-qemu-arm64 \
		 check-debug check-dkms
export CHECK_TARGETS

KBUILD_ARGS := -C $(KDIR) M=$(CURDIR)
KBUILD_ARGS += $(if $(ARCH),ARCH=$(ARCH)) \
	       $(if $(CROSS_COMPILE),CROSS_COMPILE=$(CROSS_COMPILE))

all: modules

modules:
	$(MAKE) $(KBUILD_ARGS) modules

# Without headers for KDIR, kbuild cannot clean: remove its outputs by name.
clean:
ifneq ($(wildcard $(KDIR)/Makefile),)
	$(MAKE) $(KBUILD_ARGS) clean
else
	find . -path ./build -prune -o -path ./.git -prune -o \
		\( -name '*.o' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '*.a' \) \
		-type f -print | xargs rm -f
	rm -f modules.order Module.symvers
endif
	[ ! -f selftests/axvcpu/Makefile ] || $(MAKE) -C selftests/axvcpu clean
	$(MAKE) -C tools clean
	rm -rf build

check:
	@scripts/check.sh

check-x86-svm:
	@scripts/check-x86-svm.sh

check-x86-vmx:
	@scripts/check-x86-vmx.sh

check-arm64:
	@scripts/check-arm64.sh

check-debug:
	@scripts/check-debug.sh

check-qemu-vmx:
	@scripts/check-qemu-vmx.sh

check-qemu-arm64:
	@scripts/check-qemu-arm64.sh

lint:
	@scripts/lint.sh

fuzz:
	@scripts/fuzz.sh

run:
	@scripts/run.sh

bench:
	@scripts/bench-x86-svm.sh

bench-x86-vmx:
	@scripts/bench-x86-vmx.sh

bench-arm64:
	@scripts/bench-arm64.sh

# One at a time: each boots an emulator that wants a CPU of its own.
bench-all:
	@scripts/bench-x86-svm.sh
	@scripts/bench-x86-vmx.sh
	@scripts/bench-arm64.sh

deps:
	@scripts/deps.sh

dkms-install:
	@scripts/dkms.sh install $(KREL)

dkms-remove:
	@scripts/dkms.sh remove

deb:
	@scripts/dkms.sh deb

check-dkms:
	@scripts/dkms.sh check

HTMLDOCS_OUT ?= $(or $(AXVCPU_BUILD),$(CURDIR)/build)/htmldocs

htmldocs:
	sphinx-build -W --keep-going -q -b html \
		-d $(HTMLDOCS_OUT)/.doctrees Documentation $(HTMLDOCS_OUT)
	@echo "htmldocs: $(HTMLDOCS_OUT)/index.html"

.PHONY: all modules clean check check-x86-svm check-x86-vmx check-arm64 \
	check-qemu-vmx check-qemu-arm64 \
	check-debug fuzz lint run bench bench-x86-vmx bench-arm64 bench-all deps \
	htmldocs dkms-install dkms-remove deb check-dkms
