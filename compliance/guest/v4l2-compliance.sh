#!/bin/bash
# Guest side of `compliance/run v4l2-compliance`: the daedalus module under
# v4l2-compliance 1.30.1 (trixie root), vivid as DMABUF exporter:
#   1. daemon attached, default OUTPUT format
#   2. daemon attached, once per coded format (S264 S265 VP8F VP9F AV1F MG2S),
#      chosen through setfmt-preload.so (v4l2-compliance has no such option)
#   3. no daemon attached: jobs must fail cleanly and nothing may hang
# Each run passes iff 0 failed, 0 warnings, >= 68 tests. Then dmesg.
# Optional arguments: a subset of the formats to run (default: all six).
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"

FORMATS=${*:-S264 S265 VP8F VP9F AV1F MG2S}
MIN_TESTS=68
TMO=600
# Without a daemon every job fails at once or after job_timeout_ms: a run that
# takes longer than this is hanging.
TMO_NO_DAEMON=300

setup_chroot || { fail "setup: chroot mounts"; exit 1; }
load_base_modules || { fail "setup: load mem2mem"; exit 1; }
load_daedalus || { fail "setup: load daedalus"; exit 1; }
setup_vivid || { fail "setup: vivid exporter"; exit 1; }
V=$DAEDALUS_VIDEO
M=$DAEDALUS_MEDIA


if start_daemon; then
	dmesg_mark "begin compliance with daemon"
	run_compliance "daemon attached: v4l2-compliance -m $M -s -e $VIVID" $MIN_TESTS $TMO \
		-m "$M" -s -e "$VIVID"
	for f in $FORMATS; do
		dmesg_mark "begin compliance $f"
		COMPLIANCE_ENV=(LD_PRELOAD=/results/bin/setfmt-preload.so DAEDALUS_SETFMT_DEV="$V"
			DAEDALUS_SETFMT_FOURCC="$f")
		run_compliance "daemon attached, OUTPUT $f: v4l2-compliance -m $M -s -e $VIVID" \
			$MIN_TESTS $TMO -m "$M" -s -e "$VIVID"
		COMPLIANCE_ENV=()
	done
	check "daemon still alive and stops on SIGTERM" stop_daemon
else
	fail "daemon attached: v4l2-compliance" "daemon did not attach"
	for f in $FORMATS; do
		fail "daemon attached, OUTPUT $f: v4l2-compliance" "daemon did not attach"
	done
fi

dmesg_mark "begin compliance without daemon"
run_compliance "no daemon: v4l2-compliance -m $M -s -e $VIVID" $MIN_TESTS $TMO_NO_DAEMON \
	-m "$M" -s -e "$VIVID"

check_dmesg "dmesg clean (no BUG/WARNING/oops/lockdep/hung task)"
