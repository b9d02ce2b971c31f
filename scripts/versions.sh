# shellcheck shell=bash
# The one place where pinned versions live.
KERNEL_SERIES=6.12
# Guest kernel: image, headers and linux-source must be the same version.
KERNEL_PIN=6.12.117
# shellcheck disable=SC2034 # read by scripts/setup-host, which sources this
VIRTME_NG_VERSION=1.42

# Prints the guest kernel's uname -r (e.g. 6.12.117+deb12-amd64). Falls back to the
# newest 6.12 that linux-source-6.12 offers if the pinned one is gone from the archive.
daedalus_guest_kver() {
	local want="${KERNEL_PIN}+deb12-amd64"
	if [ -d "/lib/modules/$want/build" ] || apt-cache show "linux-headers-$want" >/dev/null 2>&1; then
		echo "$want"
		return
	fi
	local cand
	cand=$(apt-cache policy "linux-source-${KERNEL_SERIES}" | awk '/Candidate:/ {print $2}')
	echo "${cand%%-*}+deb12-amd64"
}

# The newest kernel Debian's archive offers, for scripts/dkms-check: its
# headers and linux-source (for v4l2-mem2mem) come from this suite, into a
# trixie build root (its kbuild tools need trixie's libc and gcc-14).
# shellcheck disable=SC2034 # read by scripts/dkms-check
DKMS_NEWEST_KVER=7.3.4+deb13-amd64
# shellcheck disable=SC2034
DKMS_NEWEST_SUITE=trixie-backports
