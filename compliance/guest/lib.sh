# shellcheck shell=bash
# Guest-side helpers, sourced by compliance/guest/<suite>.sh inside the VM.
# The host writes $RESULTS/env.sh with the paths used here:
#   KVER KMODS TRIXIE DAEDALUS_ROOT DAEDALUS_KO DAEMON STRESS SETFMT_SO JOB_TIMEOUT_MS
# and the knobs (GST_PARTS GST_DECODE SHEETS_MAX SPEED; see compliance/run).
# Every test outcome is one line "PASS: name" or "FAIL: name (why)", printed
# and appended to $RESULTS/results.txt; the host counts those.

set -u
RESULTS=${RESULTS:?}
# shellcheck source=/dev/null
. "$RESULTS/env.sh"
SPEED=${SPEED:-measure}
: >"$RESULTS/results.txt"
: >"$RESULTS/streams.tsv"
rm -f "$RESULTS/complete"
# The host treats a run without this marker as one that died (guest panic,
# VM killed): whatever PASS lines it left do not count as a finished suite.
trap 'echo "$?" >"$RESULTS/complete"' EXIT

# LAST_RESULT / LAST_DETAIL: the last outcome, for record.
pass() {
	LAST_RESULT=PASS LAST_DETAIL=$1
	echo "PASS: $1" | tee -a "$RESULTS/results.txt"
}
fail() {
	LAST_RESULT=FAIL LAST_DETAIL="$1${2:+ ($2)}"
	echo "FAIL: $1${2:+ ($2)}" | tee -a "$RESULTS/results.txt"
}

# ctx_id_cursor: where the module's context ids resume (debugfs); empty
# without debugfs.
ctx_id_cursor() {
	local id
	read -r id 2>/dev/null </sys/kernel/debug/daedalus/next_ctx_id && echo "$id"
}

