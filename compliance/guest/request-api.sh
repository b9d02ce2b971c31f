#!/bin/bash
# Guest side of `compliance/run request-api`: daedalus-decode (request-api/)
# drives stateless decoders through the media controller and the request API.
#  - on the daedalus module (daemon attached):
#    * every JVT stream (MMAP buffers), MD5 of the cropped I420 output against
#      md5.txt (the published reference);
#    * a few JVT streams with DMABUF buffers (dma-bufs from the system DMA
#      heap, and once from VIDIOC_EXPBUF of a second context), same MD5s;
#    * slice-based decoding (--decode-mode slice: one request per slice,
#      HOLD_CAPTURE_BUF on all but a picture's last) of the 4-slice x264
#      stream and of the JVT streams with several slices per picture, same
#      MD5s;
#    * controls filled as libva-v4l2-request does (--emulate libva): bit-exact
#      in the daemon's default mode with the fields named in its log, failed
#      requests naming them under --strict;
#    * the 300-frame 1080p x264 stream: MD5 against the host FFmpeg's, and
#      the frames/s next to GStreamer's v4l2slh264dec on the same stream
#      (informational);
#    * VP8/VP9/AV1 IVF streams (8- and 10-bit, hidden frames, show_existing_frame)
#      and an MPEG-2 stream (B-frames):
#      MD5 against the host FFmpeg's;
#  - on visl (which only draws a pattern, so no MD5): streams run to the end
#    with no request errors (H.264 with MMAP and DMABUF, VP9 and AV1 8-bit,
#    every frame FFmpeg outputs displayed): proof that the client follows the
#    API rather than our device's quirks.
# $DECODE is the daedalus-decode binary, $VECTORS_DIR the JVT folder,
# $IVF_DIR the VP8/VP9/AV1/MPEG-2 streams (list.txt: FILE CODEC BITS FRAMES MD5),
# $STREAMS_DIR/$LONG_STREAM the 1080p stream (streams.env).
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=compliance/guest/decode-lib.sh
. "$(dirname "$0")/decode-lib.sh"
# shellcheck source=compliance/guest/sheets.sh
. "$(dirname "$0")/sheets.sh"
# shellcheck source=/dev/null
. "$RESULTS/request-api.env"
# shellcheck source=/dev/null
. "$RESULTS/streams.env"

setup_chroot || { fail "setup: chroot mounts"; exit 1; }
load_base_modules || { fail "setup: load mem2mem"; exit 1; }
load_daedalus || { fail "setup: load daedalus"; exit 1; }
start_daemon || { fail "setup: daemon"; exit 1; }
info "job_timeout_ms=$JOB_TIMEOUT_MS; DMA heaps: $(ls /dev/dma_heap 2>/dev/null | tr '\n' ' ')"

