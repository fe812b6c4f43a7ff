#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kvm-selftests.sh - KVM's own selftests, built from Debian's linux-source.
#
# Usage: kvm-selftests.sh build ARCH STAGE
#        kvm-selftests.sh table LABEL LOG...
#
# build: tools/testing/selftests/kvm of linux-source-6.1, static, for ARCH
# (x86_64, or arm64 cross-built with aarch64-linux-gnu-), staged in
# STAGE/ for the guest's initramfs (scripts/mkinitramfs.sh --dir puts it
# at /tests/kvm-selftests):
#
#   STAGE/<test>	each program of the Makefile's TEST_GEN_PROGS, by its
#			path in the tree (x86_64/cpuid_test, demand_paging_test)
#   STAGE/list		their names, one a line, in the Makefile's order
#   STAGE/expected	the tests expected to pass on axvcpu, from
#			selftests/kvm-expected/<uname -m>.txt, comments removed
#
# The build is kept in $AX_CACHE/kvm-selftests/<package version>-<key>,
# the key a hash of this script (the shims below are part of it): the
# part of the source tree it needs is unpacked from the tarball
# (/usr/src/linux-source-6.1.tar.xz), the uapi headers are made with
# "make ARCH=... headers" into a directory of their own (O=), and the
# tests are built against them with USERLDFLAGS=-static and stripped.
# About a minute per architecture the first time, nothing after.  Prints
# STAGE on stdout.
#
# The 6.1 stable tree carries backports that do not build as shipped; one
# forced include (EXTRA_CFLAGS) mends them:
#   - the uapi <asm/kvm.h> uses __DECLARE_FLEX_ARRAY, which the tools'
#     <linux/types.h> does not bring: the uapi <linux/stddef.h> first;
#   - dirty_log_test uses TEST_ASSERT_EQ (upstream 6.5's test_util.h);
#   - aarch64/vgic_init uses FIELD_PREP, and tools/include has no
#     <linux/bitfield.h>.
# and one patch (mend_library) mends a race of the library itself.
#
# table: the results of the KVM selftests in the guests' serial LOGs (the
# frames kvm-selftests:kvm and kvm-selftests:axvcpu of
# scripts/guest-init.sh), per hypervisor side by side, under LABEL.

set -eu -o pipefail
. "$(dirname "$0")/lib.sh"

KST_DIR=tools/testing/selftests/kvm

