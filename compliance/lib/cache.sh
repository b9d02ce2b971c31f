# shellcheck shell=bash
# Cached artifacts under $DAEDALUS_CACHE. Each is built into a temporary
# directory and renamed into place only when complete, so an interrupted
# run never leaves something that looks finished. Sourced, not executed.

TRIXIE_PKGS=v4l-utils,gstreamer1.0-tools,gstreamer1.0-plugins-bad,gstreamer1.0-plugins-good,gstreamer1.0-plugins-base,gstreamer1.0-libav,ffmpeg

trixie_root() { echo "$DAEDALUS_CACHE/trixie-root"; }
kmods_dir() { echo "$DAEDALUS_CACHE/kmods/$(guest_kver)"; }
gst_registry() { echo "$DAEDALUS_CACHE/gst-registry.bin"; }
linux_source_tarball() { echo "/usr/src/linux-source-${KERNEL_SERIES}.tar.xz"; }
# Keyed on the linux-source package version, so an upgrade re-extracts.
checkpatch_dir() {
	local v
	v=$(dpkg-query -W -f='${Version}' "linux-source-${KERNEL_SERIES}" 2>/dev/null) || v=unknown
	echo "$DAEDALUS_CACHE/checkpatch/${v:-unknown}"
}

_build_trixie_root() {
	local final tmp
	final=$(trixie_root)
	[ -x "$final/usr/bin/v4l2-compliance" ] && return 0
	tmp=$(mktemp -d "$DAEDALUS_CACHE/trixie-root.partial.XXXXXX")
	log "debootstrap trixie client root (~3 min) into $tmp"
	# debootstrap exits non-zero when some of the extra packages fail to
	# configure (dconf-service in trixie); apt-get -f install below finishes
	# them. Only an unpacked root without apt is a real failure.
	debootstrap --variant=minbase --include="$TRIXIE_PKGS" trixie "$tmp" \
		http://deb.debian.org/debian >"$DAEDALUS_CACHE/debootstrap.log" 2>&1 ||
		log "debootstrap reported errors; completing with apt-get -f install"
	if [ ! -x "$tmp/usr/bin/apt-get" ]; then
		log "debootstrap failed, see $DAEDALUS_CACHE/debootstrap.log"
		rm -rf "$tmp"
		return 1
	fi
	# debootstrap leaves a few dependencies unconfigured.
	if ! DEBIAN_FRONTEND=noninteractive chroot "$tmp" apt-get -f install -y \
		>>"$DAEDALUS_CACHE/debootstrap.log" 2>&1; then
		log "apt-get -f install in the trixie root failed"
		rm -rf "$tmp"
		return 1
	fi
	chroot "$tmp" apt-get clean >/dev/null 2>&1 || true
	if [ ! -x "$tmp/usr/bin/v4l2-compliance" ]; then
		log "trixie root has no v4l2-compliance"
		rm -rf "$tmp"
		return 1
	fi
	# Mount points used by the guest scripts.
	mkdir -p "$tmp/work" "$tmp/results"
	rm -rf "$final"
	mv "$tmp" "$final"
	log "trixie root ready: $(chroot "$final" v4l2-compliance --version 2>/dev/null | head -1)"
}
ensure_trixie_root() { with_cache_lock _build_trixie_root; }

# Extra trixie packages in the client root, installed on first use rather than
# by debootstrap, so the root the other suites use stays as it was built.
# _install_in_root CHECK_PATH PACKAGE...: apt-get install unless CHECK_PATH
# exists in the root.
_install_in_root() {
	local r check=$1
	shift
	r=$(trixie_root)
	[ -e "$r$check" ] && return 0
	log "installing $* into the trixie root"
	{
		DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get update &&
			DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get install -y --no-install-recommends "$@" &&
			chroot "$r" apt-get clean
	} >"$DAEDALUS_CACHE/root-install.log" 2>&1 || {
		tail -20 "$DAEDALUS_CACHE/root-install.log" >&2
		return 1
	}
	[ -e "$r$check" ]
}
# fluster (Python only), for `compliance/run fluster`.
ensure_fluster() { with_cache_lock _install_in_root /usr/bin/fluster fluster; }
# GStreamer's Python bindings, for compliance/guest/gst-batch.py: one client
# process runs the suites' pipelines one after another, as a player does,
# instead of paying gst-launch's start-up (~4.5 s under TCG) per stream.
ensure_gst_python() {
	with_cache_lock _install_in_root /usr/lib/x86_64-linux-gnu/girepository-1.0/Gst-1.0.typelib \
		python3-gi gir1.2-gstreamer-1.0
}