# md5_test NAME LOGNAME WANT ARGS...: PASS iff exit 0 and the MD5 matches.
md5_test() {
	local name=$1 logname=$2 want=$3
	shift 3
	record_begin
	run_decode "$logname" 300 "$@"
	if [ "$RC" = 0 ] && [ "$GOT" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $RC, md5 ${GOT:-none}, want $want: $LAST"
	fi
	decode_record h264 "$1" "$want" "${@:2}"
}

jvt_md5() { awk -v f="$1" '$2 == f { print $1 }' "$VECTORS_DIR/md5.txt"; }

# 1. Every JVT stream, MMAP buffers.
if [ -f "$VECTORS_DIR/md5.txt" ]; then
	t0=$(date +%s)
	while read -r want file; do
		[ -n "$file" ] || continue
		if [ ! -f "$VECTORS_DIR/$file" ]; then
			fail "daedalus-decode ${file%.*}" "missing file"
			continue
		fi
		md5_test "daedalus-decode ${file%.*}" "${file%.*}" "$want" \
			"$VECTORS_DIR/$file" --device "$DAEDALUS_MEDIA"
	done <"$VECTORS_DIR/md5.txt"
	info "JVT through daedalus-decode: $(($(date +%s) - t0)) s"
else
	fail "jvt streams" "no $VECTORS_DIR/md5.txt (set DAEDALUS_VECTORS): JVT streams NOT tested"
fi

# 2. DMABUF: imported dma-bufs on both queues (and on one queue), MD5 as
#    with MMAP. The system heap exists in this kernel (CONFIG_DMABUF_HEAPS_SYSTEM);
#    the EXPBUF fallback exports MMAP buffers of a second context.
dmabuf_test() {
	local file=$1 mem=$2 from=$3 want
	want=$(jvt_md5 "$file")
	if [ -z "$want" ] || [ ! -f "$VECTORS_DIR/$file" ]; then
		fail "dmabuf ($mem, $from) ${file%.*}" "no $file / MD5 in $VECTORS_DIR"
		return
	fi
	md5_test "dmabuf ($mem, $from) ${file%.*}" "dmabuf-$mem-$from-${file%.*}" "$want" \
		"$VECTORS_DIR/$file" --device "$DAEDALUS_MEDIA" --memory "$mem" --dmabuf-from "$from"
}
dmabuf_test BA_MW_D.264 dmabuf heap
dmabuf_test MR1_BT_A.h264 dmabuf heap
dmabuf_test CVFC1_Sony_C.jsv dmabuf heap
dmabuf_test SVA_BA2_D.264 dmabuf-capture heap
dmabuf_test SVA_Base_B.264 dmabuf-output heap
dmabuf_test BA_MW_D.264 dmabuf expbuf
daemon_alive_or_restart "dmabuf decodes"

# 3. Slice-based decoding: DECODE_MODE = SLICE_BASED, one request per slice
#    with its SLICE_PARAMS, the CAPTURE buffer held until a picture's last
#    slice. Same reference MD5s as frame-based decoding. The JVT streams are those whose
#    pictures have several slices (the host builder counts, per picture, up
#    to: BASQP1_Sony_C 20, BA1_FT_C 12, MR1_BT_A 9, CVFC1_Sony_C 4, SVA_*
#    3), kept to a handful for the TCG time.
slice_test() {
	local dir=$1 file=$2 want
	want=$(awk -v f="$file" '$2 == f { print $1 }' "$dir/md5.txt" 2>/dev/null)
	if [ -z "$want" ] || [ ! -f "$dir/$file" ]; then
		fail "slice-based ${file%.*}" "no $file / MD5 in $dir"
		return
	fi
	md5_test "slice-based ${file%.*}" "slice-${file%.*}" "$want" \
		"$dir/$file" --device "$DAEDALUS_MEDIA" --decode-mode slice
}
t0=$(date +%s)
slice_test "$STREAMS_DIR" x264-slices4-640x360.264
for f in BASQP1_Sony_C.jsv SVA_Base_B.264 SVA_FM1_E.264 SVA_CL1_E.264 CVFC1_Sony_C.jsv \
	MR1_BT_A.h264 BA1_FT_C.264; do
	slice_test "$VECTORS_DIR" "$f"
done
info "slice-based decodes: $(($(date +%s) - t0)) s"
daemon_alive_or_restart "slice-based decodes"

# 3b. Controls as libva-v4l2-request fills them (daedalus-decode --emulate
#     libva: SPS profile_idc = level_idc = 0, every order count + 65536).
#     Hardware decodes that: the daemon's default mode must too, bit-exact,
#     naming the fields in its log; under --strict the same requests fail
#     with the field named in the job's reason.
lenient_test() {
	local file=$1 want lines0
	want=$(jvt_md5 "$file")
	lines0=$(wc -l <"$RESULTS/daemon.log")
	md5_test "libva controls (default mode) ${file%.*}: bit-exact" "libva-${file%.*}" "$want" \
		"$VECTORS_DIR/$file" --device "$DAEDALUS_MEDIA" --emulate libva
	if tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" | grep -q 'H264_SPS.level_idc'; then
		pass "libva controls (default mode) ${file%.*}: the daemon names H264_SPS.level_idc"
	else
		fail "libva controls (default mode) ${file%.*}: the daemon names H264_SPS.level_idc" \
			"no H264_SPS.level_idc in daemon.log"
	fi
}
lenient_test BA_MW_D.264
lenient_test MR1_BT_A.h264
if stop_daemon && start_daemon --strict; then
	lines0=$(wc -l <"$RESULTS/daemon.log")
	run_decode libva-strict 120 "$VECTORS_DIR/BA_MW_D.264" --device "$DAEDALUS_MEDIA" --emulate libva
	if [ "$RC" != 0 ] && tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" |
		grep 'job failed' | grep -q 'level_idc'; then
		pass "libva controls (--strict): requests fail, the reason names level_idc"
		tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" | grep -m1 'job failed' | cut -c1-200 | sed 's/^/    /'
	else
		fail "libva controls (--strict): requests fail, the reason names level_idc" "exit $RC; $LAST"
	fi
	stop_daemon || true
	start_daemon || fail "setup: daemon restart after --strict"
else
	fail "libva controls (--strict)" "could not restart the daemon with --strict"
	start_daemon || true
fi

# 4. The 300-frame 1080p stream: MD5 (pass/fail) and frames/s, next to
#    GStreamer's v4l2slh264dec on the same stream through the same daemon
#    (both informational; whole-process wall times, start-up included).
long_md5=$(awk -v f="$LONG_STREAM" '$2 == f { print $1 }' "$STREAMS_DIR/md5.txt")
run_decode long 900 "$STREAMS_DIR/$LONG_STREAM" --device "$DAEDALUS_MEDIA" --timeout-ms 30000
ra_secs=$SECS
info "daedalus-decode 1080p: $(grep -E '^time: ' "$RESULTS/decode-long.err" | tail -1)"
if [ "$RC" = 0 ] && [ "$GOT" = "$long_md5" ]; then
	pass "daedalus-decode ${LONG_STREAM%.264} ($LONG_FRAMES frames): MD5 = host FFmpeg's (${ra_secs}s)"
else
	fail "daedalus-decode ${LONG_STREAM%.264} ($LONG_FRAMES frames)" "exit $RC, md5 ${GOT:-none}, want $long_md5: $LAST"
fi
gst_line="GStreamer not measured"
if [ "$SPEED" = skip ]; then
	gst_line="GStreamer not measured (DAEDALUS_SPEED=skip)"
elif gst_prepare; then
	gst_decode "$STREAMS_DIR/$LONG_STREAM" "$RESULTS/gst-long.log" 900
	if [ "$GST_RC" = 0 ] && [ "$GST_MD5" = "$long_md5" ]; then
		gst_line=$(awk -v n="$LONG_FRAMES" -v g="$GST_SECS" 'BEGIN { printf "GStreamer v4l2slh264dec %.2f fps (%ss)", n / g, g }')
	else
		why=$(grep -ao -m1 'Request [0-9]* took too long' "$RESULTS/gst-long.log")
		[ -n "$why" ] && why="$why (v4l2slh264dec waits 1 s per request)"
		gst_line="GStreamer not comparable (rc $GST_RC, MD5 ${GST_MD5:-none}, ${GST_SECS}s: ${why:-$(gst_first_error "$RESULTS/gst-long.log")})"
	fi
	rm -f "$TRIXIE/tmp/in.264"
fi
awk -v n="$LONG_FRAMES" -v s="$ra_secs" -v g="$gst_line" 'BEGIN {
	printf "  .. 1080p speed: daedalus-decode %.2f fps (%ss), %s\n", n / s, s, g }' |
	tee "$RESULTS/speed.txt"
