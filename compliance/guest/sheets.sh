# shellcheck shell=bash
# Difference sheets for compliance/run matrix, sourced after lib.sh and
# decode-lib.sh: for every recorded decode ($RESULTS/streams.tsv) whose
# output MD5 is not the reference's, the client decodes the stream once more
# into a YUV4MPEG2 file, FFmpeg in the client root decodes the original file,
# and the first frame where the two differ becomes one PNG, side by side:
# FFmpeg's frame | the client's (device output) | their difference, x8
# (RGB). Written to $RESULTS/sheets/, listed in $RESULTS/sheets.tsv:
#   client stream variant frame png note
# (png "-" when there is no sheet: the note says why).

SHEETS_MAX=${SHEETS_MAX:-8}
# MD5 of no bytes: what a client that output nothing reports.
EMPTY_MD5=d41d8cd98f00b204e9800998ecf8427e

# y4m_size FILE: "W H" of a YUV4MPEG2 file's header.
y4m_size() {
	head -c 200 "$1" | head -1 | tr ' ' '\n' | sed -n 's/^W//p; s/^H//p' | tr '\n' ' '
}

# sheet_client_output CLIENT CODEC VARIANT BITS OUT: the client's frames of
# the chroot's $SHEET_IN as YUV4MPEG2 (I420) into the chroot path OUT.
sheet_client_output() {
	local client=$1 codec=$2 variant=$3 bits=$4 out=$5 args=() k v
	case $client in
	GStreamer)
		gst_chain "$codec" "$bits"
		# shellcheck disable=SC2086 # the chain is a gst-launch word list
		timeout -k 5 300 chroot "$TRIXIE" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/tmp GST_REGISTRY=/results/gst-registry.bin gst-launch-1.0 -q \
			filesrc location="$SHEET_IN" ! $GST_PARSE ! videoconvert dither=none ! \
			"video/x-raw,format=$GST_RAW" ! y4menc ! filesink location="$out" >/dev/null 2>&1
		;;
	daedalus-decode*)
		[ "$client" = "daedalus-decode (slice)" ] && args+=(--decode-mode slice)
		# shellcheck disable=SC2086 # the variant is "option value ..." words
		set -- $variant
		while [ $# -ge 2 ]; do
			k=$1 v=$2
			shift 2
			case $k in
			memory | dmabuf-from | start-code | emulate) args+=("--$k" "$v") ;;
			first) args+=(--frames "$v") && shift ;;
			esac
		done
		timeout -k 5 300 "$DECODE" "$TRIXIE$SHEET_IN" --device "$DAEDALUS_MEDIA" \
			--codec "$codec" --timeout-ms 30000 --output "$TRIXIE$out" "${args[@]}" \
			>/dev/null 2>&1
		;;
	*) return 1 ;;
	esac
}

