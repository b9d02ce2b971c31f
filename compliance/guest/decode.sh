#!/bin/bash
# Guest side of `compliance/run decode FILE [--codec h264|hevc|vp8|vp9|av1|mpeg2]`: decodes FILE with
# GStreamer (v4l2sl{h264,vp9,av1}dec -> daedalus module -> daemon) and prints the MD5
# of the I420 output beside the host FFmpeg's (decode.env, made on the host).
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=compliance/guest/decode-lib.sh
. "$(dirname "$0")/decode-lib.sh"
# shellcheck source=/dev/null
. "$RESULTS/decode.env"

decode_setup

name=$(basename "$DECODE_FILE")
gst_chain "${DECODE_CODEC:-h264}" "${DECODE_BITS:-8}"
gst_decode "$DECODE_FILE" "$RESULTS/gst-decode.log" "${DECODE_TMO:-600}"
echo "  .. gst-launch: rc $GST_RC, ${GST_SECS}s, daedalus node used: $([ "$GST_SAW_DEV" = 1 ] && echo "yes ($DAEDALUS_VIDEO)" || echo no)"
[ -n "${DECODE_FRAMES:-}" ] && awk -v n="$DECODE_FRAMES" -v s="$GST_SECS" \
	'BEGIN { if (s > 0) printf "  .. %d frames in %ss: %.2f frames/s (whole gst-launch run, start-up included)\n", n, s, n / s }'
echo "  .. GStreamer+daedalus MD5: ${GST_MD5:-none}"
echo "  .. host FFmpeg MD5:        $DECODE_HOST_MD5"
if [ "$GST_SAW_DEV" != 1 ]; then
	fail "decode $name" "gst-launch never opened $DAEDALUS_VIDEO"
elif [ -z "$GST_MD5" ]; then
	fail "decode $name" "no MD5 at EOS (rc $GST_RC): $(gst_first_error "$RESULTS/gst-decode.log")"
elif [ "$GST_MD5" = "$DECODE_HOST_MD5" ]; then
	pass "decode $name: MD5 $GST_MD5 matches host FFmpeg (${GST_SECS}s)"
else
	fail "decode $name" "MD5 $GST_MD5, host FFmpeg $DECODE_HOST_MD5"
fi
# A picture to look at: frame N (display order; the 30th, or the last of a
# shorter stream) of FILE decoded through the module (daedalus-decode) beside
# FFmpeg's of the original file, ours on the left, in one PNG.
snapshot() {
	local n=30 sel out=$RESULTS/frame.png ours ref
	[ -n "${DECODE_FRAMES:-}" ] && [ "$DECODE_FRAMES" -lt "$n" ] && n=$DECODE_FRAMES
	sel="select=eq(n\\,$((n - 1)))"
	cp "$DECODE_FILE" "$TRIXIE/tmp/snap-in" || return 1
	timeout -k 5 300 "$DECODE" "$DECODE_FILE" --device "$DAEDALUS_MEDIA" --codec "${DECODE_CODEC:-h264}" \
		--frames "$n" --output "$TRIXIE/tmp/snap.y4m" >"$RESULTS/decode-snapshot.log" 2>&1 || return 1
	in_chroot ffmpeg -nostdin -v error -i /tmp/snap.y4m -vf "$sel" -frames:v 1 -y /tmp/ours.png &&
		in_chroot ffmpeg -nostdin -v error -threads 1 -i /tmp/snap-in -vf "$sel" -frames:v 1 -y /tmp/ref.png &&
		in_chroot ffmpeg -nostdin -v error -i /tmp/ours.png -i /tmp/ref.png -filter_complex hstack \
			-y /results/frame.png || return 1
	ours=$(in_chroot ffmpeg -nostdin -v error -i /tmp/ours.png -f rawvideo - | md5sum | cut -d' ' -f1)
	ref=$(in_chroot ffmpeg -nostdin -v error -i /tmp/ref.png -f rawvideo - | md5sum | cut -d' ' -f1)
	rm -f "$TRIXIE"/tmp/snap-in "$TRIXIE"/tmp/snap.y4m "$TRIXIE"/tmp/ours.png "$TRIXIE"/tmp/ref.png
	echo "  .. frame $n: daedalus (left) beside FFmpeg (right) in $out; same pixels: $([ "$ours" = "$ref" ] && echo yes || echo NO)"
	[ "$ours" = "$ref" ]
}
if [ -x "${DECODE:-}" ]; then
	check "a decoded frame beside FFmpeg's (frame.png), the same pixels" snapshot
fi

stop_daemon || info "daemon did not stop cleanly"
check_dmesg
