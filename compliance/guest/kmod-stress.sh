#!/bin/bash
# Guest side of `compliance/run kmod-stress`: the daedalus module under
# stress with compliance/tools/stress.c. Each scenario is one PASS/FAIL;
# the kernel log is checked at the end (BUG/WARNING/oops/lockdep/hung task).
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"

# Fails the scenario when a stress run outlives this many seconds.
STRESS_TMO=$((JOB_TIMEOUT_MS / 1000 * 4 + 60))
# The races' iterations: KASAN and lockdep under TCG are ~10x slower.
CLOSE_RACES=2000
ABORT_RACES=500
PREEMPT_CLOSES=500
if [ "${KERNEL:-stock}" = debug ]; then
	STRESS_TMO=$((STRESS_TMO * 5))
	CLOSE_RACES=400
	ABORT_RACES=200
	PREEMPT_CLOSES=100
fi

load_base_modules || { fail "setup: load mem2mem"; exit 1; }
load_daedalus || { fail "setup: load daedalus"; exit 1; }
V=$DAEDALUS_VIDEO
M=$DAEDALUS_MEDIA

# stress_run NAME ARGS...: one scenario, PASS iff stress exits 0 in time.
stress_run() {
	local name=$1 rc
	shift
	dmesg_mark "begin $name"
	timeout -k 5 "$STRESS_TMO" "$STRESS" "$@" -d "$V" -m "$M" 2>&1 | sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	case $rc in
	0) pass "$name" ;;
	124 | 137) fail "$name" "stress hung for ${STRESS_TMO}s" ;;
	*) fail "$name" "stress exit $rc" ;;
	esac
}

# 1. Many opens and closes (no daemon needed).
stress_run "open/close x200 with request alloc" open-close -n 200

# 1b. The sequence control's bit depth picks the CAPTURE formats (P010 for
#     10-bit H.264 / VP9 / AV1), and cannot change under CAPTURE buffers.
stress_run "bit depth selects the CAPTURE formats" bitdepth

# 1b'. Frame sizes: every OUTPUT format lists its sizes in steps of 1
#      (v4l2-ctl, as FFmpeg's v4l2-request checks them), and S_FMT/TRY_FMT
#      keep the test vectors' sizes.
list_framesizes() {
	local fmts f out bad=0
	fmts=$(in_chroot v4l2-ctl -d "$V" --list-formats-out | sed -nE "s/.*\[[0-9]+\]: '([^']+)'.*/\1/p")
	[ -n "$fmts" ] || {
		info "v4l2-ctl --list-formats-out listed nothing"
		return 1
	}
	for f in $fmts; do
		out=$(in_chroot v4l2-ctl -d "$V" --list-framesizes="$f" | grep -E 'Size:' | head -1)
		info "$f: ${out:-no sizes}"
		echo "$out" | grep -Eq 'Size: (Continuous|Stepwise [0-9]+x[0-9]+ - [0-9]+x[0-9]+ with step 1/1)' ||
			bad=1
	done
	[ "$bad" = 0 ]
}
setup_chroot || fail "setup: chroot mounts"
dmesg_mark "begin framesizes"
check "v4l2-ctl --list-framesizes: steps of 1 for every OUTPUT format" list_framesizes
stress_run "S_FMT/TRY_FMT OUTPUT keep the vectors' sizes" framesizes

# 1c. The daemon reads OUTPUT from the start of the plane: a data_offset is
#     refused (DMABUF and MMAP), not silently ignored.
stress_run "OUTPUT data_offset refused with EINVAL" data-offset

# 1d. Sizes a client asks for are bounded: sizeimage 4 GiB is clamped to at
#     most 32 MiB, CREATE_BUFS of 1 GiB is refused on both queues.
stress_run "sizeimage 4 GiB clamped, 1 GiB CREATE_BUFS refused" sizes

# 1e. One client's ioctl stalled in a compound control's copy_from_user
#     (userfaultfd) blocks no other context's open, S_FMT or close.
stress_run "a stalled control copy blocks only its own context" ctrl-stall
stress_run "a stalled control copy stalls no job, answer or other context" ctrl-stall-run

# 1f. Context ids never repeat among open contexts, across the cyclic wrap.
stress_run "context ids distinct across the id wrap" ctx-ids

start_daemon || fail "setup: daemon attach"

# 2. Requests complete (DONE or ERROR: the bitstream is synthetic) with the
#    daemon attached, each within job_timeout_ms + margin.
stress_run "decode 8 requests, daemon attached" decode -n 8 -t $((JOB_TIMEOUT_MS + 3000))

