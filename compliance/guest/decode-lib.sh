# shellcheck shell=bash
# Guest helpers for the decode suites (gstreamer.sh, decode.sh), sourced after
# lib.sh: GStreamer's v4l2slh264dec through the daedalus module, in the
# trixie client root.

# The sink: videocodectestsink hashes the unpadded I420 planes and prints the
# MD5 at EOS (with -m). GST_SINK overrides it.
GST_SINK_DEFAULT="videocodectestsink"

# decode_setup: the client root, mem2mem + daedalus, the daemon, GStreamer's
# registry; a failed step fails the suite's setup and ends it.
decode_setup() {
	setup_chroot || { fail "setup: chroot mounts"; exit 1; }
	load_base_modules || { fail "setup: load mem2mem"; exit 1; }
	load_daedalus || { fail "setup: load daedalus"; exit 1; }
	start_daemon || { fail "setup: daemon attach"; exit 1; }
	gst_prepare || { fail "setup: GStreamer has no v4l2slh264dec (see gst-inspect.log)"; exit 1; }
}

# gst_prepare: loads GStreamer's registry (a full plugin scan takes minutes
# under TCG when $RESULTS/gst-registry.bin is missing or stale; the host keeps
# it in the cache between runs) and checks that v4l2codecs registered an H.264
# stateless decoder for the daedalus node (the only one in this VM).
gst_prepare() {
	local t0
	t0=$(date +%s)
	timeout -k 5 1200 chroot "$TRIXIE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
		GST_REGISTRY=/results/gst-registry.bin gst-inspect-1.0 v4l2slh264dec \
		>"$RESULTS/gst-inspect.log" 2>&1
	local rc=$?
	info "gst-inspect-1.0 v4l2slh264dec: rc $rc, $(($(date +%s) - t0))s (registry load/scan)"
	[ "$rc" = 0 ]
}

# gst_chain CODEC [BITS]: sets GST_PARSE (parser elements + decoder) and
# GST_RAW (the raw format hashed: I420, or I420_10LE for 10-bit streams);
# GST_CODEC and GST_BITS name them for the matrix records.
gst_chain() {
	# shellcheck disable=SC2034 # read by gst_record
	GST_CODEC=$1 GST_BITS=${2:-8}
	case $1 in
	vp8) GST_PARSE="ivfparse ! v4l2slvp8dec" ;;
	mpeg2) GST_PARSE="mpegvideoparse ! v4l2slmpeg2dec" ;;
	vp9) GST_PARSE="ivfparse ! vp9parse ! v4l2slvp9dec" ;;
	av1) GST_PARSE="ivfparse ! av1parse ! v4l2slav1dec" ;;
	hevc) GST_PARSE="h265parse ! v4l2slh265dec" ;;
	*) GST_PARSE="h264parse ! v4l2slh264dec" ;;
	esac
	if [ "${2:-8}" -gt 8 ]; then GST_RAW=I420_10LE; else GST_RAW=I420; fi
}

# gst_start LOG: starts the pipeline on the chroot's /tmp/in.264 in the
# background; GST_PID is the pid of the chroot process (gst-launch after exec).
# A queue after the decoder lets conversion and hashing run in their own
# thread, as a player's pipeline would, instead of inside the decoder's.
# GST_PARSE / GST_RAW (gst_chain) choose the codec; H.264 8-bit by default.
gst_pipeline() {
	echo "filesrc location=/tmp/in.264 ! ${GST_PARSE:-h264parse ! v4l2slh264dec} !" \
		"queue ! videoconvert dither=none ! video/x-raw,format=${GST_RAW:-I420} ! ${GST_SINK:-$GST_SINK_DEFAULT}"
}
gst_start() {
	local log=$1
	# shellcheck disable=SC2046 # the pipeline is a gst-launch word list
	chroot "$TRIXIE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
		GST_REGISTRY=/results/gst-registry.bin GST_DEBUG='v4l2codecs*:3' \
		gst-launch-1.0 -m --no-fault $(gst_pipeline) >"$log" 2>&1 &
	GST_PID=$!
}

