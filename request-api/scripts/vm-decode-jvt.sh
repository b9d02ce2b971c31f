#!/bin/bash
# Guest-side check: decode every JVT vector with daedalus-decode on the
# daedalus module (daemon attached) and compare with the published MD5s.
#   compliance/run exec 'bash /work/main/request-api/scripts/vm-decode-jvt.sh'
# Needs: daedalus-decode built on the host (cargo build -p request-api), the
# harness' $DAEMON. Prints "MATCH f" / "DIFF f ..." and a summary; exit 1 if
# any differ.
set -u
BIN=${DAEDALUS_DECODE:-/work/main/target/debug/daedalus-decode}
VEC=${JVT_DIR:-/work/shared/vectors/h264-jvt}
RUST_LOG=warn "$DAEMON" serve >/tmp/daemon.log 2>&1 &
DP=$!
for _ in $(seq 1 100); do
	find "/proc/$DP/fd" -lname '*/dev/daedalus*' 2>/dev/null | grep -q . && break
	sleep 0.2
done
# Holding /dev/daedalus open comes slightly before serving jobs: settle.
sleep 1
pass=0 fail=0
for f in $(awk '{print $2}' "$VEC/md5.txt"); do
	want=$(awk -v f="$f" '$2 == f {print $1}' "$VEC/md5.txt")
	got=$("$BIN" "$VEC/$f" --md5 2>/tmp/decode-err.txt)
	rc=$?
	if [ $rc = 0 ] && [ "$got" = "$want" ]; then
		pass=$((pass + 1))
		echo "MATCH $f"
	else
		fail=$((fail + 1))
		echo "DIFF $f rc=$rc got=$got want=$want: $(tail -1 /tmp/decode-err.txt | cut -c1-200)"
	fi
done
kill "$DP"
wait "$DP" 2>/dev/null
echo "jvt: $pass match, $fail differ"
[ $fail = 0 ]
