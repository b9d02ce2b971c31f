#!/bin/bash
# Guest side of `compliance/run gstreamer`: GStreamer's v4l2slh264dec decodes
# through the daedalus module and daemon; every stream's I420 MD5 (by
# videocodectestsink) is compared with the published JVT MD5 or the host
# FFmpeg's. One PASS/FAIL per stream, then the 1080p speed next to FFmpeg in
# this VM, then fault cases (corrupted slice, daemon killed mid-stream), dmesg.
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=compliance/guest/decode-lib.sh
. "$(dirname "$0")/decode-lib.sh"
# shellcheck source=compliance/guest/sheets.sh
. "$(dirname "$0")/sheets.sh"
# shellcheck source=/dev/null
. "$RESULTS/streams.env"

decode_setup
info "job_timeout_ms=$JOB_TIMEOUT_MS daemon=$DAEMON"
# One GStreamer client process plays the streams one after another
# (gst-batch.py; the fault cases that need a process of their own use
# gst-launch): a gst-launch start costs ~4.5 s under TCG, more than most
# of these streams take to decode.
GST_BATCH=1

# judge NAME EXPECTED_MD5: PASS/FAIL from the last gst_decode.
judge() {
	local name=$1 want=$2
	if [ "$GST_RC" = 124 ] || [ "$GST_RC" = 137 ]; then
		fail "$name" "GStreamer timed out"
	elif [ "$GST_SAW_DEV" != 1 ]; then
		fail "$name" "GStreamer never had $DAEDALUS_VIDEO open (rc $GST_RC)"
	elif [ -z "$GST_MD5" ]; then
		fail "$name" "no checksum at EOS (rc $GST_RC): $(gst_first_error "$GST_LOG")"
	elif [ "$GST_MD5" = "$want" ]; then
		pass "$name: MD5 $GST_MD5 (${GST_SECS}s)"
	else
		fail "$name" "MD5 $GST_MD5, expected $want (${GST_SECS}s)"
	fi
}

# stream_test NAME FILE EXPECTED_MD5 [TIMEOUT_S]
# v4l2slh264dec waits at most 1 s for a request (hard-coded); under TCG a 1080p
# job on a loaded host can take longer, and GStreamer then gives up ("Request
# N took too long", then "Not enough memory to decode H264 stream"). Such a run
# is repeated once, and said so; the MD5 must still match exactly.
stream_test() {
	local name=$1 f=$2 want=$3 tmo=${4:-150}
	GST_LOG=$RESULTS/gst-$name.log
	record_begin
	gst_decode "$f" "$GST_LOG" "$tmo"
	if [ "$GST_MD5" != "$want" ] && grep -q 'took too long' "$GST_LOG"; then
		info "$name: GStreamer's 1 s request deadline expired ($(grep -m1 -o 'Request [0-9]* took too long' "$GST_LOG")); once more"
		mv "$GST_LOG" "$GST_LOG.first"
		gst_decode "$f" "$GST_LOG" "$tmo"
	fi
	judge "$name" "$want"
	gst_record "$f" "$want"
	daemon_alive_or_restart "$name"
}

# gst_record FILE REF_MD5: the matrix record of the last GStreamer decode
# (REC_VARIANT: what part of the stream, when not all of it).
gst_record() {
	local base=${1##*/}
	record GStreamer "${GST_CODEC:-h264}" "${base%.*}" "${REC_VARIANT:--}" "$GST_SECS" \
		"${GST_MD5:--}" "$2" "$1" "${GST_BITS:-8}"
}

# part NAME: whether DAEDALUS_GST_PARTS (host side; default all) asks for the
# part NAME (x264, long, faults, ivf, jvt, hevc, vp8, mpeg2). A part not run counts nowhere.
part() {
	case " $GST_PARTS " in
	*" $1 "*) return 0 ;;
	esac
	info "part $1 not run (DAEDALUS_GST_PARTS='$GST_PARTS')"
	return 1
}

# 1. libx264 streams made on the host (reference: host FFmpeg).
x264_tests() {
	local md5 file
	while read -r md5 file; do
		[ "$file" = "$LONG_STREAM" ] && continue
		stream_test "x264 ${file%.264}" "$STREAMS_DIR/$file" "$md5"
	done <"$STREAMS_DIR/md5.txt"
}
if part x264; then x264_tests; fi

