#!/bin/bash
# APPEND latency on a fresh Tresor (issue 13: "a tenth take 40-95 ms"):
# mailbench's imap-append scenario over one connection, several runs of
# A messages of S octets into the same INBOX, so that the mailbox grows
# as it does in use.  One JSON line per run.
#
#	bench/run-append.sh [OUTFILE]	(default bench/results/append.jsonl)
#
# vaultd runs with -v: its debug line of each request says how long it
# took over it (from the request to the answer), and the APPENDs' times
# are summarised into $OUT.vault (p50/p90/p99/max, microseconds): the
# vault's part of the latency, with less of the machine's noise than
# the client's figures.
#
# RUNS (3), APPENDS (1000) and SIZE (8192) change the load; STRACE=1
# runs vaultd's process under strace -f -T -tt into $OUT.strace (slow:
# figures from such a run are for finding where time goes, not for
# comparing).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
OUT=${1:-$HERE/results/append.jsonl}
RUNS=${RUNS:-3}
APPENDS=${APPENDS:-1000}
SIZE=${SIZE:-8192}
MB="python3 $HERE/mailbench.py"
. "$HERE/tresor.sh"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

tresor_conf 14
CTLD_FLAGS=-v
tresor_start || exit 1
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	tresor_stop
	python3 - "$DIR/ctld.log" > "$OUT.vault" <<'PY'
import json, re, sys
us = sorted(int(x) for x in re.findall(
    r'append "INBOX": status 0, \d+ records, (?:\d+ octets, )?(\d+) us',
    open(sys.argv[1], errors="replace").read()))
q = lambda f: us[min(len(us) - 1, int(len(us) * f))] if us else None
print(json.dumps({"vault_append_us": {"n": len(us), "p50": q(.5),
      "p90": q(.9), "p99": q(.99), "max": us[-1] if us else None}}))
PY
	tresor_cleanup
}
trap cleanup EXIT
# The vault may open a moment after the fronts run.
for i in $(seq 100); do
	tresor_user bench@bench.test benchpass1 && break
	[ "$i" = 100 ] && { echo "user add failed" >&2; exit 1; }
	sleep 0.2
done
if [ "${STRACE:-0}" = 1 ]; then
	VPID=$(pgrep -P "$CPID" -f vaultd | head -1)
	strace -f -T -tt -p "$VPID" -o "$OUT.strace" 2>/dev/null &
	SPID=$!
	sleep 1
fi
for r in $(seq "$RUNS"); do
	echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) :: run $r" >&2
	$MB imap-append --label tresor --imap-port 14143 \
	    --user bench@bench.test --password benchpass1 -a "$APPENDS" -s "$SIZE" \
	    --start-index $((1000000 + r * APPENDS)) >> "$OUT" ||
	    echo "  -> FAILED rc=$?" >&2
done
