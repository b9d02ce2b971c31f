#!/bin/bash
# Guest side of `compliance/run fluster [SUITE...]`: fluster (trixie's
# package, in the client root) runs its own GStreamer V4L2 stateless
# decoders against the daedalus module and daemon, on the local vectors laid
# out as its resources by the host (compliance/tools/fluster-layout.py:
# $RESULTS/fluster). Per suite fluster's own summary table, then one PASS or
# FAIL per vector from its run lines; vectors not here are listed as not
# run and counted nowhere.
# shellcheck source=compliance/guest/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=compliance/guest/decode-lib.sh
. "$(dirname "$0")/decode-lib.sh"

decode_setup
in_chroot fluster -ne list >"$RESULTS/fluster-decoders.txt" 2>&1
info "fluster $(in_chroot dpkg-query -W -f='${Version}' fluster 2>/dev/null); its V4L2SL decoders here: $(grep -o 'GStreamer-[^ ]*V4L2SL[^ ]*' "$RESULTS/fluster-decoders.txt" | sort -u | tr '\n' ' ')"

# report SUITE LOG: one PASS/FAIL per vector from fluster's run lines
# ("[SUITE] (DECODER) VECTOR ... Success|Fail|Error|Timeout").
report() {
	local suite=$1 log=$2 vector result
	while read -r vector result; do
		if [ "$result" = Success ]; then
			pass "fluster $suite $vector"
		else
			fail "fluster $suite $vector" "$result"
		fi
	done < <(sed -n "s/^\[$suite\] ([^)]*) *\([^ ]*\) *\.\.\. *\([A-Za-z]*\).*/\1 \2/p" "$log")
}

while read -r suite decoder present total; do
	if ! grep -q "$decoder" "$RESULTS/fluster-decoders.txt"; then
		fail "fluster $suite" "fluster has no decoder $decoder here"
		continue
	fi
	info "$suite: $present of its $total vectors here, decoder $decoder"
	in_chroot fluster -ne -r /results/fluster/resources -tsd /results/fluster/test_suites \
		-o /tmp/fluster-out run -j 1 -t 300 -ts "$suite" -d "$decoder" -s \
		-f md -so "/results/fluster/$suite.md" >"$RESULTS/fluster-$suite.log" 2>&1
	info "fluster exit $?; $(grep -m1 '^Ran ' "$RESULTS/fluster-$suite.log"); its summary:"
	sed 's/^/    /' "$RESULTS/fluster/$suite.md" 2>/dev/null
	n=$(grep -c "^\[$suite\] " "$RESULTS/fluster-$suite.log")
	if [ "$n" -gt 0 ]; then
		report "$suite" "$RESULTS/fluster-$suite.log"
	else
		fail "fluster $suite" "fluster ran no vector (see fluster-$suite.log): $(tail -1 "$RESULTS/fluster-$suite.log")"
	fi
	daemon_alive_or_restart "fluster $suite"
done <"$RESULTS/fluster/plan.txt"

if [ -s "$RESULTS/fluster/missing.txt" ]; then
	awk '{ n[$1]++ } END { for (s in n) printf "  .. not run (vector not in ../shared/vectors): %s %d\n", s, n[s] }' \
		"$RESULTS/fluster/missing.txt" | sort
fi
stop_daemon || info "daemon did not stop cleanly"
check_dmesg