# 2. The long 1080p stream, and its speed next to trixie's FFmpeg
#    (single-threaded software decode) in this VM.
long_test() {
	local long_md5 gst_secs gst_ok t0 ff_rc ff_secs
	long_md5=$(awk -v f="$LONG_STREAM" '$2 == f { print $1 }' "$STREAMS_DIR/md5.txt")
	stream_test "x264 ${LONG_STREAM%.264} ($LONG_FRAMES frames)" "$STREAMS_DIR/$LONG_STREAM" "$long_md5" 400
	if [ "$SPEED" = skip ]; then
		info "1080p speed next to FFmpeg not measured (DAEDALUS_SPEED=skip)"
		return
	fi
	gst_secs=$GST_SECS
	gst_ok=$([ "$GST_MD5" = "$long_md5" ] && echo 1)
	t0=$(date +%s.%N)
	in_chroot ffmpeg -nostdin -v error -threads 1 -i /tmp/in.264 -f null - >"$RESULTS/ffmpeg-long.log" 2>&1
	ff_rc=$?
	ff_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	# The same pipeline with GStreamer's software decoder (FFmpeg, one thread) in
	# place of v4l2slh264dec: the like-for-like figure (same parsing, conversion
	# and hashing around the decoder).
	GST_PARSE="h264parse ! avdec_h264 max-threads=1" gst_decode "$STREAMS_DIR/$LONG_STREAM" \
		"$RESULTS/gst-long-avdec.log" 400
	if [ "$gst_ok" = 1 ] && [ "$ff_rc" = 0 ]; then
		awk -v n="$LONG_FRAMES" -v g="$gst_secs" -v f="$ff_secs" -v a="$GST_SECS" -v am="$GST_MD5" -v want="$long_md5" 'BEGIN {
			printf "  .. 1080p speed (GStreamer: pipeline wall times in one client process; ffmpeg: whole process):\n"
			printf "     GStreamer + v4l2slh264dec + daedalus   %.2f fps (%ss)\n", n / g, g
			printf "     GStreamer + avdec_h264 max-threads=1  %.2f fps (%ss)%s -> ratio %.2f\n", n / a, a, (am == want ? "" : " (its MD5 differs!)"), (n / g) / (n / a)
			printf "     ffmpeg -threads 1 -f null             %.2f fps (%ss)     -> ratio %.2f\n", n / f, f, (n / g) / (n / f) }' |
			tee "$RESULTS/speed.txt"
	else
		info "1080p speed not measured (ffmpeg rc $ff_rc, gst MD5 ${GST_MD5:-none})"
	fi
}
if part long; then long_test; fi

