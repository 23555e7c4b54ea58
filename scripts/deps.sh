#!/bin/sh
# Install the Debian packages pagewarden needs, if any are missing.
# Usage: scripts/deps.sh build|test|clang|fuzz. Without root, prints the apt-get line and fails.
set -eu
need="gcc make binutils libc6-dev pkg-config"
case "${1:-build}" in
build) ;;
test) need="$need libcriterion-dev" ;;
clang) need="$need libcriterion-dev clang" ;;
fuzz) need="$need libcriterion-dev clang libclang-rt-14-dev" ;;
*) echo "deps.sh: unknown set '$1' (build, test, clang, fuzz)" >&2; exit 2 ;;
esac
need="$need libseccomp-dev"
missing=""
for p in $need; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
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
apt-get install -y -q $missing >/dev/null 2>&1 || {
	apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $missing >/dev/null
}