# 3. STREAMOFF while requests are still pending.
stress_run "STREAMOFF with pending requests" decode --streamoff-pending -t $((JOB_TIMEOUT_MS + 3000))

# 4. Several contexts at once.
multi() {
	local i pids=() ok=0
	for i in 1 2 3 4; do
		timeout -k 5 "$STRESS_TMO" "$STRESS" decode -n 6 -t $((JOB_TIMEOUT_MS * 4 + 3000)) \
			-d "$V" -m "$M" >"$RESULTS/multi-$i.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		if wait "${pids[$i]}"; then
			ok=$((ok + 1))
		else
			info "context $((i + 1)) failed:"
			tail -3 "$RESULTS/multi-$((i + 1)).log" | sed 's/^/    /'
		fi
	done
	info "$ok of 4 contexts completed all requests"
	[ "$ok" = 4 ]
}
dmesg_mark "begin multi-context"
check "4 contexts at once, 6 requests each" multi

# 4b. The daemon's mappings of closed contexts are dropped: 50 contexts each
#     decode a request (their workers map their buffers), then close together
#     while the daemon is stopped; once it resumes and reads the CTX_CLOSED
#     messages, the dmabuf mappings of the supervisor and its workers and the
#     kernel's vmalloc use are back to where they were.
daemon_maps() {
	local p c n=0
	for p in "$DAEMON_PID" $(pgrep -P "$DAEMON_PID"); do
		c=$(grep -c dmabuf "/proc/$p/maps" 2>/dev/null)
		n=$((n + ${c:-0}))
	done
	echo "$n"
}
# Lazily freed areas ("unpurged vm_area") are not in use.
vmalloc_kb() { awk '!/unpurged/ { s += $2 } END { print int(s / 1024) }' /proc/vmallocinfo; }
daemon_unmaps_closed() {
	local m0 m1 m2 v0 v2 pid i
	m0=$(daemon_maps)
	v0=$(vmalloc_kb)
	"$STRESS" hold-contexts -n 50 -d "$V" -m "$M" >"$RESULTS/hold-contexts.log" 2>&1 &
	pid=$!
	for i in $(seq 1 300); do
		grep -q 'waiting for SIGUSR1' "$RESULTS/hold-contexts.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	m1=$(daemon_maps)
	kill -STOP "$DAEMON_PID"
	kill -USR1 "$pid"
	wait "$pid"
	i=$?
	sed 's/^/    /' "$RESULTS/hold-contexts.log"
	kill -CONT "$DAEMON_PID"
	# Their workers end once they see the contexts closed.
	for _ in $(seq 1 75); do
		m2=$(daemon_maps)
		[ "$m2" = "$m0" ] && break
		sleep 0.2
	done
	sleep 1
	m2=$(daemon_maps)
	v2=$(vmalloc_kb)
	info "daemon dmabuf mappings: $m0 before, $m1 with 50 contexts, $m2 after they closed; vmalloc $v0 -> $v2 KiB"
	[ "$i" = 0 ] && [ "$m1" -gt "$m0" ] && [ "$m2" = "$m0" ] && [ $((v2 - v0)) -lt 1024 ]
}
dmesg_mark "begin daemon mappings"
check "50 contexts closed while the daemon is stopped: its mappings and vmalloc back to baseline" \
	daemon_unmaps_closed

# 5. The daemon stalls (SIGSTOP) with request 1 pending: the module's job
#    timeout must end it with ERROR (unread: within 2 x job_timeout_ms + margin); then the
#    daemon resumes (its late answer must be ignored) and request 2 completes.
if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
	stress_run "daemon stalled: pending request times out with ERROR, daemon resumes" \
		decode -n 3 -t $((JOB_TIMEOUT_MS * 2 + 2000)) --expect-error-at 1 --hook-at 1 \
		--pre-hook "kill -STOP $DAEMON_PID" --after-hook "kill -CONT $DAEMON_PID; sleep 0.5"
	kill -CONT "$DAEMON_PID" 2>/dev/null
	check "daemon still attached after the stall" \
		sh -c "ls -l /proc/$DAEMON_PID/fd 2>/dev/null | grep -q /dev/daedalus"
else
	fail "daemon stalled: pending request times out with ERROR, daemon resumes" "daemon not running"
fi

# 6. The daemon dies mid-stream: request 1 is queued while the daemon is
#    stopped, then the daemon is killed; requests 1.. must end with ERROR
#    within job_timeout_ms (+ margin), nothing may hang.
if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
	stress_run "daemon killed mid-stream: pending request ends in ERROR" \
		decode -n 3 -t $((JOB_TIMEOUT_MS * 2 + 2000)) --expect-error-from 1 --hook-at 1 \
		--pre-hook "kill -STOP $DAEMON_PID" --post-hook "sleep 0.3; kill -KILL $DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