# 3a. A corrupted slice in a non-IDR picture. The engine fails that request:
#     its CAPTURE buffer comes back with V4L2_BUF_FLAG_ERROR (checked with
#     daedalus-decode, which reports ERROR frames by number and goes on).
#     v4l2slh264dec 1.26 does not look at that flag (gst_v4l2_decoder_dequeue_src
#     only checks the ioctl), so GStreamer shows the frame and carries on to
#     EOS. Both must give bit-exact frames from the next IDR on, and the daemon
#     must log why the job failed.
fault_corrupt() {
	local fsz want got n lines0 pic out rc log=$RESULTS/gst-fault-corrupt.log
	local w=${FAULT_SIZE%x*} h=${FAULT_SIZE#*x} tail_frames=$((FAULT_FRAMES - FAULT_GOP))
	fsz=$((w * h * 3 / 2))
	# frames_and_tail FILE: n = whole I420 frames in FILE, got = MD5 of its
	# last tail_frames frames (those from the next IDR on).
	frames_and_tail() {
		n=$(($(stat -c %s "$1" 2>/dev/null || echo 0) / fsz))
		got=$(tail -c $((tail_frames * fsz)) "$1" 2>/dev/null | md5sum | cut -d' ' -f1)
	}
	want=$(cat "$STREAMS_DIR/fault-tail.md5")
	pic=$(cat "$STREAMS_DIR/fault-corrupt.264.picture")
	lines0=$(wc -l <"$RESULTS/daemon.log")
	info "corruption: $(cat "$STREAMS_DIR/fault.txt")"
	GST_SINK="filesink location=/tmp/out.yuv" gst_decode "$STREAMS_DIR/fault-corrupt.264" "$log" 150
	frames_and_tail "$TRIXIE/tmp/out.yuv"
	rm -f "$TRIXIE/tmp/out.yuv"
	if [ "$GST_RC" = 0 ] && grep -q 'Got EOS' "$log" && [ "$n" = "$FAULT_FRAMES" ] && [ "$got" = "$want" ]; then
		pass "fault: corrupted slice, GStreamer carries on to EOS, the $tail_frames frames from the next IDR on are bit-exact"
	else
		fail "fault: corrupted slice, GStreamer carries on, frames from the next IDR on bit-exact" \
			"rc $GST_RC, $n of $FAULT_FRAMES frames, tail MD5 $got (want $want): $(gst_first_error "$log")"
	fi
	if tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" | grep -q 'job failed'; then
		pass "fault: corrupted slice, the daemon logs why the job failed"
		tail -n +"$((lines0 + 1))" "$RESULTS/daemon.log" | grep -E 'job failed' | head -2 | cut -c1-220 | sed 's/^/    /'
	else
		fail "fault: corrupted slice, the daemon logs why the job failed" "no 'job failed' in daemon.log for that stream"
	fi
	daemon_alive_or_restart "fault corrupt"
	if [ -x "${DECODE:-}" ]; then
		out=$TRIXIE/tmp/fault-out.yuv
		timeout -k 5 150 "$DECODE" "$STREAMS_DIR/fault-corrupt.264" --device "$DAEDALUS_MEDIA" \
			--format i420 --output "$out" >"$RESULTS/decode-fault.log" 2>&1
		rc=$?
		frames_and_tail "$out"
		rm -f "$out"
		if [ "$rc" != 0 ] && grep -q "V4L2_BUF_FLAG_ERROR (decode order: \[$pic\]" "$RESULTS/decode-fault.log" &&
			[ "$n" = "$FAULT_FRAMES" ] && [ "$got" = "$want" ]; then
			pass "fault: corrupted slice, V4L2_BUF_FLAG_ERROR on picture $pic only (daedalus-decode), which goes on; the $tail_frames frames from the next IDR on are bit-exact"
		else
			fail "fault: corrupted slice, V4L2_BUF_FLAG_ERROR on that picture only (daedalus-decode)" \
				"rc $rc, $n of $FAULT_FRAMES frames, tail MD5 $got (want $want): $(grep -m1 -E 'FLAG_ERROR|error' "$RESULTS/decode-fault.log" | cut -c1-160)"
		fi
	else
		fail "fault: corrupted slice, V4L2_BUF_FLAG_ERROR on that picture only (daedalus-decode)" "no daedalus-decode binary"
	fi
}

# 3b. The daemon is killed during playback: the module ends the job in flight
#     and every later one with V4L2_BUF_FLAG_ERROR (kmod-stress checks the
#     flags), so GStreamer must end within the job timeout (+ margin), never
#     hang: v4l2slh264dec ignores the flag and runs to EOS, or errors out.
#     A restarted daemon then serves a new pipeline bit-exactly.
fault_kill() {
	local log=$RESULTS/gst-fault-kill.log pid rc t_kill dt bound=$((JOB_TIMEOUT_MS / 1000 + 20))
	# A stream the VM decodes in well under a second per frame, ten times over
	# (each copy starts with an IDR: ~300 frames, tens of seconds); the kill
	# comes once the pipeline is PLAYING and the daemon has served jobs.
	: >"$TRIXIE/tmp/in.264"
	for _ in $(seq 1 10); do
		cat "$STREAMS_DIR/x264-high-bframes-wp-8x8-cabac-352x288.264" >>"$TRIXIE/tmp/in.264"
	done
	gst_start "$log"
	pid=$GST_PID
	for _ in $(seq 1 600); do
		grep -q 'Setting pipeline to PLAYING' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1
	if ! kill -0 "$pid" 2>/dev/null; then
		fail "fault: daemon killed mid-stream, GStreamer does not hang" "pipeline ended before the kill"
		wait "$pid"
		return
	fi
	dmesg_mark "killing the daemon mid-stream"
	t_kill=$(date +%s)
	kill -KILL "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	while kill -0 "$pid" 2>/dev/null && [ $(($(date +%s) - t_kill)) -le "$bound" ]; do
		sleep 0.5
	done
	dt=$(($(date +%s) - t_kill))
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$(pgrep -P "$pid")" "$pid" 2>/dev/null
		wait "$pid"
		fail "fault: daemon killed mid-stream, GStreamer does not hang" "still running ${dt}s after the kill"
	else
		wait "$pid"
		rc=$?
		pass "fault: daemon killed mid-stream, GStreamer ended ${dt}s after the kill (bound ${bound}s; rc $rc$(grep -q 'Got EOS' "$log" && echo ', EOS'))"
	fi
	start_daemon || { fail "fault: daemon restarted"; return; }
	local f md5
	f=x264-high-bframes-wp-8x8-cabac-352x288.264
	md5=$(awk -v f="$f" '$2 == f { print $1 }' "$STREAMS_DIR/md5.txt")
	stream_test "fault: restarted daemon, new pipeline bit-exact (${f%.264})" "$STREAMS_DIR/$f" "$md5"
}
if part faults; then
	fault_corrupt
	fault_kill
fi

# 4. VP9 and AV1 (IVF): every stream the host tests generate and verify
#    (libdaedalus/tests/vp9.rs and av1.rs, exported by the harness; list.txt:
#    MD5 FILE BITS WxH RESIZE), MD5 of I420 (I420_10LE for 10-bit) against
#    the host FFmpeg's. GStreamer (v4l2slvp9dec / v4l2slav1dec) plays every
#    stream it can; the others go through daedalus-decode (the same module
#    and daemon), each with its reason printed:
#    - larger than 1920x1088: GStreamer waits at most 1 s per request
#      (hard-coded) and in this TCG VM a 3840x2160 frame takes 1-5 s;
#    - a size change on a non-key frame (RESIZE = N:MD5, reference
#      scaling): v4l2slvp9dec tells GstVp9Decoder that V4L2 has no
#      non-keyframe resolution change and the base class drops every frame
#      from there to the next key frame, so GStreamer must show exactly
#      FFmpeg's first N frames (MD5); v4l2slav1dec 1.26 re-negotiates
#      mid-stream instead, which no stateless driver allows (S_FMT is EBUSY
#      while CAPTURE buffers exist), so only daedalus-decode plays it.
GST_MAX_PIXELS=$((1920 * 1088))

# decode_test NAME FILE CODEC WANT [ARGS...]: daedalus-decode through the module.
decode_test() {
	local name=$1 file=$2 codec=$3 want=$4
	shift 4
	record_begin
	run_decode "$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')" 600 "$file" --device "$DAEDALUS_MEDIA" \
		--codec "$codec" --timeout-ms 30000 "$@"
	if [ "$RC" = 0 ] && [ "$GOT" = "$want" ]; then
		pass "$name: MD5 $GOT = host FFmpeg's ($SUMMARY; ${SECS}s)"
	else
		fail "$name" "exit $RC, md5 ${GOT:-none}, want $want: $LAST"
	fi
	decode_record "$codec" "$file" "$want" "$@"
	daemon_alive_or_restart "$name"
}

# fixture_test CODEC MD5 FILE BITS WxH RESIZE: one stream of list.txt.
fixture_test() {
	local codec=$1 md5=$2 file=$3 bits=$4 size=$5 resize=$6 name w h n
	name=${file%.*} w=${size%x*} h=${size#*x}
	DECODE_BITS=$bits
	if [ $((w * h)) -gt "$GST_MAX_PIXELS" ]; then
		info "$name ($size): over GStreamer's 1 s request wait in this TCG VM: daedalus-decode"
		decode_test "$name (daedalus-decode)" "$IVF_STREAMS_DIR/$file" "$codec" "$md5"
		return
	fi
	if [ "$resize" != - ]; then
		n=${resize%%:*}
		decode_test "$name (daedalus-decode, whole stream)" "$IVF_STREAMS_DIR/$file" "$codec" "$md5"
		if [ "$codec" = vp9 ]; then
			info "$name: size change on a non-key frame after $n shown frames; v4l2slvp9dec drops the rest"
			gst_chain "$codec" "$bits"
			REC_VARIANT="first $n frames" stream_test "$name (GStreamer: the first $n frames)" \
				"$IVF_STREAMS_DIR/$file" "${resize#*:}"
		else
			info "$name: size change on a non-key frame after $n shown frames; v4l2slav1dec 1.26 cannot play it (re-negotiates mid-stream), not run through GStreamer"
		fi
		return
	fi
	gst_chain "$codec" "$bits"
	stream_test "$name" "$IVF_STREAMS_DIR/$file" "$md5"
}

# fixture_tests CODEC: every CODEC stream of list.txt.
fixture_tests() {
	local md5 file bits size resize
	while read -r md5 file bits size resize; do
		case $file in "$1"-*) fixture_test "$1" "$md5" "$file" "$bits" "$size" "$resize" ;; esac
	done <"$IVF_STREAMS_DIR/list.txt"
}

ivf_tests() {
	local codec
	for codec in vp9 av1; do
		if ! in_chroot gst-inspect-1.0 "v4l2sl${codec}dec" >/dev/null 2>&1; then
			fail "$codec" "GStreamer has no v4l2sl${codec}dec for our device"
			continue
		fi
		fixture_tests "$codec"
	done
	gst_chain h264
}
if part ivf; then ivf_tests; fi

# 5. The JVT conformance streams (published MD5s). v4l2slh264dec 1.26 crops
#    the CAPTURE picture at (0,0) to the SPS crop size, ignoring
#    frame_crop_left/top_offset. Where our output differs from the published
#    MD5, the referee is FFmpeg (the client root's, independent of the engine)
#    decoding the same stream uncropped and cropping it the same way at (0,0):
#    equal means the CAPTURE buffer held the right picture and the difference
#    is GStreamer's (CVFC1_Sony_C: crop offsets 26,60), and it passes saying so.
jvt_test() {
	local name=$1 f=$2 want=$3 ours ref wh
	GST_LOG=$RESULTS/gst-$name.log
	record_begin
	gst_decode "$f" "$GST_LOG" 150
	ours=$GST_MD5
	if [ "$GST_SAW_DEV" = 1 ] && [ -n "$ours" ] && [ "$ours" != "$want" ]; then
		wh=$(in_chroot ffprobe -v error -select_streams v:0 -show_entries stream=width,height \
			-of csv=p=0 /tmp/in.264 | tr , :)
		ref=$(in_chroot ffmpeg -nostdin -v error -threads 1 -flags2 +ignorecrop -i /tmp/in.264 \
			-vf "crop=$wh:0:0" -fps_mode passthrough -f rawvideo -pix_fmt yuv420p - | md5sum | cut -d' ' -f1)
		if [ "$ref" = "$ours" ]; then
			pass "$name: MD5 $ours = FFmpeg's picture cropped at (0,0) to $wh, as v4l2slh264dec crops (published $want is the crop at the SPS offsets)"
		else
			fail "$name" "MD5 $ours, published $want, FFmpeg cropped at (0,0) ${ref:-none}"
		fi
	else
		judge "$name" "$want"
	fi
	gst_record "$f" "$want"
	daemon_alive_or_restart "$name"
}
jvt_tests() {
	local md5 file
	if [ -f "$VECTORS_DIR/md5.txt" ]; then
		while read -r md5 file; do
			[ -f "$VECTORS_DIR/$file" ] || { fail "jvt ${file%.*}" "missing file"; continue; }
			jvt_test "jvt ${file%.*}" "$VECTORS_DIR/$file" "$md5"
		done <"$VECTORS_DIR/md5.txt"
	else
		fail "jvt streams" "no $VECTORS_DIR/md5.txt (set DAEDALUS_VECTORS): JVT streams NOT tested"
	fi
}
if part jvt; then jvt_tests; fi

# 6. HEVC: the shared vectors (AMVP_A_MTK_4: JCT-VC's MD5; the Chromium
#    streams: FFmpeg's) through v4l2slh265dec, then through daedalus-decode
#    --codec hevc (frame- and slice-based, MMAP and DMABUF, START_CODE NONE), each MD5
#    against md5.txt; then the
#    libx265 streams of the host tests (list.txt, hevc-*: B-pyramid, open and
#    closed GOPs, slices + WPP, coding tools, weighted prediction, Main 10,
#    cropping, a size change at an IDR, 1080p, 4096x2304) and those of
#    tests/common/hevc_writer.rs (PCM, tiles, a slice per tile, dependent
#    slice segments, long-term references) as VP9/AV1 above.
# hevc_decode_tests NAME FILE WANT: daedalus-decode --codec hevc frame-based
# and slice-based (one request per slice segment, HOLD_CAPTURE_BUF), each MMAP
# and DMABUF (system heap), and both modes again with HEVC_START_CODE NONE
# (no 00 00 01 before the slices; SLICE_PARAMS.bit_size delimits them).
# With GST_DECODE=subset (scripts/test-all) a stream not in HEVC_ALL_MODES
# gets frame-based MMAP only: every mode still runs end to end, on the
# vector and the host streams named there.
HEVC_ALL_MODES=' hevc AMVP_A_MTK_4 hevc-own-tile-slices-800x192 hevc-own-long-term-352x288 hevc-x265-slices4-wpp-640x360 hevc-x265-main10-352x288 '
hevc_decode_tests() {
	decode_test "$1: daedalus-decode, frame-based, MMAP" "$2" hevc "$3"
	if [ "${GST_DECODE:-all}" = subset ]; then
		case $HEVC_ALL_MODES in *" $1 "*) ;; *) return 0 ;; esac
	fi
	decode_test "$1: daedalus-decode, frame-based, DMABUF (heap)" "$2" hevc "$3" \
		--memory dmabuf --dmabuf-from heap
	decode_test "$1: daedalus-decode, slice-based, MMAP" "$2" hevc "$3" --decode-mode slice
	decode_test "$1: daedalus-decode, slice-based, DMABUF (heap)" "$2" hevc "$3" \
		--decode-mode slice --memory dmabuf --dmabuf-from heap
	decode_test "$1: daedalus-decode, frame-based, START_CODE NONE" "$2" hevc "$3" \
		--start-code none
	decode_test "$1: daedalus-decode, slice-based, START_CODE NONE" "$2" hevc "$3" \
		--decode-mode slice --start-code none
}