# The per-stream records of compliance/run matrix ($RESULTS/streams.tsv, one
# line per client decode of a stream; the daemon's findings of the module
# contexts [CTX0, CTX1) are that decode's):
#   client codec stream variant result secs ctx0 ctx1 out_md5 ref_md5 file bits detail
# record_begin before the client runs; record CLIENT CODEC STREAM VARIANT SECS
# OUT_MD5 REF_MD5 FILE [BITS] after its pass or fail (result and detail: the
# last pass/fail).
# (Builtins only: a fork costs tens of ms in this TCG guest, and there are
# hundreds of records.)
record_begin() {
	REC_CTX0=-
	read -r REC_CTX0 2>/dev/null </sys/kernel/debug/daedalus/next_ctx_id
}
record() {
	local ctx1=- detail=${LAST_DETAIL:-}
	read -r ctx1 2>/dev/null </sys/kernel/debug/daedalus/next_ctx_id
	detail=${detail//$'\t'/ }
	detail=${detail//$'\n'/ }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:--}" \
		"${LAST_RESULT:-FAIL}" "${5:--}" "${REC_CTX0:--}" "$ctx1" "${6:--}" \
		"${7:--}" "${8:--}" "${9:-8}" "${detail:0:300}" >>"$RESULTS/streams.tsv"
}
info() { echo "  .. $*"; }
# check NAME CMD...: one test, PASS iff CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# Lines that must never show up in the kernel log during a suite.
# (The kernel command line is logged too and mentions hung_task, and the
# debug kernel announces "RCU lockdep checking is enabled": skip both.)
DMESG_BAD='BUG:|WARNING:|Oops|general protection|lockdep|possible recursive locking|circular locking|KASAN|UBSAN|blocked for more than|Call Trace:|kernel BUG|refcount_t:|list_add corruption|list_del corruption'

dmesg_mark() { echo "daedalus-compliance: $1" >/dev/kmsg; }

# The objects of a kmemleak report on stdin, one per line (" | " between
# its lines), less the two leaks of 6.12's own probe error paths that the
# probe fail-nth scenario provokes and no driver can avoid:
#  - __video_register_device(): a failed device_register() is not followed
#    by put_device() (v4l2-dev.c:1057-1062), so the kobject's name leaks;
#  - v4l2_m2m_register_media_controller(): its error labels free the sink
#    entity's name where the proc entity's is due (v4l2-mem2mem.c:1182-1187).
kmemleak_objects() {
	awk '/^unreferenced object/ { if (o != "") print o; o = "" } { o = o " | " $0 }
		END { if (o != "") print o }' |
		grep -Ev 'dev_set_name\+[^|]*\| *__video_register_device\+|\| *v4l2_m2m_register_entity\+[^|]*\| *v4l2_m2m_register_media_controller\+'
}

# kmemleak_check NAME: on a kernel with kmemleak (the debug kernel), scans
# twice and fails when an unreferenced object was allocated by the media
# stack or the module (objects of the boot itself are listed, not failed).
kmemleak_check() {
	local name=${1:-kmemleak: no leak} f=/sys/kernel/debug/kmemleak ours
	[ -w "$f" ] || return 0
	echo scan >"$f"
	sleep 5
	echo scan >"$f"
	cat "$f" >"$RESULTS/kmemleak.txt"
	info "kmemleak: $(grep -c '^unreferenced object' "$RESULTS/kmemleak.txt") unreferenced objects in all"
	ours=$(kmemleak_objects <"$RESULTS/kmemleak.txt" | grep -E 'daedalus|v4l2|vb2_|videobuf|media_|dma_buf')
	if [ -n "$ours" ]; then
		fail "$name" "$(echo "$ours" | head -1 | cut -c1-300)"
	else
		pass "$name"
	fi
}

# In the fail-nth scenarios (marked "... fails in turn"), the kernel's own
# report of each failed allocation (warn_alloc: "vmalloc error:" or "page
# allocation failure:", a stack up to "</TASK>") is what was asked for;
# anything else logged there still counts.
drop_injected_alloc_reports() {
	awk '/daedalus-compliance: begin/ { inj = /fails in turn/ }
		inj && /(vmalloc error|page allocation failure):/ { skip = 1 }
		!skip { print }
		skip && /<\/TASK>/ { skip = 0 }'
}

# check_dmesg NAME: fails when the kernel logged a bad line since boot.
check_dmesg() {
	local name=${1:-dmesg clean} bad
	kmemleak_check "kmemleak: nothing of the media stack or the module leaked"
	dmesg >"$RESULTS/dmesg.txt" 2>&1
	bad=$(grep -Ev '[Cc]ommand line:|RCU lockdep checking is enabled' "$RESULTS/dmesg.txt" |
		drop_injected_alloc_reports | grep -E "$DMESG_BAD" | head -5)
	if [ -n "$bad" ]; then
		fail "$name" "$(echo "$bad" | head -1 | cut -c1-150)"
		echo "$bad" | sed 's/^/    /'
	else
		pass "$name"
	fi
	# Any taint of the kind a KASAN report or a BUG makes turns lockdep off
	# for good: a clean log with lockdep off proves nothing about locking.
	if [ -r /proc/lockdep_stats ]; then
		check "lockdep stayed on through the suite" \
			grep -Eq '^ *debug_locks: *1$' /proc/lockdep_stats
	fi
}

load_base_modules() {
	modprobe -a videodev videobuf2-vmalloc videobuf2-v4l2 videobuf2-memops mc || return 1
	insmod "$KMODS/v4l2-mem2mem/v4l2-mem2mem.ko" || return 1
}

# Prints the /dev/videoN whose V4L2 name (sysfs) matches the pattern ERE.
video_node_named() {
	local d
	for d in /sys/class/video4linux/video*; do
		[ -e "$d/name" ] || continue
		if grep -Eq "$1" "$d/name"; then
			echo "/dev/$(basename "$d")"
			return 0
		fi
	done
	return 1
}

# Prints the /dev/mediaN that the video node $1 belongs to.
media_node_of() {
	local v m
	v=$(basename "$1")
	for m in /sys/class/video4linux/"$v"/device/media*; do
		[ -e "$m" ] && {
			echo "/dev/$(basename "$m")"
			return 0
		}
	done
	# Fallback: the media device whose driver matches.
	for m in /sys/bus/media/devices/media*; do
		[ -e "$m/device" ] || continue
		if [ "$(readlink -f "$m/device")" = "$(readlink -f "/sys/class/video4linux/$v/device")" ]; then
			echo "/dev/$(basename "$m")"
			return 0
		fi
	done
	return 1
}

# Loads vivid as a DMABUF exporter with a 1080p YUYV capture format and sets
# VIVID to its video node.
setup_vivid() {
	modprobe vivid n_devs=1 node_types=0x1 || return 1
	udevadm settle 2>/dev/null || sleep 1
	VIVID=$(video_node_named '^vivid') || return 1
	in_chroot v4l2-ctl -d "$VIVID" --set-fmt-video=width=1920,height=1080,pixelformat=YUYV ||
		return 1
	info "vivid exporter: $VIVID ($(in_chroot v4l2-ctl -d "$VIVID" --get-fmt-video |
		grep -E 'Width/Height|Size Image' | tr -s ' \n' ' '))"
}