# sheet_one CLIENT CODEC STREAM VARIANT FILE BITS OUT_MD5: one sheet line. The first
# differing frame is found by per-frame MD5s (framemd5) of both outputs; two
# pictures of different sizes are padded to the larger.
sheet_one() {
	local client=$1 codec=$2 stream=$3 variant=$4 file=$5 bits=$6 first=$7 png frame=- note=""
	local rw rh cw ch w h nref nout name again
	name=$(printf %s "$client-$stream${variant:+-$variant}" | tr -c 'A-Za-z0-9_.-' '_')
	png=sheets/$name.png
	# The stream keeps its extension, which FFmpeg's probing goes by too.
	SHEET_IN=/tmp/in.sheet.${file##*.}
	cp "$file" "$TRIXIE$SHEET_IN" || return
	if [ "$bits" -gt 8 ]; then
		note="no sheet for ${bits}-bit output (the sheets read 8-bit I420)"
		png=-
	elif ! in_chroot ffmpeg -y -nostdin -v error -threads 1 -i "$SHEET_IN" -fps_mode passthrough \
		-pix_fmt yuv420p -f yuv4mpegpipe /tmp/ref.y4m; then
		note="FFmpeg could not decode the stream"
		png=-
	elif ! sheet_client_output "$client" "$codec" "$variant" "$bits" /tmp/out.y4m ||
		[ ! -s "$TRIXIE/tmp/out.y4m" ]; then
		note="$client wrote no frames on the second run"
		png=-
	elif again=$(in_chroot ffmpeg -nostdin -v error -i /tmp/out.y4m -f rawvideo - | md5sum) &&
		[ "${again%% *}" != "$first" ]; then
		# The sheet must show the output that was judged.
		note="no sheet: the second run did not reproduce the first's output (MD5 ${again%% *}, first $first)"
		png=-
	else
		in_chroot ffmpeg -nostdin -v error -i /tmp/ref.y4m -f framemd5 - | grep -v '^#' |
			awk -F, '{ print $NF }' >"$TRIXIE/tmp/ref.md5"
		in_chroot ffmpeg -nostdin -v error -i /tmp/out.y4m -f framemd5 - | grep -v '^#' |
			awk -F, '{ print $NF }' >"$TRIXIE/tmp/out.md5"
		nref=$(wc -l <"$TRIXIE/tmp/ref.md5") nout=$(wc -l <"$TRIXIE/tmp/out.md5")
		frame=$(paste -d' ' "$TRIXIE/tmp/ref.md5" "$TRIXIE/tmp/out.md5" |
			awk '$1 != $2 { print NR - 1; exit }')
		read -r rw rh <<<"$(y4m_size "$TRIXIE/tmp/ref.y4m")"
		read -r cw ch <<<"$(y4m_size "$TRIXIE/tmp/out.y4m")"
		w=$((rw > cw ? rw : cw)) h=$((rh > ch ? rh : ch))
		if [ -z "$frame" ]; then
			frame=-
			png=-
			if [ "$nref" != "$nout" ]; then
				note="the same frames while both last; the frame counts differ: FFmpeg $nref, $client $nout"
			else
				note="the second run's output equals FFmpeg's (the first run's did not)"
			fi
		elif in_chroot ffmpeg -y -nostdin -v error -i /tmp/ref.y4m -i /tmp/out.y4m -filter_complex \
			"[0]select=eq(n\,$frame),pad=$w:$h,format=gbrp,split[a0][a1];[1]select=eq(n\,$frame),pad=$w:$h,format=gbrp,split[b0][b1];[a1][b1]blend=all_mode=difference,lutrgb=r=min(val*8\,255):g=min(val*8\,255):b=min(val*8\,255)[d];[a0][b0][d]hstack=inputs=3" \
			-frames:v 1 -update 1 "/results/$png"; then
			note="first differing frame: $frame (of FFmpeg's $nref, $client's $nout)"
			[ "$rw.$rh" = "$cw.$ch" ] || note="$note; sizes differ: FFmpeg ${rw}x$rh, $client ${cw}x$ch"
		else
			note="ffmpeg could not draw the sheet"
			png=-
		fi
	fi
	[ -f "$RESULTS/$png" ] || png=-
	case $png:$note in
	-:"the same frames while both last"* | -:"FFmpeg could not decode"* | -:"no sheet"*)
		pass "matrix sheet: $client $stream: none drawn ($note)"
		;;
	-:*) fail "matrix sheet: $client $stream" "$note" ;;
	*) pass "matrix sheet: $client $stream: $png, $note" ;;
	esac
	rm -f "$TRIXIE$SHEET_IN" "$TRIXIE"/tmp/{ref,out}.{y4m,md5}
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$client" "$stream" "${variant:--}" "$frame" "$png" "$note" \
		>>"$RESULTS/sheets.tsv"
	info "sheet $client $stream: ${png} ($note)"
}

# make_sheets: a sheet for each decode of streams.tsv whose output was not the
# reference (up to SHEETS_MAX; the first decode of a client and stream).
make_sheets() {
	local client codec stream variant out ref file bits made=0 seen=" "
	mkdir -p "$RESULTS/sheets"
	: >"$RESULTS/sheets.tsv"
	while IFS=$'\t' read -r client codec stream variant _ _ _ _ out ref file bits _; do
		[ "$out" != - ] && [ "$out" != "$EMPTY_MD5" ] && [ "$out" != "$ref" ] || continue
		[ -f "$file" ] || continue
		case $seen in *" $client/$stream "*) continue ;; esac
		seen="$seen$client/$stream "
		if [ "$made" -ge "$SHEETS_MAX" ]; then
			info "sheets: $SHEETS_MAX made, $client $stream has none"
			printf '%s\t%s\t%s\t-\t-\t%s\n' "$client" "$stream" "$variant" \
				"output MD5 $out, reference $ref; no sheet drawn (SHEETS_MAX=$SHEETS_MAX)" \
				>>"$RESULTS/sheets.tsv"
			continue
		fi
		[ "$variant" = - ] && variant=
		sheet_one "$client" "$codec" "$stream" "$variant" "$file" "$bits" "$out" </dev/null
		made=$((made + 1))
	done <"$RESULTS/streams.tsv"
	info "sheets: $made for decodes whose output was not the reference's"
}