daemon_alive_or_restart "1080p"

# 4b. Two 1080p decodes at once: the module has a core per CPU, so both
#     contexts' jobs are with the daemon at the same time, each decoded in its
#     own worker. Pass/fail on the MD5s; the aggregate frames/s against the
#     one decode above is informational.
two_1080p() {
	local t0 p1 p2 r1 r2 secs m1 m2 i
	t0=$(date +%s.%N)
	for i in 1 2; do
		timeout -k 5 900 "$DECODE" --md5 "$STREAMS_DIR/$LONG_STREAM" --device "$DAEDALUS_MEDIA" \
			--timeout-ms 30000 >"/tmp/two-$i.md5" 2>"$RESULTS/decode-two-$i.err" &
		[ "$i" = 1 ] && p1=$! || p2=$!
	done
	wait "$p1"
	r1=$?
	wait "$p2"
	r2=$?
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	m1=$(cat /tmp/two-1.md5)
	m2=$(cat /tmp/two-2.md5)
	rm -f /tmp/two-1.md5 /tmp/two-2.md5
	awk -v n="$LONG_FRAMES" -v s="$secs" -v one="$ra_secs" 'BEGIN {
		printf "  .. two 1080p decodes at once: %ss, %.2f fps in all = %.2fx one alone\n", s, 2 * n / s, 2 * one / s }' |
		tee -a "$RESULTS/speed.txt"
	info "exit $r1 / $r2, MD5 $m1 / $m2 (want $long_md5)"
	[ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$m1" = "$long_md5" ] && [ "$m2" = "$long_md5" ]
}
check "two daedalus-decode of ${LONG_STREAM%.264} at once: both MD5 = host FFmpeg's" two_1080p
daemon_alive_or_restart "two 1080p"

