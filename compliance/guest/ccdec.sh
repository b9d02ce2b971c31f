#!/bin/bash
# Guest side of `compliance/run ccdec`: ccdec, the example decoder of
# cros-codecs 0.0.6 (Chromium's Rust codec stack; V4L2 stateless backend),
# through the daedalus module and daemon on every stream of the codecs it
# supports (H.264: the JVT vectors; VP8: the libvpx vectors; VP9 and AV1:
# the host tests' 8-bit streams up to 1920x1088), its --compute-md5 stream
# (I420, display order) against the published or host FFmpeg's MD5.
# In this VM ccdec needs a GBM device: vgem, with tools/ccdec/vgem-gbm
# (libgbm.so.1: Mesa's GBM refuses ccdec's NV12 frames) and capture-fmt.so
# (ccdec never sets the CAPTURE format). A stream that fails is reported
# with ccdec's own first error line: ccdec exits 0 and prints the MD5 of
# nothing when its decode thread panics, so only the MD5 decides.
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=/dev/null
. "$RESULTS/streams.env"

modprobe vgem && udevadm settle || { fail "setup: vgem (a GBM device for ccdec)"; exit 1; }
load_base_modules || { fail "setup: load mem2mem"; exit 1; }
load_daedalus || { fail "setup: load daedalus"; exit 1; }
start_daemon || { fail "setup: daemon attach"; exit 1; }
info "ccdec from cros-codecs 0.0.6: $CCDEC_DIR/ccdec"

# ccdec_test NAME FILE FORMAT WANT
ccdec_test() {
	local name=$1 file=$2 fmt=$3 want=$4 log got why t0 secs
	log=$RESULTS/ccdec-$(echo "$name" | tr -c 'A-Za-z0-9_.-' '_').log
	t0=$(date +%s.%N)
	record_begin
	LD_LIBRARY_PATH=$CCDEC_DIR LD_PRELOAD=$CCDEC_DIR/capture-fmt.so CAPTURE_FOURCC=NM12 RUST_LOG=debug \
		timeout -k 5 120 "$CCDEC_DIR/ccdec" "$file" --input-format "$fmt" --compute-md5 stream >"$log.md5" 2>"$log"
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	got=$(tail -1 "$log.md5")
	if [ "$got" = "$want" ]; then
		pass "$name: MD5 $got (${secs}s)"
	else
		why=$(grep -m1 -E 'Error|error|panicked' "$log" | sed 's/^\[[^]]*\] //' | cut -c1-160)
		fail "$name" "MD5 ${got:-none}, want $want: ${why:-no error line} (${secs}s)"
	fi
	record ccdec "$fmt" "$(basename "${file%.*}")" - "$secs" "${got:--}" "$want" "$file"
	daemon_alive_or_restart "$name"
}

daemon_alive_or_restart() {
	if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
		fail "daemon alive after $1" "daemon exited; restarting"
		start_daemon || info "daemon restart failed"
	fi
}

# vector_tests CODEC DIR: every stream of DIR/md5.txt.
vector_tests() {
	local codec=$1 dir=$2 md5 file
	if [ ! -f "$dir/md5.txt" ]; then
		fail "$codec vectors" "no $dir/md5.txt"
		return
	fi
	while read -r md5 file; do
		ccdec_test "$codec ${file%.*}" "$dir/$file" "$codec" "$md5"
	done <"$dir/md5.txt"
}
vector_tests h264 "$VECTORS_DIR"
vector_tests vp8 "$VP8_VECTORS_DIR"
while read -r md5 file bits size resize; do
	case $file in vp9-* | av1-*) ;; *) continue ;; esac
	w=${size%x*} h=${size#*x}
	if [ "$bits" != 8 ] || [ $((w * h)) -gt $((1920 * 1088)) ]; then
		LAST_RESULT=NOTRUN LAST_DETAIL="${bits}-bit ${size}: ccdec 0.0.6 decodes 8-bit only, and 1080p is the size this suite keeps to"
		info "${file%.*}: not run ($LAST_DETAIL)"
		record ccdec "${file%%-*}" "${file%.*}" - - - "$md5" "$IVF_STREAMS_DIR/$file" "$bits"
		continue
	fi
	[ "$resize" = - ] || info "${file%.*}: size change on a non-key frame"
	ccdec_test "${file%.*}" "$IVF_STREAMS_DIR/$file" "${file%%-*}" "$md5"
done <"$IVF_STREAMS_DIR/list.txt"

# What ccdec's controls say differently from the bitstreams (the daemon
# checks them, as it does every client's).
info "ccdec's controls differed from the bitstream $(grep -c 'control disagrees' "$RESULTS/daemon.log") times; most often: $(sed 's/\x1b\[[0-9;]*m//g' "$RESULTS/daemon.log" | grep -o 'field=[^ ]*' | sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';')"
stop_daemon || info "daemon did not stop cleanly"
check_dmesg "dmesg clean (no BUG/WARNING/oops/lockdep/hung task)"