# Extracts v4l2-mem2mem.c and visl/ from linux-source and builds both out of
# tree against the guest kernel's headers.
_build_kmods() {
	local final tmp src kd
	final=$(kmods_dir)
	[ -f "$final/v4l2-mem2mem/v4l2-mem2mem.ko" ] && [ -f "$final/visl/visl.ko" ] && return 0
	mkdir -p "$(dirname "$final")"
	tmp=$(mktemp -d "$final.partial.XXXXXX")
	kd=$(kdir)
	[ -d "$kd" ] || {
		log "no kernel build dir $kd"
		return 1
	}
	src=$(linux_source_tarball)
	[ -f "$src" ] || {
		log "missing $src"
		return 1
	}
	log "extracting v4l2-mem2mem.c and visl from $src"
	tar -xJf "$src" -C "$tmp" \
		"linux-source-${KERNEL_SERIES}/drivers/media/v4l2-core/v4l2-mem2mem.c" \
		"linux-source-${KERNEL_SERIES}/drivers/media/test-drivers/visl" || return 1
	mkdir -p "$tmp/v4l2-mem2mem" "$tmp/visl"
	mv "$tmp/linux-source-${KERNEL_SERIES}/drivers/media/v4l2-core/v4l2-mem2mem.c" "$tmp/v4l2-mem2mem/"
	mv "$tmp/linux-source-${KERNEL_SERIES}/drivers/media/test-drivers/visl/"* "$tmp/visl/"
	rm -rf "$tmp/linux-source-${KERNEL_SERIES}"
	echo 'obj-m := v4l2-mem2mem.o' >"$tmp/v4l2-mem2mem/Kbuild"
	log "building v4l2-mem2mem.ko"
	make -s -C "$kd" M="$tmp/v4l2-mem2mem" modules >"$tmp/v4l2-mem2mem/build.log" 2>&1 || {
		cat "$tmp/v4l2-mem2mem/build.log" >&2
		return 1
	}
	# visl's Makefile is the in-tree one (obj-$(CONFIG_VISL)); drive it with
	# our own Kbuild. Its trace headers name TRACE_INCLUDE_PATH relative to
	# the kernel tree; point it at "." and put visl's folder on the include
	# path so define_trace.h finds "./visl-trace-*.h" there.
	rm -f "$tmp/visl/Makefile"
	sed -i 's|^#define TRACE_INCLUDE_PATH .*|#define TRACE_INCLUDE_PATH .|' "$tmp"/visl/visl-trace-*.h
	cat >"$tmp/visl/Kbuild" <<'EOF'
visl-y := visl-core.o visl-video.o visl-dec.o visl-trace-points.o
obj-m := visl.o
ccflags-y += -I$(src)
EOF
	log "building visl.ko"
	make -s -C "$kd" M="$tmp/visl" KBUILD_EXTRA_SYMBOLS="$tmp/v4l2-mem2mem/Module.symvers" \
		modules >"$tmp/visl/build.log" 2>&1 || {
		cat "$tmp/visl/build.log" >&2
		return 1
	}
	rm -rf "$final"
	mv "$tmp" "$final"
	log "kmods ready in $final"
}
ensure_kmods() { with_cache_lock _build_kmods; }