# 5. VP8/VP9/AV1/MPEG-2 through the module, MD5 against the host FFmpeg's.
if [ -f "$IVF_DIR/list.txt" ]; then
	while read -r file codec bits frames want; do
		name=${file%.*}
		record_begin
		run_decode "$name" 120 "$IVF_DIR/$file" --device "$DAEDALUS_MEDIA" --codec "$codec"
		if [ "$RC" = 0 ] && [ "$GOT" = "$want" ]; then
			pass "daedalus-decode $name ($bits-bit, $frames frames): MD5 = host FFmpeg's ($SUMMARY)"
		else
			fail "daedalus-decode $name ($bits-bit)" "exit $RC, md5 ${GOT:-none}, want $want; ${SUMMARY:-no summary}; $LAST"
		fi
		DECODE_BITS=$bits decode_record "$codec" "$IVF_DIR/$file" "$want"
	done <"$IVF_DIR/list.txt"
	daemon_alive_or_restart "VP8/VP9/AV1 decodes"
else
	fail "vp8/vp9/av1 streams" "no $IVF_DIR/list.txt"
fi
# 5b. The daemon's sandbox and crash isolation. The supervisor and every
#     worker run as an unprivileged user with no capabilities under seccomp;
#     a worker killed mid-stream (SIGKILL, SIGSEGV, its memory limit, a
#     forbidden system call) fails only its own context's requests, from the
#     one it held to the next IDR, while another client decoding at the same
#     time stays bit-exact; the crashed stream is bit-exact from that IDR on.
proc_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
sandboxed() {
	local uid cap sec
	uid=$(proc_field "$1" Uid)
	cap=$(proc_field "$1" CapEff)
	sec=$(proc_field "$1" Seccomp)
	info "pid $1 ($2): uid ${uid:-?}, CapEff ${cap:-?}, Seccomp ${sec:-?}"
	[ -n "$uid" ] && [ "$uid" != 0 ] && [ "$cap" = 0000000000000000 ] && [ "$sec" = 2 ]
}
# Workers holding client buffers (the spare maps none).
busy_workers() {
	local w
	for w in $(pgrep -P "$DAEMON_PID"); do
		grep -q dmabuf "/proc/$w/maps" 2>/dev/null && echo "$w"
	done
}
# wait_busy_worker [EXCEPT]: the first busy worker other than EXCEPT, waiting
# up to 10 s for one; prints nothing if none comes.
wait_busy_worker() {
	local w
	for _ in $(seq 1 100); do
		for w in $(busy_workers); do
			[ "$w" != "${1:-}" ] && echo "$w" && return 0
		done
		sleep 0.1
	done
}
sandbox_test() {
	local w=
	sandboxed "$DAEMON_PID" supervisor || return 1
	# The spare worker installs its filter once warmed up.
	for _ in $(seq 1 150); do
		w=$(pgrep -P "$DAEMON_PID" | head -1)
		[ -n "$w" ] && [ "$(proc_field "$w" Seccomp)" = 2 ] && break
		sleep 0.2
	done
	[ -n "$w" ] && sandboxed "$w" "spare worker"
}
check "daemon sandbox: supervisor and worker unprivileged, no capabilities, seccomp" sandbox_test