hevc_tests() {
	local md5 file name bits size resize w h
	if [ ! -f "$HEVC_VECTORS_DIR/md5.txt" ]; then
		fail "hevc streams" "no $HEVC_VECTORS_DIR/md5.txt: HEVC streams NOT tested"
		return
	fi
	gst_chain hevc
	while read -r md5 file; do
		name="hevc ${file%.*}" DECODE_BITS=8
		[ -f "$HEVC_VECTORS_DIR/$file" ] || { fail "$name" "missing file"; continue; }
		stream_test "$name" "$HEVC_VECTORS_DIR/$file" "$md5"
		hevc_decode_tests "$name" "$HEVC_VECTORS_DIR/$file" "$md5"
	done <"$HEVC_VECTORS_DIR/md5.txt"
	if ! grep -q '  hevc-' "$IVF_STREAMS_DIR/list.txt" 2>/dev/null; then
		fail "hevc x265 streams" "no hevc- streams in ${IVF_STREAMS_DIR:-?}/list.txt: NOT tested"
		return
	fi
	# GStreamer (daedalus-decode where GStreamer cannot), then daedalus-decode
	# in the three ways for the streams GStreamer plays.
	fixture_tests hevc
	while read -r md5 file bits size resize; do
		case $file in hevc-*) ;; *) continue ;; esac
		w=${size%x*} h=${size#*x}
		[ $((w * h)) -le "$GST_MAX_PIXELS" ] || continue
		DECODE_BITS=$bits
		hevc_decode_tests "${file%.*}" "$IVF_STREAMS_DIR/$file" "$md5"
	done <"$IVF_STREAMS_DIR/list.txt"
	gst_chain h264
}
if part hevc; then hevc_tests; fi

