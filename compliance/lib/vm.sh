# shellcheck shell=bash
# Boots the pinned guest kernel under TCG with the host root (read-only over
# 9p) and runs one command in it. Sourced, not executed.

# vm_run RESULTS_DIR TIMEOUT_S CMD: virtme puts tmpfs over /var/cache, so the
# cache is passed explicitly (read-only). RESULTS_DIR is writable in the
# guest. Returns the guest command's status
# (124 when the host-side timeout fired; pipefail carries it through the
# pipe). vng's stdout and stderr go through a pipe: when they are a regular
# file, vng/QEMU reopen it with truncation, which wiped everything logged
# before each VM start (checked: "echo X; vng ... 2>&1" to a file loses X).
# The kernel vng boots: the stock image, or the debug kernel's tree (vng
# finds its bzImage and its modules there). guest_kernel is overridden by
# compliance/run --kernel debug.
guest_kernel() { echo "/boot/vmlinuz-$(guest_kver)"; }
# The guest kernel's extra command line (the debug kernel adds its own).
guest_append() { echo "sysctl.kernel.hung_task_timeout_secs=20"; }

vm_run() {
	local results=$1 tmo=$2 cmd=$3 kimg
	kimg=$(guest_kernel)
	[ -e "$kimg" ] || die "missing guest kernel $kimg"
	# vng wants a terminal-ish stdin; give it /dev/null so it never waits
	# on ours. --kill-after bounds a qemu that ignores SIGTERM.
	timeout --kill-after=20 "$tmo" \
		vng --run "$kimg" --disable-kvm --force-9p --memory 2G --cpus 2 \
		--rodir "$DAEDALUS_CACHE" --rwdir "$results" \
		--cwd "$DAEDALUS_ROOT" \
		--append "$(guest_append)" \
		-- "$cmd" </dev/null 2>&1 | cat
}