# The systemd unit's way in: started as its unprivileged user (nobody here:
# the guest has no daedalus user) with an ambient CAP_SYS_ADMIN to attach
# (User=, AmbientCapabilities=), the node owned by that user (the udev
# rule's OWNER=). The daemon drops the capability once attached: the same
# sandbox, and a stream decodes bit-exact.
systemd_way_test() {
	local md5 file rc=0
	read -r md5 file < <(grep ' x264-64x64.264$' "$STREAMS_DIR/md5.txt")
	stop_daemon || return 1
	chown 65534:65534 /dev/daedalus
	DAEMON_PREFIX="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+sys_admin --ambient-caps=+sys_admin" \
		start_daemon || rc=1
	info "started as: $(awk '$1 == "Uid:" { print "uid " $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null)"
	if [ "$rc" = 0 ]; then
		sandbox_test || rc=1
		run_decode systemd-way 120 "$STREAMS_DIR/$file" --device "$DAEDALUS_MEDIA"
		info "x264-64x64: exit $RC, MD5 ${GOT:-none} (want $md5)"
		[ "$RC" = 0 ] && [ "$GOT" = "$md5" ] || rc=1
		stop_daemon || rc=1
	fi
	chown 0:0 /dev/daedalus
	start_daemon || rc=1
	return "$rc"
}
check "daemon started the systemd unit's way (unprivileged user, ambient CAP_SYS_ADMIN): same sandbox, bit-exact" \
	systemd_way_test