# 7. VP8 and 8. MPEG-2, the same way for both: the shared vectors (VP8: the
#    51 libvpx test vectors, the suite's MD5s; MPEG-2: the 26 ISO/IEC 13818-4
#    and libmpeg2 streams, FFmpeg's MD5s), then the host tests' streams
#    (list.txt, vp8-*: hidden alt-refs, error resilient, 8 and 4 token
#    partitions, odd size, 1080p, a key-frame resize; mpeg2-*: B-frames,
#    closed GOPs, interlaced, custom matrices, 1080i), each through
#    v4l2slvp8dec / v4l2slmpeg2dec (MPEG-2 field pictures: two requests into
#    one held CAPTURE buffer) and daedalus-decode (MMAP; DMABUF from the
#    system heap for one vector per group and every host stream: buffer
#    import does not depend on the stream). The daemon runs lenient: what
#    GStreamer's controls say differently from the bitstream (VP8: the frame
#    headers; MPEG-2: the reference frames) is logged, and counted here per
#    stream (GStreamer's findings, not failures of the decode).
VP8_DMABUF=' vp80-00-comprehensive-001 vp80-01-intra-1400 vp80-02-inter-1402 vp80-03-segmentation-1401 vp80-04-partitions-1404 vp80-05-sharpness-1428 '
MPEG2_DMABUF=' sony-ct1 tcela-8-fp-dp TI_c1_2 hhi_burst_long '
# Streams GStreamer refuses itself (the reason is printed; daedalus-decode
# still decodes them through the module).
MPEG2_GST_REFUSES=' very_high.m2v '
FINDINGS=0

