# shellcheck shell=bash
# The newest kernel Debian's archive offers (scripts/versions.sh:
# DKMS_NEWEST_KVER from DKMS_NEWEST_SUITE) as a guest: `compliance/run SUITE
# --kernel newest`. Sourced by compliance/run after common.sh and cache.sh.
#
# - The image comes out of linux-binary-KVER (unpacked into the cache), the
#   modules from linux-modules-KVER (and linux-base-KVER), installed on this
#   host with dpkg, since the guest's root is the host's and virtme-ng loads
#   the guest's modules from /lib/modules/KVER.
# - The kernel's tools need trixie's libc and gcc-14, so v4l2-mem2mem (from
#   that kernel's linux-source) and the module are built in the trixie build
#   root of scripts/dkms-check, with the headers from the archive.

newest_dir() { echo "$DAEDALUS_CACHE/newest-kernel"; }
# Outside any lib/modules/KVER folder: vng takes the folder of an image it
# finds there for that kernel's modules.
newest_kernel_image() { echo "$(newest_dir)/vmlinuz-$DKMS_NEWEST_KVER"; }
newest_kmods_dir() { echo "$(newest_dir)/kmods"; }

_ensure_newest_kernel() {
	local d pool=http://deb.debian.org/debian/pool/main/l v=${DKMS_NEWEST_VERSION:-} pkg f url r series
	d=$(newest_dir)
	mkdir -p "$d"
	_build_trixie_build_root || return 1 # (under the cache lock already)
	r=$(trixie_build_root)
	series=$(echo "$DKMS_NEWEST_KVER" | cut -d. -f1-2)
	# The package version the build root's apt saw for the headers.
	[ -n "$v" ] || v=$(chroot "$r" dpkg-query -W -f='${Version}' "linux-headers-$DKMS_NEWEST_KVER")
	for pkg in "linux/linux-base-$DKMS_NEWEST_KVER" "linux/linux-modules-$DKMS_NEWEST_KVER" \
		"linux-signed-amd64/linux-binary-$DKMS_NEWEST_KVER"; do
		f=${pkg#*/}_${v}_amd64.deb
		[ -f "$d/$f" ] && continue
		log "downloading $f"
		url=$pool/${pkg%%/*}/$f # pool/main/l/SOURCE/BINARY_VERSION_amd64.deb
		curl -sf -m 600 -o "$d/$f.part" "$url" && mv "$d/$f.part" "$d/$f" || {
			log "could not download $url"
			return 1
		}
	done
	if [ ! -f "$(newest_kernel_image)" ]; then
		rm -rf "${d:?}/bin"
		dpkg-deb -x "$d/linux-binary-${DKMS_NEWEST_KVER}_${v}_amd64.deb" "$d/bin" &&
			cp "$d/bin/usr/lib/modules/$DKMS_NEWEST_KVER/vmlinuz" "$(newest_kernel_image)" || return 1
		rm -rf "${d:?}/bin"
	fi
	if [ ! -d "/lib/modules/$DKMS_NEWEST_KVER/kernel" ]; then
		log "installing linux-modules-$DKMS_NEWEST_KVER on this host (the guest's modules)"
		dpkg -i "$d/linux-base-${DKMS_NEWEST_KVER}_${v}_amd64.deb" \
			"$d/linux-modules-${DKMS_NEWEST_KVER}_${v}_amd64.deb" >"$d/dpkg.log" 2>&1 || {
			tail -5 "$d/dpkg.log" >&2
			return 1
		}
	fi
	[ -f "$(newest_kmods_dir)/v4l2-mem2mem/v4l2-mem2mem.ko" ] && return 0
	log "building v4l2-mem2mem for $DKMS_NEWEST_KVER (trixie build root)"
	rm -rf "$r/tmp/m2m"
	mkdir -p "$r/tmp/m2m"
	tar -xJOf "$r/usr/src/linux-source-$series.tar.xz" \
		"linux-source-$series/drivers/media/v4l2-core/v4l2-mem2mem.c" >"$r/tmp/m2m/v4l2-mem2mem.c" &&
		echo 'obj-m := v4l2-mem2mem.o' >"$r/tmp/m2m/Kbuild" || return 1
	in_trixie_build_root make -C "/usr/src/linux-headers-$DKMS_NEWEST_KVER" M=/tmp/m2m modules \
		>"$d/m2m-build.log" 2>&1 || {
		tail -20 "$d/m2m-build.log" >&2
		return 1
	}
	mkdir -p "$(newest_kmods_dir)/v4l2-mem2mem"
	cp "$r/tmp/m2m/v4l2-mem2mem.ko" "$r/tmp/m2m/Module.symvers" "$(newest_kmods_dir)/v4l2-mem2mem/"
	rm -rf "$r/tmp/m2m"
}
ensure_newest_kernel() { with_cache_lock _ensure_newest_kernel; }

# newest_build_module RESULTS: kmod/ built for the newest kernel, as
# build_module does for the pinned one (warnings are errors); prints the .ko.
newest_build_module() {
	local results=$1 r dst out
	r=$(trixie_build_root)
	dst=$r/tmp/kmod-$$
	rm -rf "$dst"
	mkdir -p "$dst"
	cp -a "$DAEDALUS_ROOT/kmod/." "$dst/"
	find "$dst" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \) -delete
	cp "$(newest_kmods_dir)/v4l2-mem2mem/Module.symvers" "$dst/m2m.symvers"
	log "building kmod for $DKMS_NEWEST_KVER (trixie build root)"
	out="$results/kmod-build.log"
	in_trixie_build_root make -C "/tmp/kmod-$$" KDIR="/usr/src/linux-headers-$DKMS_NEWEST_KVER" \
		KBUILD_EXTRA_SYMBOLS="/tmp/kmod-$$/m2m.symvers" >"$out" 2>&1
	if ! [ -f "$dst/daedalus.ko" ] || grep -Eiq 'warning:|WARNING:|error:' "$out"; then
		cat "$out" >&2
		rm -rf "$dst"
		log "module build for $DKMS_NEWEST_KVER failed or warned"
		return 1
	fi
	mkdir -p "$results/kmod-build/kmod"
	cp "$dst/daedalus.ko" "$results/kmod-build/kmod/"
	rm -rf "$dst"
	echo "$results/kmod-build/kmod/daedalus.ko"
}
