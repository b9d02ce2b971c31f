# shellcheck shell=bash
# Host-side test streams for the decode suites (gstreamer, decode). Sourced by
# compliance/run, not executed.
#
# ensure_streams RESULTS [--h264-only]: makes the libx264 test streams with
# the host ffmpeg (single-threaded, so deterministic), with their reference
# MD5s by the host FFmpeg (whole I420 output, display order), cached under
# $DAEDALUS_CACHE/streams/<hash of the generation commands and the ffmpeg
# version>, and (unless --h264-only) the VP9/AV1 streams of the host tests
# (ivf_streams_dir).
# Writes RESULTS/streams.env for the guest (STREAMS_DIR, IVF_STREAMS_DIR,
# VECTORS_DIR, LONG_STREAM, LONG_FRAMES, FAULT_*).

# The reference: FFmpeg's decode, no frame dropping/duplication, no scaling;
# I420, or yuv420p10le (16-bit little-endian samples) for >8-bit streams.
ref_md5() {
	local pix=yuv420p
	case $(ffprobe -v error -select_streams v:0 -show_entries stream=pix_fmt -of csv=p=0 "$1") in
	*10le | *10be | *12le | *12be) pix=yuv420p10le ;;
	esac
	ffmpeg -nostdin -v error -threads 1 -i "$1" -fps_mode passthrough -noautoscale \
		-f rawvideo -pix_fmt "$pix" - | md5sum | cut -d' ' -f1
}

# name|size|frames|x264 params (libx264 via ffmpeg, testsrc2 at 25 fps)
_streams_list() {
	cat <<'LIST'
x264-high-bframes-wp-8x8-cabac-352x288|352x288|30|bframes=3:b-pyramid=normal:weightb=1:weightp=2:8x8dct=1:cabac=1:keyint=15:ref=3
x264-mbaff-352x288|352x288|20|interlaced=1:tff=1:bframes=2:cabac=1:keyint=10
x264-slices4-640x360|640x360|20|slices=4:bframes=2:keyint=10
x264-64x64|64x64|20|bframes=2:keyint=10
x264-176x144-cavlc|176x144|20|cabac=0:bframes=0:8x8dct=0:keyint=10
x264-642x362-crop|642x362|10|bframes=2:keyint=10
x264-1280x720|1280x720|10|bframes=3:weightp=2:keyint=10
x264-1920x1080|1920x1080|10|bframes=3:weightp=2:keyint=10
x264-1080p-300-bframes|1920x1080|300|bframes=3:weightp=2:keyint=60:bitrate=6000:vbv-maxrate=8000:vbv-bufsize=8000
LIST
}
# The fault stream: a plain stream with an IDR every 10 frames; one slice of
# a non-IDR picture in the first GOP gets bytes flipped.
FAULT_SIZE=320x240
FAULT_FRAMES=30
FAULT_PARAMS=bframes=0:keyint=10:min-keyint=10:scenecut=0:cabac=1
FAULT_GOP=10

_encode() {
	local out=$1 size=$2 frames=$3 params=$4
	ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=$size:rate=25" -frames:v "$frames" \
		-pix_fmt yuv420p -c:v libx264 -threads 1 -preset fast -profile:v high \
		-x264-params "threads=1:$params" -f h264 "$out"
}

# Flips bytes in the middle of the payload of the 3rd coded slice NAL of a
# non-IDR picture (nal_unit_type 1) of an Annex B stream.
_corrupt_slice() {
	python3 - "$1" "$2" <<'PY'
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
starts = []
i = 0
while True:
    i = data.find(b'\x00\x00\x01', i)
    if i < 0:
        break
    starts.append(i + 3)
    i += 3
seen = 0
pictures = 0  # slice NALs before this one (one slice per picture here)
for k, s in enumerate(starts):
    end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
    if data[s] & 0x1f == 1:
        seen += 1
        if seen == 3:
            a = s + (end - s) // 3
            b = min(a + 16, end - 1)
            for j in range(a, b):
                data[j] ^= 0x5a
            print(f"flipped bytes {a}..{b} of NAL at {s} ({end - s} bytes), picture {pictures} in decode order", file=sys.stderr)
            open(sys.argv[2] + '.picture', 'w').write(f"{pictures}\n")
            break
    if data[s] & 0x1f in (1, 5):
        pictures += 1
else:
    sys.exit("no 3rd non-IDR slice")
open(sys.argv[2], 'wb').write(data)
PY
}

