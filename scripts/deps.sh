#!/bin/sh
# Install the Debian packages pagewarden needs, if any are missing.
# Usage: scripts/deps.sh build|test|clang|fuzz|vm [DIR]. Without root, prints the apt-get line and
# fails. "vm" is what scripts/kvm-vm needs: QEMU, busybox, and Debian's kernel package unpacked
# (not installed) into DIR, fetched with apt-get download once.
set -eu
need="gcc make binutils libc6-dev pkg-config"
set=${1:-build}
case "$set" in
build) ;;
test) need="$need libcriterion-dev clang gdb qemu-system-x86" ;; # clang: tests/plain/ is built by both compilers
clang) need="$need libcriterion-dev clang gdb qemu-system-x86" ;; # gdb: tests/test_core.c reads cores with it
# qemu-system-x86: tests/test_qemu_diff.c boots every image under QEMU too (scripts/qemu-run)
fuzz) need="$need libcriterion-dev clang libclang-rt-14-dev" ;;
vm) need="$need qemu-system-x86 busybox-static xz-utils zstd" ;;
*) echo "deps.sh: unknown set '$1' (build, test, clang, fuzz, vm)" >&2; exit 2 ;;
esac
# capstone: the crash report's disassembler and the skip model's decoder (dlopen'ed).
need="$need libseccomp-dev libcapstone-dev"
missing=""
for p in $need; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done

# Debian's kernel for scripts/kvm-vm: the version linux-image-amd64 points at, unpacked in DIR.
fetch_kernel() {
	dir=$1
	ls "$dir"/root/boot/vmlinuz-* >/dev/null 2>&1 && return 0
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
		apt-get update -q >/dev/null 2>&1
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1)
	fi
	[ -n "$pkg" ] || { echo "pagewarden: apt knows no linux-image-amd64 (run apt-get update)" >&2; return 1; }
	echo "pagewarden: fetching $pkg for scripts/kvm-vm" >&2
	mkdir -p "$dir/dl"
	(cd "$dir/dl" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		{ echo "pagewarden: apt-get download $pkg failed" >&2; return 1; }
	rm -rf "$dir/root.tmp" "$dir/root"
	dpkg-deb -x "$dir"/dl/"$pkg"_*.deb "$dir/root.tmp" && mv "$dir/root.tmp" "$dir/root" && rm -rf "$dir/dl"
}

if [ -z "$missing" ]; then
	[ "$set" = vm ] && [ -n "${2:-}" ] && { fetch_kernel "$2" || exit 1; }
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "pagewarden: missing packages:$missing (not a Debian system: install them by hand)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "pagewarden: missing packages:$missing; run: sudo apt-get install$missing" >&2
	exit 1
fi
echo "pagewarden: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing >/dev/null
}
[ "$set" = vm ] && [ -n "${2:-}" ] && { fetch_kernel "$2" || exit 1; }
exit 0
