#!/bin/bash
# Guest side of `compliance/run request-api`: daedalus-decode (request-api/)
# drives stateless decoders through the media controller and the request API.
#  - on the daedalus module (daemon attached): every JVT stream, MD5 of the
#    cropped I420 output against md5.txt (the published reference);
#  - on visl (which only draws a pattern, so no MD5): a whole stream runs to the
#    end with no request errors, proof that the client follows the API rather
#    than our device's quirks.
# $DECODE is the daedalus-decode binary, $VECTORS_DIR the JVT folder.
. "$(dirname "$0")/lib.sh"
# shellcheck source=/dev/null
. "$RESULTS/request-api.env"

setup_chroot || { fail "setup: chroot mounts"; exit 1; }
load_base_modules || { fail "setup: load mem2mem"; exit 1; }
load_daedalus || { fail "setup: load daedalus"; exit 1; }
start_daemon || { fail "setup: daemon"; exit 1; }

if [ -f "$VECTORS_DIR/md5.txt" ]; then
	t0=$(date +%s)
	while read -r want file; do
		[ -n "$file" ] || continue
		name="daedalus-decode ${file%.*}"
		if [ ! -f "$VECTORS_DIR/$file" ]; then
			fail "$name" "missing file"
			continue
		fi
		got=$(timeout -k 5 300 "$DECODE" "$VECTORS_DIR/$file" --device "$DAEDALUS_MEDIA" --md5 \
			2>"$RESULTS/decode-${file%.*}.err")
		rc=$?
		if [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
			pass "$name"
		else
			fail "$name" "exit $rc, md5 ${got:-none}, want $want: $(tail -1 "$RESULTS/decode-${file%.*}.err" | cut -c1-160)"
		fi
	done <"$VECTORS_DIR/md5.txt"
	info "JVT through daedalus-decode: $(($(date +%s) - t0)) s"
else
	fail "jvt streams" "no $VECTORS_DIR/md5.txt (set DAEDALUS_VECTORS): JVT streams NOT tested"
fi
stop_daemon || fail "daemon stopped cleanly on SIGTERM"

# visl: the same client against another stateless driver.
if modprobe v4l2-tpg && insmod "$KMODS/visl/visl.ko"; then
	udevadm settle 2>/dev/null || sleep 1
	VISL=$(video_node_named '^visl') && VISL_MEDIA=$(media_node_of "$VISL")
	if [ -n "${VISL_MEDIA:-}" ] && [ -f "$VECTORS_DIR/BA_MW_D.264" ]; then
		timeout -k 5 300 "$DECODE" "$VECTORS_DIR/BA_MW_D.264" --device "$VISL_MEDIA" \
			--md5 >/dev/null 2>"$RESULTS/decode-visl.err"
		rc=$?
		summary=$(grep -E '^frames: ' "$RESULTS/decode-visl.err" | tail -1)
		if [ "$rc" = 0 ] && echo "$summary" | grep -q ' 0 errors'; then
			pass "visl: BA_MW_D to the end, no request errors ($summary)"
		else
			fail "visl: BA_MW_D" "exit $rc: ${summary:-$(tail -1 "$RESULTS/decode-visl.err")}"
		fi
	else
		fail "visl: BA_MW_D" "no visl media node or no BA_MW_D.264"
	fi
else
	fail "setup: load visl"
fi
check_dmesg "request-api: dmesg clean"