# unpack_source DIR: the parts of linux-source-6.1 that "make headers" and
# the selftests need, once per package version.
unpack_source()
{
	local dir=$1 tarball=/usr/src/linux-source-6.1.tar.xz tmp m members=

	[ -f "$dir/.done" ] && return 0
	[ -f "$tarball" ] || die "no $tarball: run scripts/deps.sh"
	msg "unpacking the kernel's tools and uapi from $tarball"
	tmp=$dir.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for m in Makefile Kbuild Kconfig scripts include usr tools \
			arch/x86 arch/arm64; do
		members="$members linux-source-6.1/$m"
	done
	# shellcheck disable=SC2086 # one member a word
	tar -xJf "$tarball" -C "$tmp" --strip-components=1 $members &&
		mend_library "$tmp" || { rm -rf "$tmp"; return 1; }
	touch "$tmp/.done"
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

# mend_library DIR: the library's guest memory regions (rb-trees and a
# hash) are changed by the main thread with no lock while vCPU threads look
# guest addresses up in them (get_ucall() walks the guest's page tables):
# memslot_modification_stress_test adds and deletes a slot in a loop, and a
# lookup that meets an rb-tree rotation misses slot 0 ("No vm physical
# memory at 0x180000", exit 254).  The faster a hypervisor's exits, the
# more lookups meet a change: 2 runs in 6 on axvcpu under the SVM machine.
# A mutex around the walks and the changes.
mend_library()
{
	patch -s -p1 -d "$1" <<'EOF'
--- a/tools/testing/selftests/kvm/lib/kvm_util.c
+++ b/tools/testing/selftests/kvm/lib/kvm_util.c
@@ -11,12 +11,20 @@
 #include "processor.h"
 
 #include <assert.h>
+#include <pthread.h>
 #include <sys/mman.h>
 #include <sys/types.h>
 #include <sys/stat.h>
 #include <unistd.h>
 #include <linux/kernel.h>
 
+/*
+ * The regions' trees and hash change in the main thread while vCPU threads
+ * look guest addresses up (get_ucall() in memslot_modification_stress_test):
+ * unlocked, a lookup during an rb-tree rotation can miss a region.
+ */
+static pthread_mutex_t regions_lock = PTHREAD_MUTEX_INITIALIZER;
+
 #define KVM_UTIL_MIN_PFN	2
 
 static int vcpu_mmap_sz(void);
@@ -465,24 +473,30 @@
 static struct userspace_mem_region *
 userspace_mem_region_find(struct kvm_vm *vm, uint64_t start, uint64_t end)
 {
+	struct userspace_mem_region *found = NULL;
 	struct rb_node *node;
 
+	/* A vCPU thread's lookup while another thread adds or deletes slots. */
+	pthread_mutex_lock(&regions_lock);
 	for (node = vm->regions.gpa_tree.rb_node; node; ) {
 		struct userspace_mem_region *region =
 			container_of(node, struct userspace_mem_region, gpa_node);
 		uint64_t existing_start = region->region.guest_phys_addr;
 		uint64_t existing_end = region->region.guest_phys_addr
 			+ region->region.memory_size - 1;
-		if (start <= existing_end && end >= existing_start)
-			return region;
+		if (start <= existing_end && end >= existing_start) {
+			found = region;
+			break;
+		}
 
 		if (start < existing_start)
 			node = node->rb_left;
 		else
 			node = node->rb_right;
 	}
+	pthread_mutex_unlock(&regions_lock);
 
-	return NULL;
+	return found;
 }
 
 /*
@@ -575,9 +589,11 @@
 	int ret;
 
 	if (unlink) {
+		pthread_mutex_lock(&regions_lock);
 		rb_erase(&region->gpa_node, &vm->regions.gpa_tree);
 		rb_erase(&region->hva_node, &vm->regions.hva_tree);
 		hash_del(&region->slot_node);
+		pthread_mutex_unlock(&regions_lock);
 	}
 
 	region->region.memory_size = 0;
@@ -940,9 +956,11 @@
 		guest_paddr, (uint64_t) region->region.memory_size);
 
 	/* Add to quick lookup data structures */
+	pthread_mutex_lock(&regions_lock);
 	vm_userspace_mem_region_gpa_insert(&vm->regions.gpa_tree, region);
 	vm_userspace_mem_region_hva_insert(&vm->regions.hva_tree, region);
 	hash_add(vm->regions.slot_hash, &region->slot_node, slot);
+	pthread_mutex_unlock(&regions_lock);
 
 	/* If shared memory, create an alias. */
 	if (region->fd >= 0) {
EOF
}

# shim DIR: the forced include DIR/shim.h and the header DIR/linux/bitfield.h
# that mend the backports (see above).
shim()
{
	mkdir -p "$1/linux"
	cat >"$1/shim.h" <<'EOF'
/* Forced include: what the 6.1 stable backports of the KVM selftests lack. */
#include <linux/stddef.h>	/* the uapi one: __DECLARE_FLEX_ARRAY */
#ifndef TEST_ASSERT_EQ
#define TEST_ASSERT_EQ(a, b)						\
do {									\
	typeof(a) __a = (a);						\
	typeof(b) __b = (b);						\
	test_assert(__a == __b, #a " == " #b, __FILE__, __LINE__,	\
		    "%#lx != %#lx (%s != %s)",				\
		    (unsigned long)(__a), (unsigned long)(__b), #a, #b);	\
} while (0)
#endif
EOF
	cat >"$1/linux/bitfield.h" <<'EOF'
/* The two macros of the kernel's <linux/bitfield.h> vgic_init uses. */
#ifndef _AX_BITFIELD_H
#define _AX_BITFIELD_H
#define FIELD_PREP(_mask, _val)						\
	(((__u64)(_val) << __builtin_ctzll(_mask)) & (_mask))
#define FIELD_GET(_mask, _reg)						\
	(((__u64)(_reg) & (_mask)) >> __builtin_ctzll(_mask))
#endif
EOF
}

# build_arch SRC OUT ARCH: headers, then the tests, into OUT.
build_arch()
{
	local src=$1 out=$2 arch=$3 karch cross='' tmp progs probe p start

	case $arch in
	x86_64)	karch=x86 ;;
	arm64)	karch=arm64; cross=aarch64-linux-gnu- ;;
	*)	die "no KVM selftests for $arch" ;;
	esac
	[ -f "$out/.done" ] && return 0

	start=$(now)
	tmp=$out.tmp.$$
	rm -rf "$tmp"
	mkdir -p "$tmp/hdr" "$tmp/obj" "$tmp/bin"
	shim "$tmp/shim"
	msg "building KVM's selftests for $arch (log: $out.log)"
	{
		make -C "$src" O="$tmp/hdr" ARCH="$karch" headers &&
		make -C "$src/$KST_DIR" -j"$(nproc)" ARCH="$karch" \
			${cross:+CROSS_COMPILE=$cross} OUTPUT="$tmp/obj" \
			KHDR_INCLUDES="-isystem $tmp/hdr/usr/include" \
			LINUX_HDR_PATH="$tmp/hdr/usr/include/" \
			USERLDFLAGS=-static \
			EXTRA_CFLAGS="-include $tmp/shim/shim.h -I$tmp/shim"
	} >"$out.log" 2>&1 || {
		grep -E 'error|Error' "$out.log" | tail -n 20 >&2
		rm -rf "$tmp"
		msg "KVM selftests build for $arch failed (log: $out.log)"
		return 1
	}

	probe=$tmp/probe.mk
	# shellcheck disable=SC2016 # $(TEST_GEN_PROGS) is for make
	printf 'ax-print-progs:\n\t@echo $(TEST_GEN_PROGS)\n' >"$probe"
	progs=$(make -s --no-print-directory -C "$src/$KST_DIR" -f Makefile \
		-f "$probe" ARCH="$karch" OUTPUT="$tmp/obj" ax-print-progs)
	for p in $progs; do
		p=${p#"$tmp/obj/"}
		[ -x "$tmp/obj/$p" ] || die "KVM selftest $p was not built"
		mkdir -p "$tmp/bin/$(dirname "$p")"
		"${cross}strip" -o "$tmp/bin/$p" "$tmp/obj/$p"
		echo "$p" >>"$tmp/bin/list"
	done
	rm -rf "$tmp/obj" "$tmp/hdr" "$tmp/shim"
	touch "$tmp/.done"
	rm -rf "$out"
	mv "$tmp" "$out"
	msg "built $(wc -l <"$out/bin/list") KVM selftests for $arch" \
		"($(elapsed "$start") s)"
}

# build ARCH STAGE
build()
{
	local arch=$1 stage=$2 ver key base gnu_arch
	local script="$AX_SCRIPTS/kvm-selftests.sh"

	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
		die "linux-source-6.1 is not installed: run scripts/deps.sh"
	# The key: what makes the build (not the table below).
	key=$(sed -n '/^unpack_source()/,/^# build ARCH STAGE/p' "$script" |
		sha256sum | cut -c1-12)
	base=$AX_CACHE/kvm-selftests
	mkdir -p "$base"
	# Builds of other versions or keys are stale, and so are the
	# scratch directories of builds that are gone.
	for old in "$base"/*; do
		case ${old##*/} in
		*.tmp.*) kill -0 "${old##*.tmp.}" 2>/dev/null ||
				rm -rf "$old" ;;
		"src-$ver-$key"|"$ver-$key-"*) ;;
		*) rm -rf "$old" ;;
		esac
	done
	unpack_source "$base/src-$ver-$key"
	build_arch "$base/src-$ver-$key" "$base/$ver-$key-$arch" "$arch"

	case $arch in
	x86_64)	gnu_arch=x86_64 ;;
	arm64)	gnu_arch=aarch64 ;;
	esac
	rm -rf "$stage"
	mkdir -p "$stage"
	cp -al "$base/$ver-$key-$arch/bin/." "$stage/" 2>/dev/null ||
		cp -a "$base/$ver-$key-$arch/bin/." "$stage/"
	expected_list "$AX_REPO/selftests/kvm-expected/$gnu_arch.txt" \
		>"$stage/expected"
	echo "$stage"
}