_streams_build() {
	local dir=$1 name size frames params w h fsz
	while IFS='|' read -r name size frames params; do
		log "  encoding $name ($size, $frames frames)"
		_encode "$dir/$name.264" "$size" "$frames" "$params" || return 1
		echo "$(ref_md5 "$dir/$name.264")  $name.264" >>"$dir/md5.txt" || return 1
		echo "$frames  $name.264" >>"$dir/frames.txt"
	done < <(_streams_list)
	log "  encoding the fault stream"
	_encode "$dir/fault-clean.264" "$FAULT_SIZE" "$FAULT_FRAMES" "$FAULT_PARAMS" || return 1
	_corrupt_slice "$dir/fault-clean.264" "$dir/fault-corrupt.264" 2>"$dir/fault.txt" || return 1
	ref_md5 "$dir/fault-clean.264" >"$dir/fault-clean.md5" || return 1
	# Its frames, for the worker-crash tests (what must survive, frame by frame).
	ffmpeg -nostdin -v error -threads 1 -i "$dir/fault-clean.264" -fps_mode passthrough -noautoscale \
		-f rawvideo -pix_fmt yuv420p "$dir/fault-clean.yuv" || return 1
	# Reference for what must survive: the frames from the second IDR on.
	w=${FAULT_SIZE%x*} h=${FAULT_SIZE#*x}
	fsz=$((w * h * 3 / 2))
	ffmpeg -nostdin -v error -threads 1 -i "$dir/fault-clean.264" -fps_mode passthrough -noautoscale \
		-f rawvideo -pix_fmt yuv420p - | tail -c $(((FAULT_FRAMES - FAULT_GOP) * fsz)) |
		md5sum | cut -d' ' -f1 >"$dir/fault-tail.md5" || return 1
}

# VP9 and AV1 streams (IVF) and HEVC (Annex B) for the GStreamer suite: the
# shared test streams the host tests check (libdaedalus/tests/common/fixtures.rs:
# libvpx, vpxenc, libaom, aomenc, SVT-AV1, rav1e, libx265; 64x64 to
# 4096x2304), made once by their one
# generator (cargo run --example fixtures) into $DAEDALUS_FIXTURES (default
# $DAEDALUS_CACHE/fixtures), in a folder keyed by the list and the encoder
# versions. Its list.txt holds "MD5  FILE  BITS  WxH  RESIZE" per stream of
# the VM set. An encoder missing stops the build: the VM never runs a list
# with holes in it. The generator's output is kept in fixtures.log there.
IVF_MIN_PER_CODEC=20

# Prints the folder, making it if needed (a no-op when it is made).
ivf_streams_dir() {
	local root=${DAEDALUS_FIXTURES:-$DAEDALUS_CACHE/fixtures} dir codec n
	mkdir -p "$root" || return 1
	if ! dir=$(cd "$DAEDALUS_ROOT" && DAEDALUS_FIXTURES=$root \
		cargo run -q -p libdaedalus --example fixtures 2>"$root/fixtures.log"); then
		log "the test stream generator failed (see $root/fixtures.log):"
		tail -5 "$root/fixtures.log" >&2
		return 1
	fi
	for codec in vp9 av1; do
		n=$(grep -c " $codec-" "$dir/list.txt")
		if [ "$n" -lt "$IVF_MIN_PER_CODEC" ]; then
			log "only $n $codec streams in $dir/list.txt (at least $IVF_MIN_PER_CODEC expected)"
			return 1
		fi
	done
	echo "$dir"
}

# _build_cached DIR BUILD_FN: runs BUILD_FN on DIR.partial.PID and renames it
# to DIR when it succeeded (a half-built folder never looks complete).
_build_cached() {
	local dir=$1 build=$2 tmp="$1.partial.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	if ! "$build" "$tmp"; then
		rm -rf "$tmp"
		return 1
	fi
	rm -rf "$dir"
	mv "$tmp" "$dir"
}

streams_dir() {
	local key
	key=$({
		declare -f _streams_list _encode _corrupt_slice _streams_build ref_md5
		echo "$FAULT_SIZE $FAULT_FRAMES $FAULT_PARAMS $FAULT_GOP"
		ffmpeg -version 2>/dev/null | head -1
	} | sha256sum | cut -c1-16)
	echo "$DAEDALUS_CACHE/streams/$key"
}

_ensure_streams_locked() {
	local dir
	dir=$(streams_dir)
	[ -f "$dir/md5.txt" ] && [ -f "$dir/fault-tail.md5" ] && [ -f "$dir/fault-clean.yuv" ] && return 0
	log "generating test streams in $dir (host ffmpeg, libx264, 1 thread)"
	_build_cached "$dir" _streams_build
}

ensure_streams() {
	local results=$1 vectors ivf=
	with_cache_lock _ensure_streams_locked || return 1
	if [ "${2:-}" != --h264-only ]; then
		log "VP9/AV1 test streams (the host tests' fixtures)"
		ivf=$(ivf_streams_dir) || return 1
	fi
	vectors=${DAEDALUS_VECTORS:-$(cd "$DAEDALUS_ROOT/.." && pwd)/shared/vectors/h264-jvt}
	cat >"$results/streams.env" <<EOT
STREAMS_DIR='$(streams_dir)'
IVF_STREAMS_DIR='$ivf'
VECTORS_DIR='$vectors'
HEVC_VECTORS_DIR='${DAEDALUS_HEVC_VECTORS:-$(cd "$DAEDALUS_ROOT/.." && pwd)/shared/vectors/hevc}'
VP8_VECTORS_DIR='${DAEDALUS_VP8_VECTORS:-$(cd "$DAEDALUS_ROOT/.." && pwd)/shared/vectors/vp8}'
MPEG2_VECTORS_DIR='${DAEDALUS_MPEG2_VECTORS:-$(cd "$DAEDALUS_ROOT/.." && pwd)/shared/vectors/mpeg2}'
LONG_STREAM='x264-1080p-300-bframes.264'
LONG_FRAMES=300
FAULT_SIZE='$FAULT_SIZE'
FAULT_FRAMES=$FAULT_FRAMES
FAULT_GOP=$FAULT_GOP
EOT
}

# decode_prepare RESULTS FILE [--codec C]: checks the arguments of the decode
# suite and writes RESULTS/decode.env (the file's absolute path, codec, bit
# depth, and the host FFmpeg's reference MD5).
decode_prepare() {
	local results=$1 file=${2:-} codec=h264
	shift 2 || true
	while [ $# -gt 0 ]; do
		case $1 in
		--codec)
			codec=${2:-}
			shift 2 || return 1
			;;
		*)
			log "decode: unknown argument $1"
			return 1
			;;
		esac
	done
	[ -f "$file" ] || {
		log "decode: no file '$file'"
		return 1
	}
	case $codec in
	h264 | hevc | vp8 | vp9 | av1 | mpeg2) ;;
	*)
		log "decode: codec $codec is not supported (h264, hevc, vp8, vp9, av1, mpeg2)"
		return 1
		;;
	esac
	file=$(readlink -f "$file")
	log "host FFmpeg reference MD5 of $file"
	cat >"$results/decode.env" <<EOT
DECODE_FILE='$file'
DECODE_CODEC='$codec'
DECODE_BITS='$(case $(ffprobe -v error -select_streams v:0 -show_entries stream=pix_fmt -of csv=p=0 "$file") in *10le | *10be) echo 10 ;; *) echo 8 ;; esac)'
DECODE_HOST_MD5='$(ref_md5 "$file")'
DECODE_FRAMES='$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$file")'
EOT
}