# cache_client_root: virtme mounts the cache, which holds the client root,
# over 9p without a page cache, so every process started in the chroot reads
# its libraries from the host again (measured in this TCG guest: `ffmpeg
# -version` 13-16 s on each run, `gst-inspect-1.0 --version` 6.5 s). The cache
# is read-only to the guest and the host leaves it alone while a VM runs, so
# the mount is made again with virtme's options plus ro,cache=loose (the same
# commands: 4.3 s and 1.1 s from their second run). When that cannot be done
# (a busy mount), or the new mount fails and the old one has to come back, it
# says so and the run goes on uncached.
cache_client_root() {
	local src dir fstype opts
	read -r src dir fstype opts < <(findmnt -n -o SOURCE,TARGET,FSTYPE,OPTIONS -T "$TRIXIE")
	[ "$fstype" = 9p ] || return 0
	case ,$opts, in *,cache=*) return 0 ;; esac
	if ! umount "$dir" 2>/dev/null; then
		info "client root: $dir stays uncached (busy)"
		return 0
	fi
	mount -t 9p -o "$opts,ro,cache=loose" "$src" "$dir" && return 0
	info "client root: the cache=loose mount of $dir failed; mounting it as before"
	mount -t 9p -o "$opts" "$src" "$dir"
}

# Mounts what the trixie client root needs. The root itself is read-only
# (the host cache over 9p): /tmp is a tmpfs, /results the results dir.
setup_chroot() {
	local r=$TRIXIE
	cache_client_root || return
	mount --bind /dev "$r/dev" &&
		mount --bind /proc "$r/proc" &&
		mount --bind /sys "$r/sys" &&
		mount -t tmpfs tmpfs "$r/tmp" &&
		mount --bind "$RESULTS" "$r/results" &&
		mount --bind "$DAEDALUS_ROOT" "$r/work"
}

in_chroot() {
	chroot "$TRIXIE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
		GST_REGISTRY=/results/gst-registry.bin "$@"
}