# The victim decodes CRASH_COPIES copies of the fault stream; the other
# client twice as many, started first, so that it is still decoding when the
# victim's worker is killed early in the victim's stream.
CRASH_COPIES=16
crash_prepare() {
	: >/tmp/crash-in.264
	: >/tmp/crash-ref.yuv
	for _ in $(seq 1 "$CRASH_COPIES"); do
		cat "$STREAMS_DIR/fault-clean.264" >>/tmp/crash-in.264
		cat "$STREAMS_DIR/fault-clean.yuv" >>/tmp/crash-ref.yuv
	done
	cat /tmp/crash-in.264 /tmp/crash-in.264 >/tmp/crash-other.264
	CRASH_OTHER_MD5=$(cat /tmp/crash-ref.yuv /tmp/crash-ref.yuv | md5sum | cut -d' ' -f1)
}
# worker_crash SIGNAL CAUSE: see 5b.
worker_crash() {
	local sig=$1 cause=$2 vpid opid victim='' other='' rc orc omd5 errs first last count from got want_tail n
	local w_=${FAULT_SIZE%x*} h_=${FAULT_SIZE#*x} fsz frames=$((FAULT_FRAMES * CRASH_COPIES)) lines0
	fsz=$((w_ * h_ * 3 / 2))
	lines0=$(wc -l <"$RESULTS/daemon.log")
	"$DECODE" --md5 /tmp/crash-other.264 --device "$DAEDALUS_MEDIA" --timeout-ms $((JOB_TIMEOUT_MS * 2 + 2000)) \
		>/tmp/crash-other.md5 2>"$RESULTS/crash-$sig-other.err" &
	opid=$!
	other=$(wait_busy_worker)
	"$DECODE" /tmp/crash-in.264 --device "$DAEDALUS_MEDIA" --output /tmp/crash-victim.yuv \
		--timeout-ms $((JOB_TIMEOUT_MS * 2 + 2000)) \
		>/dev/null 2>"$RESULTS/crash-$sig-victim.err" &
	vpid=$!
	# The victim's worker: the busy one that is not the other's.
	victim=$(wait_busy_worker "$other")
	# A few pictures into the victim's stream.
	sleep 0.3
	if [ -z "$other" ] || [ -z "$victim" ] || ! kill -0 "$vpid" "$opid" 2>/dev/null ||
		! sandboxed "$victim" "worker of the victim"; then
		kill "$vpid" "$opid" 2>/dev/null
		wait "$vpid" "$opid"
		info "no sandboxed worker found for the victim while both clients decode (other's: ${other:-none})"
		return 1
	fi
	kill -"$sig" "$victim"
	wait "$vpid"
	rc=$?
	wait "$opid"
	orc=$?
	omd5=$(cat /tmp/crash-other.md5)
	# "... V4L2_BUF_FLAG_ERROR (decode order: [12, 13, ...]) ..."
	errs=$(grep -o 'decode order: \[[0-9, ]*\]' "$RESULTS/crash-$sig-victim.err" | grep -o '[0-9][0-9]*' | tr '\n' ' ')
	count=$(echo "$errs" | wc -w)
	first=$(echo "$errs" | awk '{ print $1 }')
	last=$(echo "$errs" | awk '{ print $NF }')
	from=0
	[ "$count" -gt 0 ] && from=$(((last / FAULT_GOP + 1) * FAULT_GOP))
	got=$(tail -c +$((from * fsz + 1)) /tmp/crash-victim.yuv | md5sum | cut -d' ' -f1)
	want_tail=$(tail -c +$((from * fsz + 1)) /tmp/crash-ref.yuv | md5sum | cut -d' ' -f1)
	n=$(($(stat -c %s /tmp/crash-victim.yuv) / fsz))
	info "victim: exit $rc, $n of $frames frames, errors at [${errs% }], bit-exact from $from: $([ "$got" = "$want_tail" ] && echo yes || echo "no ($got)")"
	info "other client: exit $orc, md5 $omd5 (want $CRASH_OTHER_MD5)"
	info "daemon: $(tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" | grep -m1 -o 'decoder worker [^;]*' | cut -c1-120)"
	rm -f /tmp/crash-victim.yuv /tmp/crash-other.md5
	[ "$orc" = 0 ] && [ "$omd5" = "$CRASH_OTHER_MD5" ] || return 1
	[ "$n" = "$frames" ] && [ "$got" = "$want_tail" ] && [ "$from" -lt "$frames" ] || return 1
	# The errors: one run, inside one GOP (the held job to the next IDR).
	if [ "$count" -gt 0 ]; then
		[ $((last - first + 1)) = "$count" ] && [ "$count" -le "$FAULT_GOP" ] || return 1
	fi
	tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" | grep -q "decoder worker $cause"
}
# Fairness: A's worker spins 4 s on each job from its test hook (SIGTTIN),
# a stand-in for a stream slow to decode; B, 64x64, decodes 1,200 frames
# meanwhile. Its jobs run on another core of the module, in another worker:
# every one DONE and bit-exact, in far less than the 4 s per job a single
# queue behind A would give it.
FAIR_COPIES=60
fairness_test() {
	local apid a='' t0 secs rc got want bframes aerr
	for _ in $(seq 1 "$FAIR_COPIES"); do cat "$STREAMS_DIR/x264-64x64.264"; done >/tmp/fair-b.264
	timeout 120 ffmpeg -nostdin -v error -threads 1 -i "$STREAMS_DIR/x264-64x64.264" \
		-fps_mode passthrough -noautoscale -f rawvideo -pix_fmt yuv420p /tmp/fair-b1.yuv -y
	want=$(for _ in $(seq 1 "$FAIR_COPIES"); do cat /tmp/fair-b1.yuv; done | md5sum | cut -d' ' -f1)
	bframes=$((20 * FAIR_COPIES))
	"$DECODE" --md5 /tmp/crash-other.264 --device "$DAEDALUS_MEDIA" --timeout-ms 30000 \
		>/dev/null 2>"$RESULTS/fair-a.err" &
	apid=$!
	a=$(wait_busy_worker)
	[ -n "$a" ] || {
		kill "$apid"
		wait "$apid"
		info "no worker found for A"
		return 1
	}
	kill -TTIN "$a"
	# A's next job is now being held.
	sleep 1
	t0=$(date +%s.%N)
	timeout -k 5 120 "$DECODE" --md5 /tmp/fair-b.264 --device "$DAEDALUS_MEDIA" --timeout-ms 30000 \
		>/tmp/fair-b.md5 2>"$RESULTS/fair-b.err"
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	got=$(cat /tmp/fair-b.md5)
	kill -0 "$apid" 2>/dev/null
	aerr=$?
	kill "$apid" 2>/dev/null
	wait "$apid"
	rm -f /tmp/fair-b.264 /tmp/fair-b.md5 /tmp/fair-b1.yuv
	info "B: exit $rc, $(grep -E '^frames: ' "$RESULTS/fair-b.err" | tail -1) in ${secs}s, MD5 $got (want $want); A still decoding: $([ "$aerr" = 0 ] && echo yes || echo no)"
	[ "$rc" = 0 ] && [ "$got" = "$want" ] && [ "$aerr" = 0 ] &&
		grep -q "^frames: $bframes displayed, $bframes requests, 0 errors" "$RESULTS/fair-b.err" &&
		awk -v s="$secs" -v n="$bframes" 'BEGIN { exit !(s < n * 4 / 10) }'
}
if [ -f "$STREAMS_DIR/fault-clean.yuv" ]; then
	crash_prepare
	# The hooks (SIGUSR1: exhaust its memory, SIGUSR2: a forbidden call),
	# with a memory limit the 2 GiB guest can reach.
	if stop_daemon && start_daemon --test-hooks --worker-memory-mb 768; then
		check "worker SIGKILLed mid-stream: only its context fails, to the next IDR; the other client bit-exact" \
			worker_crash KILL "killed by SIGKILL"
		check "worker SIGSEGV mid-stream: only its context fails, to the next IDR; the other client bit-exact" \
			worker_crash SEGV "killed by SIGSEGV"
		check "worker over its memory limit: only its context fails, to the next IDR; the other client bit-exact" \
			worker_crash USR1 "killed by SIGABRT"
		check "worker's forbidden system call: seccomp kills only it; the other client bit-exact" \
			worker_crash USR2 "killed by SIGSYS"
		check "fairness: 64x64 context at full pace while another's jobs take 4 s each" fairness_test
		check "daemon still attached after four worker crashes" \
			sh -c "ls -l /proc/$DAEMON_PID/fd 2>/dev/null | grep -q /dev/daedalus"
	else
		fail "worker crash tests" "could not restart the daemon with --test-hooks"
	fi
	stop_daemon || true
	start_daemon || fail "setup: daemon restart after the crash tests"
	rm -f /tmp/crash-in.264 /tmp/crash-other.264 /tmp/crash-ref.yuv