# mpeg2_quirk_test NAME FILE WANT: GStreamer on an MPEG-2 stream. Where its
# MD5 differs from FFmpeg's, the referee is daedalus-decode through the same
# module filling QUANTISATION as v4l2slmpeg2dec does (--emulate gstreamer: not
# set again after a sequence header that repeats the previous one, which
# resets the stream's matrices): equal means the CAPTURE buffers held what
# GStreamer's controls say and the difference is GStreamer's (sony-ct1,
# sony-ct2), and it passes saying so.
mpeg2_quirk_test() {
	local name=$1 file=$2 want=$3 gst_md5 gst_secs
	GST_LOG=$RESULTS/gst-$name.log
	record_begin
	gst_decode "$file" "$GST_LOG" 150
	gst_md5=$GST_MD5 gst_secs=$GST_SECS
	if [ -z "$GST_MD5" ] && grep -q 'reason not-negotiated' "$GST_LOG" &&
		case $MPEG2_GST_REFUSES in *" ${file##*/} "*) true ;; *) false ;; esac; then
		LAST_RESULT=NOTRUN LAST_DETAIL="GStreamer 1.26 cannot play it: caps not negotiated between mpegvideoparse and v4l2slmpeg2dec (profile_and_level_indication 0x9c, escape bit set, not a 13818-2 profile; a 16x16368 picture)"
		info "$name: $LAST_DETAIL: daedalus-decode only"
	elif [ "$GST_SAW_DEV" = 1 ] && [ -n "$GST_MD5" ] && [ "$GST_MD5" != "$want" ]; then
		run_decode "$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_')-gst-quant" 300 "$file" \
			--device "$DAEDALUS_MEDIA" --codec mpeg2 --emulate gstreamer
		if [ "$RC" = 0 ] && [ "$GOT" = "$GST_MD5" ]; then
			pass "$name: MD5 $GST_MD5 = daedalus-decode with v4l2slmpeg2dec's stale QUANTISATION after a repeated sequence header (GStreamer's; FFmpeg's $want)"
		else
			fail "$name" "MD5 $GST_MD5, FFmpeg's $want, with GStreamer's QUANTISATION ${GOT:-none} (rc $RC)"
		fi
	else
		judge "$name" "$want"
	fi
	GST_MD5=$gst_md5 GST_SECS=$gst_secs
	gst_record "$file" "$want"
	daemon_alive_or_restart "$name"
}

