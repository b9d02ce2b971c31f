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
stop_daemon || info "daemon did not stop cleanly"
check_dmesg