else
	fail "worker crash tests" "no $STREAMS_DIR/fault-clean.yuv"
fi

make_sheets
stop_daemon || fail "daemon stopped cleanly on SIGTERM"

# 6. visl: the same client against another stateless driver.
# visl_test NAME EXPECTED_FRAMES ARGS...: PASS iff exit 0, 0 errors and the
# expected number of frames displayed.
visl_test() {
	local name=$1 frames=$2
	shift 2
	run_decode "visl-$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')" 300 "$@" --device "$VISL_MEDIA"
	if [ "$RC" = 0 ] && echo "$SUMMARY" | grep -q "^frames: $frames displayed, .* 0 errors"; then
		pass "visl: $name to the end, no request errors ($SUMMARY)"
	else
		fail "visl: $name" "exit $RC, want $frames frames and 0 errors: ${SUMMARY:-$LAST}"
	fi
}
if modprobe v4l2-tpg && insmod "$KMODS/visl/visl.ko"; then
	udevadm settle 2>/dev/null || sleep 1
	VISL=$(video_node_named '^visl') && VISL_MEDIA=$(media_node_of "$VISL")
	if [ -n "${VISL_MEDIA:-}" ] && [ -f "$VECTORS_DIR/BA_MW_D.264" ]; then
		visl_test "BA_MW_D" 100 "$VECTORS_DIR/BA_MW_D.264"
		visl_test "BA_MW_D, DMABUF from the system heap" 100 "$VECTORS_DIR/BA_MW_D.264" \
			--memory dmabuf --dmabuf-from heap
		visl_test "BA_MW_D, DMABUF from VIDIOC_EXPBUF" 100 "$VECTORS_DIR/BA_MW_D.264" \
			--memory dmabuf --dmabuf-from expbuf
		# visl offers NV12/YUV420 only (no P010): the 8-bit streams.
		if [ -f "$IVF_DIR/list.txt" ]; then
			while read -r file codec bits frames _; do
				name=${file%.*}
				[ "$bits" = 8 ] || continue
				visl_test "$codec $name ($frames frames)" "$frames" "$IVF_DIR/$file" --codec "$codec"
			done <"$IVF_DIR/list.txt"
		fi
	else
		fail "visl: BA_MW_D" "no visl media node or no BA_MW_D.264"
	fi
else
	fail "setup: load visl"
fi
check_dmesg "request-api: dmesg clean"
