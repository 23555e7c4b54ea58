#!/usr/bin/env bash
# The contract of scripts/kvm-vm, checked in its VM (--vm, whether or not /dev/kvm works here):
# exit status, stdout and stderr apart, the same working directory and files, writes visible on
# the host, the environment, /dev/kvm inside, and hostile commands: a timeout, a command that
# crashes the VM's kernel. After each, no QEMU of ours may be left running.
# Usage: tests/kvm-vm.sh (from the tree; `make test-kvm-vm`).
set -u
cd "$(dirname "$0")/.."
vm=$(pwd)/scripts/kvm-vm
tmp=$(mktemp -d /tmp/kvm-vm-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

check() { # NAME CONDITION-STATUS
	if [ "$2" = 0 ]; then
		echo "ok   $1"
		pass=$((pass + 1))
	else
		echo "FAIL $1"
		fail=$((fail + 1))
	fi
}

no_qemu_left() {
	! pgrep -f "qemu-system-x86_64.*kvm-vm" >/dev/null && ! pgrep -f "virtiofsd.*kvm-vm" >/dev/null
}

# Fetch and build what the VM needs first (its messages are not the command's).
"$vm" --vm -q -- true || { echo "FAIL the VM does not run at all"; exit 1; }

# Status, the two streams, the working directory, a file written inside, the environment.
out=$(cd "$tmp" && PW_TEST_EXPORTED=yes "$vm" --vm -q -- env PW_TEST_ARG=1 sh -c \
	'echo "out $PWD $PW_TEST_EXPORTED $PW_TEST_ARG"; echo err >&2; echo written >inside.txt;
	 test -c /dev/kvm && exit 7' 2>"$tmp/err")
st=$?
check "exit status passes through (7, got $st)" "$([ "$st" = 7 ]; echo $?)"
check "stdout: '$out'" "$([ "$out" = "out $tmp yes 1" ]; echo $?)"
check "stderr apart: '$(cat "$tmp/err")'" "$([ "$(cat "$tmp/err")" = err ]; echo $?)"
check "a file written in the VM is on the host" "$(grep -qx written "$tmp/inside.txt"; echo $?)"

# A log file the caller shares with the command keeps both writers' output, in order.
{
	echo before
	"$vm" --vm -q -- echo inside
	echo after
} >"$tmp/log" 2>&1
check "a shared log file stays whole" "$(printf 'before\ninside\nafter\n' | cmp -s - "$tmp/log"; echo $?)"

# Variables as VAR=value words before the command.
out=$("$vm" --vm -q -- PW_TEST_WORD=two sh -c 'echo $PW_TEST_WORD' 2>/dev/null)
check "VAR=value before CMD: '$out'" "$([ "$out" = two ]; echo $?)"

# A timeout stops the command and the VM.
start=$(date +%s)
"$vm" --vm -q --timeout 20 sleep 1000 2>"$tmp/err"
st=$?
took=$(($(date +%s) - start))
check "timeout: status 124 (got $st) within 60 s (took $took)" "$([ "$st" = 124 ] && [ "$took" -lt 60 ]; echo $?)"
check "timeout: says so ($(head -n 1 "$tmp/err"))" "$(grep -q 'timed out after 20s' "$tmp/err"; echo $?)"
check "timeout: no QEMU left" "$(no_qemu_left; echo $?)"

# A command that crashes the VM's kernel.
"$vm" --vm -q -- sh -c 'echo c >/proc/sysrq-trigger; sleep 5' 2>"$tmp/err"
st=$?
check "kernel crash: status 125 (got $st)" "$([ "$st" = 125 ]; echo $?)"
check "kernel crash: a clear error ($(head -n 1 "$tmp/err"))" "$(grep -q 'the VM stopped before CMD finished' "$tmp/err"; echo $?)"
check "kernel crash: no QEMU left" "$(no_qemu_left; echo $?)"

# Usage errors.
"$vm" --timeout x true 2>/dev/null
check "bad --timeout: status 2" "$([ $? = 2 ]; echo $?)"

echo "kvm-vm: $pass passed, $fail failed"
[ "$fail" = 0 ]
