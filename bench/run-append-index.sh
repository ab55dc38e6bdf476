#!/bin/bash
# APPEND and a SEARCH right after (issue 13, the index after the
# answer), on a fresh Tresor built in TOP (default: this tree):
# RUNS (2) runs of APPENDS (1000) messages of SIZE (8192) octets over
# one connection (mailbench imap-append, LITERAL+ when advertised),
# vaultd's CPU time for each run (its indexing included: the index
# job runs after the answers), then a burst of BURST (200) APPENDs
# and the time of the UID SEARCH BODY that follows it, and of the
# same search again.  Ports PREFIX025/143/110 (PREFIX: 15).
#
#	[TOP=tree] bench/run-append-index.sh LABEL [OUT.jsonl]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(dirname "$HERE")}
LABEL=${1:?label}
OUT=${2:-$HERE/results/append-index.jsonl}
RUNS=${RUNS:-2}
APPENDS=${APPENDS:-1000}
SIZE=${SIZE:-8192}
BURST=${BURST:-200}
PREFIX=${PREFIX:-15}
. "$TOP/bench/tresor.sh"
tresor_bin || exit 1
tresor_conf "$PREFIX"
tresor_start || exit 1
trap tresor_cleanup EXIT
for i in $(seq 100); do
	tresor_user bench@bench.test benchpass1 && break
	[ "$i" = 100 ] && { echo "user add failed" >&2; exit 1; }
	sleep 0.2
done
VPID=$(pgrep -P "$CPID" -f vaultd | head -1)
cpu() { awk '{ print $14 + $15 }' "/proc/$VPID/stat"; }
for r in $(seq "$RUNS"); do
	c0=$(cpu)
	echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) $LABEL run $r" >&2
	python3 "$HERE/mailbench.py" imap-append --label "$LABEL" \
	    --imap-port "${PREFIX}143" --user bench@bench.test \
	    --password benchpass1 -a "$APPENDS" -s "$SIZE" \
	    --start-index $((1000000 + r * APPENDS)) >> "$OUT"
	sleep 2		# the last batches and the checkpoint
	echo "{\"label\": \"$LABEL\", \"vault_cpu_s\": $(( $(cpu) - c0 ))e-2}" \
	    >> "$OUT"
done
python3 - "${PREFIX}143" "$BURST" "$LABEL" >> "$OUT" <<'PY'
import imaplib, json, sys, time
port, n, label = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("bench@bench.test", "benchpass1")
pad = ("x" * 70 + "\r\n") * 100
for i in range(n):
    m.append("INBOX", None, None, (
        "From: a@bench.test\r\nTo: bench@bench.test\r\n"
        "Subject: burst %d\r\n\r\npuffin %d\r\n%s" % (i, i, pad)).encode())
m.select("INBOX")
ms = []
for _ in range(2):
    t = time.monotonic()
    typ, d = m.uid("SEARCH", None, "BODY", "puffin")
    ms.append(round((time.monotonic() - t) * 1000, 1))
print(json.dumps({"label": label, "burst": n, "found": len(d[0].split()),
                  "search_ms": ms[0], "again_ms": ms[1]}))
m.logout()
PY