# run_compliance NAME MIN_TESTS TIMEOUT_S ARGS...: runs v4l2-compliance in
# the client root; PASS iff it finished in time with 0 failed, 0 warnings and
# at least MIN_TESTS tests. COMPLIANCE_ENV (array of VAR=value) is added to
# its environment. When it sets DAEDALUS_SETFMT_FOURCC (setfmt-preload.so),
# the shim must have set that format and never been refused.
COMPLIANCE_ENV=()
run_compliance() {
	local name=$1 min=$2 tmo=$3 log rc total ok failed warn line t0 dt
	shift 3
	log="$RESULTS/$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log"
	info "v4l2-compliance $*"
	t0=$(date +%s)
	timeout -k 5 "$tmo" chroot "$TRIXIE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/tmp "${COMPLIANCE_ENV[@]}" v4l2-compliance "$@" >"$log" 2>&1
	rc=$?
	dt=$(($(date +%s) - t0))
	grep -E '^(Total|Grand Total) for' "$log" | sed 's/^/    /'
	grep -E '^\s*(fail|warn):' "$log" | head -20 | sed 's/^/    /'
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$name" "timed out after ${tmo}s"
		tail -5 "$log" | sed 's/^/    /'
		return 1
	fi
	if printf '%s\n' "${COMPLIANCE_ENV[@]}" | grep -q '^DAEDALUS_SETFMT_FOURCC='; then
		if grep -q '^setfmt: REFUSED' "$log" || ! grep -q '^setfmt: OUTPUT' "$log"; then
			fail "$name" "$(grep -m1 '^setfmt: REFUSED' "$log" || echo 'setfmt shim never set the format')"
			return 1
		fi
		info "setfmt shim set the OUTPUT format on $(grep -c '^setfmt: OUTPUT' "$log") opens"
	fi
	line=$(grep -E '^Grand Total for' "$log" | tail -1)
	[ -n "$line" ] || line=$(grep -E '^Total for' "$log" | tail -1)
	if [ -z "$line" ]; then
		fail "$name" "no totals line (exit $rc)"
		tail -5 "$log" | sed 's/^/    /'
		return 1
	fi
	# "... : 68, Succeeded: 68, Failed: 0, Warnings: 0"
	total=$(echo "$line" | sed -E 's/.*: ([0-9]+), Succeeded: ([0-9]+), Failed: ([0-9]+), Warnings: ([0-9]+).*/\1/')
	ok=$(echo "$line" | sed -E 's/.*: ([0-9]+), Succeeded: ([0-9]+), Failed: ([0-9]+), Warnings: ([0-9]+).*/\2/')
	failed=$(echo "$line" | sed -E 's/.*: ([0-9]+), Succeeded: ([0-9]+), Failed: ([0-9]+), Warnings: ([0-9]+).*/\3/')
	warn=$(echo "$line" | sed -E 's/.*: ([0-9]+), Succeeded: ([0-9]+), Failed: ([0-9]+), Warnings: ([0-9]+).*/\4/')
	if [ "$failed" = 0 ] && [ "$warn" = 0 ] && [ "$total" -ge "$min" ]; then
		pass "$name: $ok/$total, $warn warnings, ${dt}s"
	else
		fail "$name" "$ok/$total succeeded, $failed failed, $warn warnings (pass needs 0 failed, 0 warnings, >= $min tests)"
		return 1
	fi
}

DAEMON_PID=
# start_daemon [SERVE_ARGS...]: starts `daedalusd serve SERVE_ARGS` and waits
# until it holds /dev/daedalus.
start_daemon() {
	[ -x "$DAEMON" ] || {
		info "no daemon binary at $DAEMON"
		return 1
	}
	# The daemon plays the hardware: clients wait on it with deadlines
	# (GStreamer: 1 s per request), so it runs ahead of them for the CPU: a
	# nice level here (the guest has no systemd), CPUWeight= in
	# daemon/systemd/daedalusd.service.
	# DAEMON_PREFIX: a command that execs the daemon (setpriv: another user).
	# shellcheck disable=SC2086 # the prefix is a word list
	RUST_LOG=${RUST_LOG:-info} nice -n -10 ${DAEMON_PREFIX:-} "$DAEMON" serve "$@" >>"$RESULTS/daemon.log" 2>&1 &
	DAEMON_PID=$!
	# Attached when it holds /dev/daedalus open.
	for _ in $(seq 1 50); do
		if find "/proc/$DAEMON_PID/fd" -lname '*/dev/daedalus*' 2>/dev/null | grep -q .; then
			info "daemon $DAEMON_PID attached"
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.2
	done
	info "daemon did not attach; last log lines:"
	tail -5 "$RESULTS/daemon.log" | sed 's/^/    /'
	return 1
}

# stop_daemon: SIGTERM, then waits up to 10 s. Fails if it had died already
# or does not stop.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		info "daemon $DAEMON_PID had exited"
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
		return 1
	fi
	kill -TERM "$DAEMON_PID"
	for _ in $(seq 1 50); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		info "daemon ignored SIGTERM for 10 s; killing"
		kill -KILL "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
		return 1
	fi
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	return 0
}

load_daedalus() {
	insmod "$DAEDALUS_KO" job_timeout_ms="$JOB_TIMEOUT_MS" || return 1
	udevadm settle 2>/dev/null || sleep 1
	DAEDALUS_VIDEO=$(video_node_named 'daedalus') || {
		info "no video node named daedalus:"
		grep -H . /sys/class/video4linux/*/name | sed 's/^/    /'
		return 1
	}
	DAEDALUS_MEDIA=$(media_node_of "$DAEDALUS_VIDEO") || return 1
	[ -c /dev/daedalus ] || {
		info "no /dev/daedalus"
		return 1
	}
	info "daedalus: $DAEDALUS_VIDEO $DAEDALUS_MEDIA /dev/daedalus"
}
