# shellcheck shell=bash
# Shared host-side helpers for compliance/run. Sourced, not executed.

DAEDALUS_ROOT=${DAEDALUS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DAEDALUS_CACHE=${DAEDALUS_CACHE:-/var/cache/daedalus}
# The harness itself (run, lib/, guest/, tools/): where this file lives, so a
# copy of compliance/ can drive another checkout (DAEDALUS_ROOT) while that
# checkout's compliance/ is being edited.
# shellcheck disable=SC2034 # read by the files sourced after this one
COMPLIANCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/versions.sh
. "$DAEDALUS_ROOT/scripts/versions.sh"

log() { printf '[compliance %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
	log "error: $*"
	exit 2
}

# The guest kernel's uname -r, computed once.
guest_kver() {
	if [ -z "${_DAEDALUS_KVER:-}" ]; then
		_DAEDALUS_KVER=$(daedalus_guest_kver)
	fi
	echo "$_DAEDALUS_KVER"
}

kdir() { echo "/lib/modules/$(guest_kver)/build"; }

# Runs "$@" while holding an exclusive lock on the cache, so two runs
# never build the same cached artifact at once.
with_cache_lock() {
	mkdir -p "$DAEDALUS_CACHE"
	(
		flock 9
		"$@"
	) 9>"$DAEDALUS_CACHE/.lock"
}
