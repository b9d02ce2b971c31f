# shellcheck shell=bash
# DKMS helpers shared by scripts/install and scripts/dkms-check. Sourced.

# dkms_version KMOD_DIR: PACKAGE_VERSION of KMOD_DIR/dkms.conf.
dkms_version() {
	sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$1/dkms.conf"
}

# dkms_stage KMOD_DIR DEST: copies what DKMS builds from (the sources,
# Kbuild, Makefile, dkms.conf, dkms-mem2mem) to DEST/daedalus-VERSION, the
# layout of /usr/src; prints that directory.
dkms_stage() {
	local kmod=$1 dest v
	v=$(dkms_version "$kmod")
	[ -n "$v" ] || return 1
	dest=$2/daedalus-$v
	rm -rf "$dest"
	mkdir -p "$dest/include/uapi"
	cp -p "$kmod"/Kbuild "$kmod"/Makefile "$kmod"/*.c "$kmod"/*.h "$kmod"/dkms.conf \
		"$kmod"/dkms-mem2mem "$dest/" &&
		cp -p "$kmod"/include/uapi/*.h "$dest/include/uapi/" &&
		echo "$dest"
}
