#!/bin/bash
# Guest side of `compliance/run visl-compliance`: the harness self-test.
# visl (built from linux-source) must pass v4l2-compliance 1.30.1 with
# vivid as DMABUF exporter: 68/68, 0 warnings. Arguments (optional): coded
# formats (e.g. VP9F) to run again with setfmt-preload.so, to check the shim
# that the v4l2-compliance suite uses per format.
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"

setup_chroot || { fail "setup: chroot mounts"; exit 1; }
load_base_modules && modprobe v4l2-tpg && insmod "$KMODS/visl/visl.ko" ||
	{ fail "setup: load visl"; exit 1; }
udevadm settle 2>/dev/null || sleep 1
setup_vivid || { fail "setup: vivid exporter"; exit 1; }
VISL=$(video_node_named '^visl') || { fail "setup: visl video node"; exit 1; }
VISL_MEDIA=$(media_node_of "$VISL") || { fail "setup: visl media node"; exit 1; }
info "visl: $VISL $VISL_MEDIA"

run_compliance "visl: v4l2-compliance -m $VISL_MEDIA -s -e $VIVID" 68 300 \
	-m "$VISL_MEDIA" -s -e "$VIVID"
for f in "$@"; do
	COMPLIANCE_ENV=(LD_PRELOAD=/results/bin/setfmt-preload.so DAEDALUS_SETFMT_DEV="$VISL"
		DAEDALUS_SETFMT_FOURCC="$f")
	run_compliance "visl, OUTPUT $f: v4l2-compliance -m $VISL_MEDIA -s -e $VIVID" 68 300 \
		-m "$VISL_MEDIA" -s -e "$VIVID"
	COMPLIANCE_ENV=()
done
check_dmesg "visl: dmesg clean"