# client_stream CODEC NAME FILE WANT DMABUF: GStreamer, daedalus-decode MMAP,
# and DMABUF when DMABUF = yes.
client_stream() {
	local codec=$1 name=$2 file=$3 want=$4 dmabuf=$5 before n
	before=$(wc -l <"$RESULTS/daemon.log")
	gst_chain "$codec"
	if [ "$codec" = mpeg2 ]; then
		mpeg2_quirk_test "$name" "$file" "$want"
	else
		stream_test "$name" "$file" "$want"
	fi
	n=$(tail -n +"$((before + 1))" "$RESULTS/daemon.log" | grep -c 'control disagrees')
	if [ "$n" -gt 0 ]; then
		FINDINGS=$((FINDINGS + n))
		info "$name: v4l2sl${codec}dec's controls differ from the bitstream $n times: $(tail -n +"$((before + 1))" "$RESULTS/daemon.log" | grep -o 'field=[^ ]*' | sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';')"
	fi
	# GST_DECODE=subset: daedalus-decode only on the streams of the DMABUF
	# lists and the host streams (request-api decodes the latter too).
	[ "${GST_DECODE:-all}" = subset ] && [ "$dmabuf" != yes ] && return 0
	decode_test "$name: daedalus-decode, MMAP" "$file" "$codec" "$want"
	if [ "$dmabuf" = yes ]; then
		decode_test "$name: daedalus-decode, DMABUF (heap)" "$file" "$codec" "$want" \
			--memory dmabuf --dmabuf-from heap
	fi
}