else
	fail "daemon killed mid-stream: pending request ends in ERROR" "daemon not running"
fi

# 7. With no daemon attached, requests fail cleanly within the timeout.
stress_run "no daemon: requests end in ERROR" decode -n 2 -t $((JOB_TIMEOUT_MS + 2000)) --expect error

# The scenarios below play the daemon themselves (no daedalusd attached).

# 7b. A daemon's failure reason is logged escaped and never read past its
#     64 bytes, NUL or not.
#     The line is dev_err_ratelimited (10 per 5 s): let the window of the
#     failures logged above pass first.
sleep 6
stress_run "job failure reason logged escaped, bounded to 64 bytes" reason

# 7c. A request whose controls fail to apply when it runs ends in ERROR and
#     never reaches the daemon with half-applied controls.
stress_run "request whose controls fail to apply ends in ERROR, no job" ctrl-setup-fail

# 7d. Every closed context is announced, however many wait unread: 2,000
#     opens and closes while the (fake) daemon reads nothing.
stress_run "2000 CTX_CLOSED queued while the daemon does not read" ctx-closed -n 2000

# 7e. The misbehaving daemon: failed held slices, faulting and short reads,
#     wrong ids, EXPBUF out of range or of a closed context, a second and an
#     unprivileged attach.
stress_run "a failed slice's held CAPTURE buffer comes back ERROR" hold-error
stress_run "EMSGSIZE and EFAULT reads lose no job" read-faults
stress_run "misbehaving daemon: wrong ids, bad EXPBUF, bytesused, attach" misbehave

# 7f. Completions racing closes and STREAMOFF (KASAN and lockdep watch on
#     the debug kernel; here: nothing hangs or waits for the timeout).
stress_run "instant answers racing $CLOSE_RACES closes" close-race -n "$CLOSE_RACES"
stress_run "STREAMOFF racing $ABORT_RACES queued jobs, daemon silent" abort-race -n "$ABORT_RACES"
#     The same race made certain: the closer is real-time on the
#     completer's CPU and runs from the wake-up inside JOB_DONE's completion
#     (on the debug kernel's full preemption, before it has returned).
stress_run "$PREEMPT_CLOSES closes run from inside JOB_DONE's completion" \
	preempt-close -n "$PREEMPT_CLOSES"

#     Two windows held open by kdelay (compliance/tools/kdelay, a kprobe
#     that busy-waits at a function's entry): STREAMOFF while the m2m
#     workqueue is inside device_run before its job lock (the abort must
#     fail that job at once), and a job built while CREATE_BUFS has added a
#     CAPTURE buffer it has not allocated yet (the job must not list it).
kdelay_run() {
	local name=$1 sym=$2 cmd=$3
	if ! insmod "$KDELAY_KO" symbol="$sym"; then
		fail "$name" "insmod kdelay symbol=$sym"
		return
	fi
	stress_run "$name" "$cmd"
	rmmod kdelay || fail "$name" "rmmod kdelay"
}
if [ -n "${KDELAY_KO:-}" ]; then
	kdelay_run "STREAMOFF while device_run waits for its lock: no deadline wait" \
		daedalus_device_run abort-window
	kdelay_run "a job built during CREATE_BUFS lists no unfinished buffer" \
		vb2_vmalloc_alloc create-race
else
	fail "kdelay windows" "no kdelay module (KDELAY_KO)"
fi

# 7g. Fairness: A's jobs outlast the deadline, B's are instant; A and B are
#     on two cores of the module, so B's jobs are with the daemon while A's
#     are, and each job's deadline is its own: B is not starved.
stress_run "fairness: B > 90 % DONE over 30 s while A overruns, on two cores" fairness -n 30

# 7h. The fault-injection parameters for client developers.
stress_run "fault injection: fail every Nth, bad timestamp, latency, hang" faults
stress_run "per-context fault knobs: A fails every 2nd job, B untouched; reorder" ctx-faults

# 7h'. Allocation failures (fail-nth + failslab: the debug kernel has them,
#      the stock one has no CONFIG_FAULT_INJECTION): every slab allocation
#      of every step of a decode, then of the probe, fails in turn.
if [ -e /proc/self/fail-nth ]; then
	stress_run "every allocation of a decode's syscalls fails in turn" failnth
	probe_failnth() {
		"$STRESS" probe-failnth -d "$V" -m "$M" 2>&1 | sed 's/^/    /'
		[ "${PIPESTATUS[0]}" = 0 ] || return 1
		udevadm settle 2>/dev/null || sleep 1
		V=$(video_node_named 'daedalus') && M=$(media_node_of "$V")
	}
	dmesg_mark "begin probe: every allocation fails in turn"
	check "every allocation of the probe fails in turn, then it binds" probe_failnth