# Extracts scripts/checkpatch.pl with the spelling.txt and
# const_structs.checkpatch it reads from beside itself.
_extract_checkpatch() {
	local final tmp src f
	final=$(checkpatch_dir)
	[ -x "$final/scripts/checkpatch.pl" ] && return 0
	src=$(linux_source_tarball)
	[ -f "$src" ] || {
		log "missing $src (scripts/setup-host --vm installs it)"
		return 1
	}
	mkdir -p "$(dirname "$final")"
	tmp=$(mktemp -d "$final.partial.XXXXXX")
	log "extracting checkpatch.pl from $src"
	tar -xJf "$src" -C "$tmp" --strip-components=1 \
		"linux-source-${KERNEL_SERIES}/scripts/checkpatch.pl" \
		"linux-source-${KERNEL_SERIES}/scripts/spelling.txt" \
		"linux-source-${KERNEL_SERIES}/scripts/const_structs.checkpatch" || {
		rm -rf "$tmp"
		return 1
	}
	for f in checkpatch.pl spelling.txt const_structs.checkpatch; do
		[ -f "$tmp/scripts/$f" ] || {
			log "linux-source has no scripts/$f"
			rm -rf "$tmp"
			return 1
		}
	done
	rm -rf "$final"
	mv "$tmp" "$final"
}
# Prints the path of checkpatch.pl.
ensure_checkpatch() {
	with_cache_lock _extract_checkpatch || return 1
	echo "$(checkpatch_dir)/scripts/checkpatch.pl"
}

# The trixie build root (scripts/dkms-check, --kernel newest): a copy of the
# client root with dkms, gcc-14, and the headers and linux-source of the
# newest Debian kernel (DKMS_NEWEST_KVER from DKMS_NEWEST_SUITE), whose
# kbuild tools need trixie's libc.
trixie_build_root() { echo "$DAEDALUS_CACHE/trixie-build-root"; }
_build_trixie_build_root() {
	local r final series
	final=$(trixie_build_root)
	series=$(echo "$DKMS_NEWEST_KVER" | cut -d. -f1-2)
	if [ -d "$final/usr/src/linux-headers-$DKMS_NEWEST_KVER" ] &&
		[ -f "$final/usr/src/linux-source-$series.tar.xz" ]; then
		return 0
	fi
	if [ ! -x "$final/usr/sbin/dkms" ]; then
		r=$(mktemp -d "$DAEDALUS_CACHE/trixie-build-root.partial.XXXXXX")
		log "copying the trixie client root into $r"
		cp -a --reflink=auto "$(trixie_root)/." "$r/" || return 1
		rm -rf "$final"
		mv "$r" "$final"
	fi
	echo "deb http://deb.debian.org/debian $DKMS_NEWEST_SUITE main" \
		>"$final/etc/apt/sources.list.d/$DKMS_NEWEST_SUITE.list"
	log "installing dkms, gcc-14, linux-headers-$DKMS_NEWEST_KVER, linux-source-$series into $final"
	{
		DEBIAN_FRONTEND=noninteractive chroot "$final" apt-get update &&
			DEBIAN_FRONTEND=noninteractive chroot "$final" apt-get install -y --no-install-recommends \
				dkms gcc-14 make kmod xz-utils &&
			DEBIAN_FRONTEND=noninteractive chroot "$final" apt-get install -y --no-install-recommends \
				-t "$DKMS_NEWEST_SUITE" "linux-headers-$DKMS_NEWEST_KVER" "linux-source-$series" &&
			chroot "$final" apt-get clean
	} >"$DAEDALUS_CACHE/trixie-build-root.log" 2>&1 || {
		tail -10 "$DAEDALUS_CACHE/trixie-build-root.log" >&2
		return 1
	}
}
ensure_trixie_build_root() { ensure_trixie_root && with_cache_lock _build_trixie_build_root; }
# in_trixie_build_root CMD...: CMD in the trixie build root, with /proc
# (objtool reads it) in a private mount namespace.
in_trixie_build_root() {
	unshare -m sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$(trixie_build_root)" \
		/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp "$@"
}