# expected_list FILE: the test names of FILE, without comments or blanks.
expected_list()
{
	[ -f "$1" ] || die "no $1"
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e 's/^[[:space:]]*//' "$1" |
		grep -v '^$' || true
}

# table LABEL LOG...: counts per hypervisor, side by side, and the tests
# that pass on KVM and not (yet) on axvcpu.
table()
{
	local label=$1 out todo

	shift
	out=$(cat "$@" | tr -d '\r' | awk -v label="$label" '
	/^=== BEGIN kvm-selftests:/ {
		dom = $3; sub(/^kvm-selftests:/, "", dom); next
	}
	/^=== END / { dom = ""; next }
	dom == "" { next }
	/^(not )?ok [0-9]+ / {
		name = ($1 == "not") ? $4 : $3
		if ($0 ~ /^ok/ && $0 ~ /# SKIP/) r = "skip"
		else if ($0 ~ /^ok/) r = "pass"
		else if ($0 ~ /# TODO/) r = "fail"
		else r = "FAIL"
		n[dom "," r]++; seen[dom] = 1
		res[dom "," name] = r; names[name] = 1
	}
	END {
		if (!seen["kvm"] && !seen["axvcpu"])
			exit
		printf "%s: KVM selftests %15s %8s\n", label, "axvcpu", "kvm"
		split("pass skip fail FAIL", rs, " ")
		split("passed,skipped,failed,failed (expected)", ds, ",")
		for (i = 1; i <= 4; i++)
			printf "%s:   %-25s %6s %8s\n", label, ds[i],
			       seen["axvcpu"] ? n["axvcpu," rs[i]] + 0 : "-",
			       seen["kvm"] ? n["kvm," rs[i]] + 0 : "-"
		for (t in names)
			if (res["kvm," t] == "pass" &&
			    res["axvcpu," t] != "pass")
				print "TODO " t
	}')
	echo "$out" | grep -v '^TODO ' || true
	todo=$(echo "$out" | sed -n 's/^TODO //p' | sort | tr '\n' ' ')
	[ -z "$todo" ] ||
		echo "$todo" | fold -s -w 64 | sed "s/ *$//" |
			sed "s|^|$label:   pass on KVM only: |;2,\$s|pass on KVM only: |                  |"
}

case ${1:-} in
build)	[ $# -eq 3 ] || die "usage: ${0##*/} build ARCH STAGE"
	build "$2" "$3" ;;
table)	[ $# -ge 3 ] || die "usage: ${0##*/} table LABEL LOG..."
	shift
	table "$@" ;;
*)	die "usage: ${0##*/} build ARCH STAGE | table LABEL LOG..." ;;
esac