# gst_batch_start: starts compliance/guest/gst-batch.py in the client root
# as a coprocess (GSTB: its stdout, stdin; GSTB_PID: the chroot process, the
# python3 after exec). It runs the pipelines of gst_decode one after another.
gst_batch_start() {
	coproc GSTB { exec chroot "$TRIXIE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \
		GST_REGISTRY=/results/gst-registry.bin GST_DEBUG='v4l2codecs*:3' \
		python3 /work/compliance/guest/gst-batch.py 2>"$RESULTS/gst-batch.log"; }
	GSTB_IN=${GSTB[1]} GSTB_OUT=${GSTB[0]}
}

# gst_batch_stop: ends the client process (killed when a pipeline hangs).
gst_batch_stop() {
	[ -n "${GSTB_PID:-}" ] || return 0
	kill -KILL "$GSTB_PID" 2>/dev/null
	wait "$GSTB_PID" 2>/dev/null
	GSTB_PID=
}

# gst_decode FILE LOG TIMEOUT_S: decodes FILE (copied into the chroot's
# tmpfs first) with gst_start's pipeline: in a gst-launch of its own, or, when
# GST_BATCH=1 (the gstreamer suite's hundreds of streams), as the next job of
# the one client process of gst_batch_start (started here when not running,
# and killed, so started again next time, when a pipeline overruns).
# Sets GST_RC (gst-launch's exit code; 124: timed out after TIMEOUT_S),
# GST_MD5 (empty when none), GST_SECS (wall: the whole gst-launch run, or
# from queueing the job to its end), GST_SAW_DEV=1 when the client had the
# daedalus video node open: seen in its fds while it runs or, for a decode
# too short for the 0.1 s poll under TCG, by the module's context ids having
# moved on during the run (nothing else opens the node meanwhile).
# shellcheck disable=SC2034 # the GST_* outputs are read by the suites
gst_decode() {
	local f=$1 log=$2 tmo=$3 t0 start ids0 pid reply
	cp "$f" "$TRIXIE/tmp/in.264" || return 1
	GST_SAW_DEV=0
	ids0=$(ctx_id_cursor)
	GST_RC=
	t0=$(date +%s.%N)
	start=$(date +%s)
	if [ "${GST_BATCH:-0}" = 1 ]; then
		if [ -z "${GSTB_PID:-}" ] || ! kill -0 "$GSTB_PID" 2>/dev/null; then
			gst_batch_start
		fi
		pid=$GSTB_PID
		printf '%s\t%s\n' "/results/${log#"$RESULTS"/}" "$(gst_pipeline)" >&"$GSTB_IN"
	else
		gst_start "$log"
		pid=$GST_PID
	fi
	while :; do
		if [ "$GST_SAW_DEV" = 0 ]; then
			# One find for all fds (a readlink per fd is too slow under
			# TCG to see short decodes). Seen from outside the chroot the
			# node reads $TRIXIE/dev/videoN.
			find /proc/"$pid"/fd -lname "*${DAEDALUS_VIDEO}" 2>/dev/null | grep -q . &&
				GST_SAW_DEV=1
		fi
		if [ "$pid" != "${GSTB_PID:-}" ]; then
			kill -0 "$pid" 2>/dev/null || {
				wait "$pid"
				GST_RC=$?
				break
			}
			sleep 0.1
		elif read -r -t 0.1 -u "$GSTB_OUT" reply; then
			GST_RC=${reply#done }
			break
		elif [ $? -le 128 ]; then
			# EOF: the client process died (a crash in the pipeline).
			wait "$pid"
			GST_RC=$?
			GSTB_PID=
			info "the GStreamer client process ended (rc $GST_RC): $(tail -2 "$RESULTS/gst-batch.log" | tr '\n' ' ')"
			break
		fi
		if [ $(($(date +%s) - start)) -gt "$tmo" ]; then
			if [ "$pid" = "${GSTB_PID:-}" ]; then
				gst_batch_stop
			else
				kill -KILL "$pid" 2>/dev/null
				wait "$pid"
			fi
			GST_RC=124
			break
		fi
	done
	if [ "$GST_SAW_DEV" = 0 ] && [ -n "$ids0" ] && [ "$(ctx_id_cursor)" != "$ids0" ]; then
		GST_SAW_DEV=1
	fi
	GST_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	GST_MD5=$(grep -o 'checksum=(string)[0-9a-f]*' "$log" | tail -1 | sed 's/.*)//')
}

gst_first_error() {
	grep -m1 -E '^ERROR|ERROR|WARNING' "$1" | cut -c1-160
}

# daemon_alive_or_restart NAME: after a test, the daemon must still run.
daemon_alive_or_restart() {
	if [ -z "$DAEMON_PID" ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		fail "daemon alive after $1" "daemon exited; restarting"
		tail -5 "$RESULTS/daemon.log" | sed 's/^/    /'
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
		start_daemon || info "daemon restart failed"
	fi
}

# decode_record CODEC FILE REF_MD5 [ARGS...]: the matrix record of the last
# run_decode (daedalus-decode ARGS...): frame- or slice-based are two
# clients, the other options (memory, start codes, emulation) the variant.
decode_record() {
	local codec=$1 file=$2 want=$3 base=${2##*/} client="daedalus-decode (frame)" variant=""
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--decode-mode) [ "$2" = slice ] && client="daedalus-decode (slice)" ;;
		--memory | --dmabuf-from | --start-code | --emulate) variant="$variant ${1#--} $2" ;;
		--frames) variant="$variant first $2 frames" ;;
		*) shift && continue ;;
		esac
		shift 2
	done
	record "$client" "$codec" "${base%.*}" "${variant# }" "$SECS" "${GOT:--}" "$want" "$file" \
		"${DECODE_BITS:-8}"
}

# run_decode LOGNAME TIMEOUT_S ARGS...: daedalus-decode --md5 ARGS. Sets
# RC, GOT (the MD5 line), SUMMARY (its "frames: ..." line), SECS (wall).
# shellcheck disable=SC2034 # the outputs are read by the suites
run_decode() {
	local log=$RESULTS/decode-$1.err tmo=$2 t0
	shift 2
	t0=$(date +%s.%N)
	GOT=$(timeout -k 5 "$tmo" "$DECODE" --md5 "$@" 2>"$log")
	RC=$?
	SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	SUMMARY=$(grep -E '^frames: ' "$log" | tail -1)
	LAST=$(grep -v '^frame [0-9]*$' "$log" | tail -1 | cut -c1-200)
}