else
	info "fail-nth: not run on this kernel (no CONFIG_FAULT_INJECTION; run with --kernel debug)"
fi

# 7i. vmalloc and slab back to baseline after 2,000 contexts opened and
#     closed with the daemon stopped (the CTX_CLOSED messages are freed
#     when it detaches).
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
baseline_after_contexts() {
	local v0 s0 v1 s1
	sync
	echo 3 >/proc/sys/vm/drop_caches
	v0=$(vmalloc_kb)
	s0=$(slab_kb)
	"$STRESS" ctx-closed -n 2000 -d "$V" -m "$M" | tail -1 | sed 's/^/    /' || return 1
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	v1=$(vmalloc_kb)
	s1=$(slab_kb)
	info "vmalloc ${v0} -> ${v1} KiB, slab ${s0} -> ${s1} KiB"
	[ $((v1 - v0)) -lt 1024 ] && [ $((s1 - s0)) -lt 4096 ]
}
dmesg_mark "begin baseline"
check "2000 contexts with the daemon stopped: vmalloc and slab back to baseline" baseline_after_contexts

# 7j. A request fd outlives every other file: rmmod is refused while it is
#     held, and succeeds after.
reqfd_rmmod() {
	local pid out rc
	"$STRESS" hold-request -n 5 -d "$V" -m "$M" >"$RESULTS/hold-request.log" 2>&1 &
	pid=$!
	sleep 1.5
	out=$(rmmod daedalus 2>&1)
	rc=$?
	info "rmmod with only a request fd open: exit $rc${out:+: $out}"
	wait "$pid"
	if [ "$rc" = 0 ]; then
		load_daedalus
		return 1
	fi
	out=$(rmmod daedalus 2>&1) || {
		info "rmmod after the request closed: $out"
		return 1
	}
	load_daedalus && V=$DAEDALUS_VIDEO && M=$DAEDALUS_MEDIA
}
dmesg_mark "begin request-fd rmmod"
check "request fd held: rmmod refused, succeeds after close" reqfd_rmmod

# 7k. sysfs unbind with the daemon attached and a context open, then bind.
unbind_bind() {
	"$STRESS" unbind -d "$V" -m "$M" 2>&1 | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" = 0 ] || return 1
	udevadm settle 2>/dev/null || sleep 1
	V=$(video_node_named 'daedalus') && M=$(media_node_of "$V") || return 1
	info "after bind: $V $M"
	"$STRESS" decode -n 2 -t $((JOB_TIMEOUT_MS + 2000)) --expect error -d "$V" -m "$M" >/dev/null
}
dmesg_mark "begin unbind"
check "unbind with the daemon and a context open; bind brings it back" unbind_bind

# 8. rmmod with open handles is refused with EBUSY; after close it succeeds.
rmmod_busy() {
	local out rc
	start_daemon || return 1
	exec 7<>"$V"
	out=$(rmmod daedalus 2>&1)
	rc=$?
	info "rmmod with the video node and /dev/daedalus open: exit $rc: $out"
	if [ "$rc" = 0 ]; then
		exec 7>&-
		return 1
	fi
	echo "$out" | grep -Eqi 'in use|busy' || {
		exec 7>&-
		return 1
	}
	exec 7>&-
	out=$(rmmod daedalus 2>&1)
	rc=$?
	info "rmmod with only the daemon attached: exit $rc: $out"
	[ "$rc" != 0 ] || return 1
	stop_daemon || info "daemon did not stop cleanly on SIGTERM"
	out=$(rmmod daedalus 2>&1)
	rc=$?
	info "rmmod after close: exit $rc${out:+: $out}"
	[ "$rc" = 0 ] && [ ! -e /dev/daedalus ] && [ ! -e "$V" ] || return 1
	# And it comes back.
	load_daedalus
}
dmesg_mark "begin rmmod"
check "rmmod refused (EBUSY) while open, succeeds after close" rmmod_busy

stop_daemon >/dev/null 2>&1
dmesg_mark "end"
# Let a hung task (timeout 20 s in this guest) show up if there is one.
sleep 1
check_dmesg "dmesg clean (no BUG/WARNING/oops/lockdep/hung task)"