# codec_tests CODEC VECTORS_DIR DMABUF_LIST: the shared vectors, then the host
# streams of list.txt named CODEC-* (over GStreamer's size: daedalus-decode).
codec_tests() {
	local codec=$1 dir=$2 dmabuf=$3 md5 file bits size resize w h d
	if ! in_chroot gst-inspect-1.0 "v4l2sl${codec}dec" >/dev/null 2>&1; then
		fail "$codec" "GStreamer has no v4l2sl${codec}dec for our device"
		return
	fi
	FINDINGS=0
	if [ -f "$dir/md5.txt" ]; then
		while read -r md5 file; do
			[ -f "$dir/$file" ] || { fail "$codec ${file%.*}" "missing file"; continue; }
			case $dmabuf in *" ${file%.*} "*) d=yes ;; *) d=no ;; esac
			DECODE_BITS=8
			client_stream "$codec" "$codec ${file%.*}" "$dir/$file" "$md5" "$d"
		done <"$dir/md5.txt"
	else
		fail "$codec vectors" "no $dir/md5.txt: $codec vectors NOT tested"
	fi
	if ! grep -q "  $codec-" "$IVF_STREAMS_DIR/list.txt" 2>/dev/null; then
		fail "$codec host streams" "no $codec- streams in ${IVF_STREAMS_DIR:-?}/list.txt: NOT tested"
		return
	fi
	while read -r md5 file bits size resize; do
		case $file in "$codec"-*) ;; *) continue ;; esac
		w=${size%x*} h=${size#*x}
		if [ $((w * h)) -gt "$GST_MAX_PIXELS" ]; then
			fixture_test "$codec" "$md5" "$file" "$bits" "$size" "$resize"
			continue
		fi
		DECODE_BITS=$bits
		client_stream "$codec" "${file%.*}" "$IVF_STREAMS_DIR/$file" "$md5" yes
	done <"$IVF_STREAMS_DIR/list.txt"
	info "$codec: v4l2sl${codec}dec's controls differed from the bitstream $FINDINGS times in all"
	gst_chain h264
}
if part vp8; then codec_tests vp8 "$VP8_VECTORS_DIR" "$VP8_DMABUF"; fi
if part mpeg2; then codec_tests mpeg2 "$MPEG2_VECTORS_DIR" "$MPEG2_DMABUF"; fi

gst_batch_stop
# The matrix report's difference sheets (GStreamer outputs that are not
# FFmpeg's, explained above: CVFC1_Sony_C's crop, sony-ct1/ct2's matrices).
make_sheets
stop_daemon || info "daemon did not stop cleanly"
grep -E 'jobs=|detached|ERROR' "$RESULTS/daemon.log" | tail -3 | cut -c1-200 | sed 's/^/    /'
check_dmesg
