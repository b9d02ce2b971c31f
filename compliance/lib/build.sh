# shellcheck shell=bash
# Builds of the things under test. Each prints the artifact's path on stdout
# and logs to stderr. Sourced, not executed.

# build_module RESULTS: builds kmod/ against the guest kernel (the module
# helper's contract) in a snapshot copy under RESULTS, so a build in progress
# in kmod/ is never disturbed; fails on any compiler or modpost warning.
build_module() {
	local results=$1 src="$DAEDALUS_ROOT/kmod" dst out symvers
	[ -f "$src/Makefile" ] || {
		log "kmod/Makefile does not exist yet"
		return 1
	}
	symvers="$(kmods_dir)/v4l2-mem2mem/Module.symvers"
	dst="$results/kmod-build"
	rm -rf "$dst"
	mkdir -p "$dst"
	cp -a "$src" "$dst/"
	find "$dst/kmod" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name Module.symvers -o -name modules.order \) -delete
	log "building kmod (snapshot in $dst/kmod)"
	out="$results/kmod-build.log"
	if ! make -C "$dst/kmod" KDIR="$(kdir)" KBUILD_EXTRA_SYMBOLS="$symvers" >"$out" 2>&1; then
		cat "$out" >&2
		log "module build failed"
		return 1
	fi
	if grep -Eiq 'warning:|WARNING:' "$out"; then
		grep -Ei 'warning:' "$out" >&2
		log "module build has warnings (treated as errors)"
		return 1
	fi
	[ -f "$dst/kmod/daedalus.ko" ] || {
		log "module build made no daedalus.ko"
		return 1
	}
	echo "$dst/kmod/daedalus.ko"
}

# build_kdelay RESULTS: compliance/tools/kdelay (the kprobe delay module of
# kmod-stress, test-only) against the guest kernel, warnings are errors.
build_kdelay() {
	local results=$1 dst="$1/kdelay-build" out="$1/kdelay-build.log"
	rm -rf "$dst"
	mkdir -p "$dst"
	cp "$COMPLIANCE_DIR/tools/kdelay/kdelay.c" "$COMPLIANCE_DIR/tools/kdelay/Kbuild" "$dst/"
	if ! make -C "$(kdir)" M="$dst" modules >"$out" 2>&1 || grep -Eiq 'warning:' "$out"; then
		cat "$out" >&2
		log "kdelay build failed or warned"
		return 1
	fi
	echo "$dst/kdelay.ko"
}

# release_bin RESULTS LOG NAME: the release build of both binaries the
# suites run, daedalusd (daemon) and daedalus-decode (request-api), in one
# cargo command whichever a suite asks for first, then the path of NAME. One
# package selection for both: built apart, each got its own feature set of
# the shared dependencies (bindgen, nix, log), so the second build compiled
# those again; now the second call finds everything built.
release_bin() {
	local results=$1 log=$2 name=$3 bin
	log "cargo build --release -p daemon -p request-api (daedalusd, daedalus-decode)"
	if ! (cd "$DAEDALUS_ROOT" && cargo build --release -p daemon -p request-api \
		--bin daedalusd --bin daedalus-decode) >"$results/$log" 2>&1; then
		tail -30 "$results/$log" >&2
		log "$name build failed"
		return 1
	fi
	bin="${CARGO_TARGET_DIR:-$DAEDALUS_ROOT/target}/release/$name"
	[ -x "$bin" ] || {
		log "no $bin after the build"
		return 1
	}
	echo "$bin"
}

# build_daemon RESULTS: daedalusd (release_bin), unless DAEDALUS_DAEMON names
# a binary to use.
build_daemon() {
	local results=$1
	if [ -n "${DAEDALUS_DAEMON:-}" ]; then
		[ -x "$DAEDALUS_DAEMON" ] || {
			log "DAEDALUS_DAEMON=$DAEDALUS_DAEMON is not executable"
			return 1
		}
		echo "$DAEDALUS_DAEMON"
		return 0
	fi
	release_bin "$results" daemon-build.log daedalusd
}

# build_decode RESULTS: daedalus-decode (release_bin).
build_decode() {
	release_bin "$1" decode-build.log daedalus-decode
}

