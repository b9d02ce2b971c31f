# shellcheck shell=bash
# Boots the pinned guest kernel under TCG with the host root (read-only over
# 9p) and runs one command in it. Sourced, not executed.

# vm_run RESULTS_DIR TIMEOUT_S CMD: virtme puts tmpfs over /var/cache, so the
# cache is passed explicitly (read-only). RESULTS_DIR is writable in the
# guest. Returns the guest command's status (124 when the host-side timeout
# fired, 125 when the guest hung in boot twice). vng's stdout and stderr go
# through a pipe (cat): when they are a regular file, vng/QEMU reopen it with
# truncation, which wiped everything logged before each VM start (checked:
# "echo X; vng ... 2>&1" to a file loses X).
# The kernel vng boots: the stock image, or the debug kernel's tree (vng
# finds its bzImage and its modules there). guest_kernel is overridden by
# compliance/run --kernel debug.
guest_kernel() { echo "/boot/vmlinuz-$(guest_kver)"; }
# The guest kernel's extra command line (the debug kernel adds its own).
guest_append() { echo "sysctl.kernel.hung_task_timeout_secs=20"; }

# A guest that has not started its command this long after the boot began
# is taken to be hung in boot (seen once in ~10 runs under TCG: qemu idle,
# nothing printed); it is killed and booted once more.
vm_boot_timeout=${DAEDALUS_VM_BOOT_TIMEOUT:-300}

vm_run() {
	local results=$1 tmo=$2 cmd=$3 kimg try pid waited rc
	local started="$results/.guest-started"
	kimg=$(guest_kernel)
	[ -e "$kimg" ] || die "missing guest kernel $kimg"
	for try in 1 2; do
		rm -f "$started"
		# vng wants a terminal-ish stdin; give it /dev/null so it never
		# waits on ours. --kill-after bounds a qemu that ignores SIGTERM.
		timeout --kill-after=20 "$tmo" \
			vng --run "$kimg" --disable-kvm --force-9p --memory 2G --cpus 2 \
			--rodir "$DAEDALUS_CACHE" --rwdir "$results" \
			--cwd "$DAEDALUS_ROOT" \
			--append "$(guest_append)" \
			-- ": >'$started'; $cmd" </dev/null > >(cat) 2>&1 &
		pid=$!
		waited=0
		while [ ! -e "$started" ] && kill -0 "$pid" 2>/dev/null &&
			[ "$waited" -lt "$vm_boot_timeout" ]; do
			sleep 2
			waited=$((waited + 2))
		done
		if [ -e "$started" ] || ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			rc=$?
			return "$rc"
		fi
		log "the guest did not start its command within ${vm_boot_timeout}s (hung boot): killing it (try $try of 2)"
		# vng and its qemu both name the results dir on their command line.
		pkill -TERM -f -- "$results" 2>/dev/null
		sleep 5
		pkill -KILL -f -- "$results" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 125
}
