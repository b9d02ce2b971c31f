#!/bin/bash
# Guest side of `compliance/run install`: what scripts/install put into the
# tree $RESULTS/root on the host (binaries, the daedalus user, the systemd
# unit, the udev rules, the module built by DKMS for this kernel), put to
# work here as on a real machine: the user and the rules go into this
# guest's /etc (a writable overlay), the DKMS-built v4l2-mem2mem and daedalus
# are loaded, udev must give the nodes their owners, modes and Chromium's
# names, the daemon runs as the unit starts it (its user, ambient
# CAP_SYS_ADMIN, its ExecStart) and a client in the video group decodes
# through /dev/media-dec0 bit-exactly.
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=/dev/null
. "$RESULTS/streams.env"

R=$RESULTS/root
BIN=$R/usr/local/bin
UNIT=$R/etc/systemd/system/daedalusd.service
RULES=$R/etc/udev/rules.d/70-daedalus.rules
MODDIR=$(find "$R/var/lib/dkms/daedalus" -path "*/$KVER/*/module" -type d 2>/dev/null | head -1)

# 1. The tree.
files_ok() {
	local f ok=0
	for f in "$BIN/daedalusd" "$BIN/daedalus-decode"; do
		[ -x "$f" ] || { info "missing $f"; ok=1; }
	done
	for f in "$UNIT" "$RULES" "$R"/usr/src/daedalus-*/dkms.conf; do
		[ -f "$f" ] || { info "missing $f"; ok=1; }
	done
	return "$ok"
}
check "scripts/install: binaries, unit, udev rules and the DKMS source in place" files_ok

user_ok() {
	local line uid shell
	line=$(grep '^daedalus:' "$R/etc/passwd") || return 1
	uid=$(echo "$line" | cut -d: -f3)
	shell=$(echo "$line" | cut -d: -f7)
	info "daedalus: uid $uid, shell $shell, group $(grep '^daedalus:' "$R/etc/group" | cut -d: -f3)"
	[ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ]
}
check "scripts/install: system user daedalus, no login" user_ok

modules_ok() {
	[ -n "$MODDIR" ] || return 1
	info "DKMS modules for $KVER: $(ls "$MODDIR" | tr '\n' ' ')"
	ls "$MODDIR"/daedalus.ko* "$MODDIR"/v4l2-mem2mem.ko* >/dev/null 2>&1
}
check "scripts/install: DKMS built daedalus and v4l2-mem2mem for $KVER" modules_ok

# The unit as systemd reads it (ExecStart pointed at the tree's binary).
unit_ok() {
	sed "s|/usr/local/bin/|$BIN/|" "$UNIT" >/tmp/daedalusd.service
	systemd-analyze verify /tmp/daedalusd.service >"$RESULTS/unit-verify.log" 2>&1
	local rc=$?
	sed 's/^/    /' "$RESULTS/unit-verify.log" | head -5
	return "$rc"
}
check "systemd-analyze verify daedalusd.service" unit_ok

# 2. On this machine: user, rules, modules.
cp "$R/etc/passwd" /etc/passwd && cp "$R/etc/group" /etc/group &&
	cp "$RULES" /etc/udev/rules.d/ && udevadm control --reload || info "could not put the user and the rules in place"
modprobe -a videodev videobuf2-vmalloc videobuf2-v4l2 videobuf2-memops mc
if insmod "$(ls "$MODDIR"/v4l2-mem2mem.ko*)" && insmod "$(ls "$MODDIR"/daedalus.ko*)" job_timeout_ms="$JOB_TIMEOUT_MS"; then
	pass "the DKMS-built v4l2-mem2mem and daedalus load"
else
	fail "the DKMS-built v4l2-mem2mem and daedalus load"
fi
udevadm settle 2>/dev/null || sleep 2
DAEDALUS_VIDEO=$(video_node_named daedalus) || DAEDALUS_VIDEO=
node_is() { # NODE WANT ("owner:group mode")
	local got
	got=$(stat -L -c '%U:%G %a' "$1" 2>/dev/null)
	info "$1: ${got:-missing}$([ -L "$1" ] && echo " -> $(readlink "$1")")"
	[ "$got" = "$2" ]
}
check "udev: /dev/daedalus is the daemon user's alone (daedalus:root 600)" node_is /dev/daedalus "daedalus:root 600"
check "udev: the video node is the video group's (root:video 660)" node_is "${DAEDALUS_VIDEO:-/dev/none}" "root:video 660"
links_ok() {
	local v m
	v=$(readlink -f /dev/video-dec0) m=$(readlink -f /dev/media-dec0)
	node_is /dev/video-dec0 "root:video 660" && node_is /dev/media-dec0 "root:video 660" &&
		[ "$v" = "$DAEDALUS_VIDEO" ] && [ "$m" = "$(media_node_of "$DAEDALUS_VIDEO")" ]
}
check "udev: Chromium's names /dev/video-dec0 and /dev/media-dec0 are the decoder's nodes" links_ok

# 3. The daemon as the unit starts it: its user, its ambient capability, its
#    ExecStart (the binary from the tree).
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
unit_user=$(sed -n 's/^User=//p' "$UNIT")
unit_caps=$(sed -n 's/^AmbientCapabilities=CAP_//p' "$UNIT" | tr '[:upper:]' '[:lower:]')
read -r -a argv <<<"${exec_start/\/usr\/local\/bin\//$BIN/}"
uid=$(id -u "$unit_user") gid=$(id -g "$unit_user")
info "ExecStart=$exec_start (User=$unit_user: $uid/$gid, ambient $unit_caps)"
RUST_LOG=info setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=+"$unit_caps" \
	--ambient-caps=+"$unit_caps" "${argv[@]}" >>"$RESULTS/daemon.log" 2>&1 &
DAEMON_PID=$!
attached() {
	for _ in $(seq 1 50); do
		find "/proc/$DAEMON_PID/fd" -lname '*/dev/daedalus*' 2>/dev/null | grep -q . && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
if attached; then
	pass "the daemon attaches as the unit starts it ($(awk '$1 == "Uid:" { print "uid " $2 }' "/proc/$DAEMON_PID/status"))"
else
	fail "the daemon attaches as the unit starts it" "$(tail -2 "$RESULTS/daemon.log" | tr '\n' ' ')"
fi

# 4. A client of the video group (not root) decodes through Chromium's name.
read -r md5 file < <(grep ' x264-64x64.264$' "$STREAMS_DIR/md5.txt")
video_gid=$(getent group video | cut -d: -f3)
got=$(setpriv --reuid=65534 --regid=65534 --groups="$video_gid" \
	"$BIN/daedalus-decode" --md5 "$STREAMS_DIR/$file" --device /dev/media-dec0 2>"$RESULTS/decode.err" | tail -1)
if [ "$got" = "$md5" ]; then
	pass "an unprivileged client of the video group decodes ${file%.264} through /dev/media-dec0: MD5 = host FFmpeg's"
else
	fail "an unprivileged client decodes through /dev/media-dec0" "MD5 ${got:-none}, want $md5: $(tail -1 "$RESULTS/decode.err")"
fi

check "the daemon stops on SIGTERM" stop_daemon
rmmod daedalus v4l2-mem2mem || info "rmmod failed"
check_dmesg "dmesg clean (no BUG/WARNING/oops/lockdep/hung task)"