# build_stress RESULTS: the C stress client, static, warnings are errors.
build_stress() {
	local results=$1
	mkdir -p "$results/bin"
	if ! gcc -O2 -Wall -Wextra -Werror -static -o "$results/bin/stress" \
		"$COMPLIANCE_DIR/tools/stress.c" "$COMPLIANCE_DIR/tools/stress-hostile.c" \
		"$COMPLIANCE_DIR/tools/stress-inject.c" -lpthread \
		>"$results/stress-build.log" 2>&1; then
		cat "$results/stress-build.log" >&2
		return 1
	fi
	echo "$results/bin/stress"
}

# build_setfmt RESULTS: the LD_PRELOAD shim that picks the OUTPUT format for
# v4l2-compliance (dynamic: it is loaded into the trixie root's binaries; built
# against the host's older glibc, which the newer one stays compatible with).
build_setfmt() {
	local results=$1
	mkdir -p "$results/bin"
	if ! gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$results/bin/setfmt-preload.so" \
		"$COMPLIANCE_DIR/tools/setfmt-preload.c" >"$results/setfmt-build.log" 2>&1; then
		cat "$results/setfmt-build.log" >&2
		return 1
	fi
	echo "$results/bin/setfmt-preload.so"
}

# build_ccdec RESULTS: ccdec, the example decoder of cros-codecs 0.0.6
# (Chromium's Rust codec stack, from the cargo registry), with its V4L2
# stateless backend (--features v4l2: gbm and drm from Debian), cached in
# $DAEDALUS_CACHE/ccdec; and the two shims it needs in this VM
# (tools/ccdec/): vgem-gbm (libgbm.so.1) and capture-fmt.so. Prints the
# directory holding ccdec, libgbm.so.1 and capture-fmt.so.
#
# One build fix is applied to the crate, and said: with the v4l2 feature,
# src/image_processing.rs imports std::arch::aarch64 (its MM21 detiler is
# NEON code) whatever the target, so 0.0.6 does not compile on x86_64; those
# items are limited to aarch64. Nothing else of ccdec is changed.
build_ccdec() {
	local results=$1 src cache=$DAEDALUS_CACHE/ccdec out=$1/bin/ccdec-dir p
	mkdir -p "$out" "$cache"
	if [ ! -x "$cache/ccdec" ]; then
		for p in libgbm-dev libdrm-dev; do
			dpkg -s "$p" >/dev/null 2>&1 ||
				DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$p" \
					>>"$results/ccdec-build.log" 2>&1 || return 1
		done
		src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cros-codecs-0.0.6 2>/dev/null | head -1)
		if [ -z "$src" ]; then
			(cd "$DAEDALUS_ROOT" && cargo fetch) >>"$results/ccdec-build.log" 2>&1
			src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cros-codecs-0.0.6 2>/dev/null | head -1)
		fi
		[ -n "$src" ] || { log "no cros-codecs 0.0.6 in the cargo registry"; return 1; }
		rm -rf "$cache/src"
		cp -a "$src" "$cache/src"
		log "ccdec: limiting the aarch64-only items of cros-codecs 0.0.6's image_processing.rs to aarch64"
		sed -i 's/#\[cfg(feature = "v4l2")\]/#[cfg(all(feature = "v4l2", target_arch = "aarch64"))]/' \
			"$cache/src/src/image_processing.rs"
		log "cargo build --release --example ccdec --features v4l2 (cros-codecs 0.0.6)"
		(cd "$cache/src" && cargo build --release --example ccdec --features v4l2 --target-dir "$cache/target") \
			>>"$results/ccdec-build.log" 2>&1 || {
			tail -20 "$results/ccdec-build.log" >&2
			return 1
		}
		cp "$cache/target/release/examples/ccdec" "$cache/ccdec"
	fi
	cp "$cache/ccdec" "$out/" &&
		gcc -O2 -Wall -Wextra -Werror -shared -fPIC -Wl,-soname,libgbm.so.1 -o "$out/libgbm.so.1" \
			"$COMPLIANCE_DIR/tools/ccdec/vgem-gbm.c" >>"$results/ccdec-build.log" 2>&1 &&
		gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o "$out/capture-fmt.so" \
			"$COMPLIANCE_DIR/tools/ccdec/capture-fmt.c" -ldl >>"$results/ccdec-build.log" 2>&1 || {
		tail -20 "$results/ccdec-build.log" >&2
		return 1
	}
	echo "$out"
}
