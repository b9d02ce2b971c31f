# shellcheck shell=bash
# The debug guest kernel for `compliance/run SUITE --kernel debug`: the pinned
# linux-source (same version as the stock guest) with KASAN, lockdep,
# kmemleak, failslab and fail_page_alloc (compliance/lib/debug-kernel.config
# on top of virtme-ng's minimal config), the media stack as modules.
# Built once into $DAEDALUS_CACHE/debug-kernel/KEY (KEY: linux-source
# version + the config fragment's hash) and renamed into place when complete.
# The whole object tree is kept: vng boots it as a kernel tree (its modules
# come from there) and the daedalus module builds against it. Sourced.

debug_kernel_config() { echo "$COMPLIANCE_DIR/lib/debug-kernel.config"; }

debug_kernel_dir() {
	local v h
	v=$(dpkg-query -W -f='${Version}' "linux-source-${KERNEL_SERIES}" 2>/dev/null) || v=unknown
	h=$(sha256sum "$(debug_kernel_config)" | cut -c1-12)
	echo "$DAEDALUS_CACHE/debug-kernel/${v:-unknown}-$h"
}

# The tree vng boots and the module builds against.
debug_kernel_tree() { echo "$(debug_kernel_dir)/linux"; }

_build_debug_kernel() {
	local final tmp src t0 log
	final=$(debug_kernel_dir)
	[ -f "$final/linux/arch/x86/boot/bzImage" ] && [ -f "$final/kmods/v4l2-mem2mem/v4l2-mem2mem.ko" ] &&
		return 0
	src=$(linux_source_tarball)
	[ -f "$src" ] || {
		log "no $src (scripts/setup-host --vm installs it)"
		return 1
	}
	mkdir -p "$DAEDALUS_CACHE/debug-kernel"
	tmp=$(mktemp -d "$DAEDALUS_CACHE/debug-kernel/partial.XXXXXX")
	log="$DAEDALUS_CACHE/debug-kernel/build.log"
	t0=$(date +%s)
	log "debug kernel: extracting $src (log: $log)"
	if ! tar -xJf "$src" -C "$tmp" >"$log" 2>&1; then
		rm -rf "$tmp"
		return 1
	fi
	mv "$tmp/linux-source-${KERNEL_SERIES}" "$tmp/linux"
	log "debug kernel: vng --kconfig + $(basename "$(debug_kernel_config)"), make -j$(nproc) bzImage modules"
	if ! (cd "$tmp/linux" &&
		vng --kconfig --config "$(debug_kernel_config)" &&
		make olddefconfig &&
		./scripts/config --set-str LOCALVERSION -daedalus-debug &&
		make olddefconfig &&
		make -j"$(nproc)" bzImage modules) >>"$log" 2>&1; then
		tail -20 "$log" >&2
		log "debug kernel build failed"
		rm -rf "$tmp"
		return 1
	fi
	# Every option the fragment asks for must have survived olddefconfig.
	local line missing=0
	while read -r line; do
		case $line in '' | '#'*) continue ;; esac
		case $line in
		*=n) ! grep -Eq "^${line%=n}=[ym]" "$tmp/linux/.config" || {
			log "debug kernel: $line did not stick"
			missing=1
		} ;;
		*) grep -qx "$line" "$tmp/linux/.config" || {
			log "debug kernel: $line did not stick ($(grep "^${line%%=*}=" "$tmp/linux/.config" || echo unset))"
			missing=1
		} ;;
		esac
	done <"$(debug_kernel_config)"
	if [ "$missing" = 1 ]; then
		rm -rf "$tmp"
		return 1
	fi
	# What the guest scripts insmod (kmods_dir layout): the tree's own. Its
	# symbols are in the tree's Module.symvers already, so the extra
	# symbols file build_module passes is empty.
	mkdir -p "$tmp/kmods/v4l2-mem2mem" "$tmp/kmods/visl"
	cp "$tmp/linux/drivers/media/v4l2-core/v4l2-mem2mem.ko" "$tmp/kmods/v4l2-mem2mem/" &&
		: >"$tmp/kmods/v4l2-mem2mem/Module.symvers" &&
		cp "$tmp/linux/drivers/media/test-drivers/visl/visl.ko" "$tmp/kmods/visl/" || {
		log "debug kernel: v4l2-mem2mem.ko or visl.ko missing from the tree"
		rm -rf "$tmp"
		return 1
	}
	rm -rf "$final"
	mv "$tmp" "$final"
	log "debug kernel ready in $(($(date +%s) - t0)) s: $final ($(du -sh "$final" | cut -f1))"
}
ensure_debug_kernel() { with_cache_lock _build_debug_kernel; }
