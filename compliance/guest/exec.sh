#!/bin/bash
# Guest side of `compliance/run exec 'CMD'` and `compliance/run shell`:
# loads mem2mem (and daedalus when it was built), mounts the trixie client
# root, then runs CMD with bash (or an interactive shell). The variables of
# env.sh (TRIXIE, KMODS, DAEDALUS_KO, DAEMON, STRESS, ...) are exported, as are
# in_chroot and the other helpers of lib.sh.
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
rm -f "$RESULTS/results.txt"
setup_chroot || echo "exec: chroot mounts failed"
load_base_modules || echo "exec: loading mem2mem failed"
if [ -n "$DAEDALUS_KO" ]; then
	load_daedalus || echo "exec: loading daedalus failed"
fi
export KVER KMODS TRIXIE DAEDALUS_ROOT DAEDALUS_KO KDELAY_KO DAEMON STRESS SETFMT_SO JOB_TIMEOUT_MS RESULTS
export DAEDALUS_VIDEO=${DAEDALUS_VIDEO:-} DAEDALUS_MEDIA=${DAEDALUS_MEDIA:-}
export -f in_chroot video_node_named media_node_of info
if [ $# -gt 0 ]; then
	bash -c "$*"
else
	bash -i
fi
