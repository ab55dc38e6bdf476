#!/bin/bash
# Benchmark Tresor with mailbench (the harness the peers were measured
# with, see ../shared/bench/peers/BASELINE.md), on loopback high ports,
# from a fresh data directory.  Results: one JSON line per run.
#
#	bench/run-tresor.sh [OUTFILE]		(default bench/results/tresor.jsonl)
#
# What is measured today: SMTP delivery into the vault at 1, 8 and 32
# concurrent clients (8 KiB messages), with the account locked (mail is
# sealed into the spool) and unlocked (a session holds it open: mail goes
# straight into the encrypted mailbox); then POP3 RETR of everything.
# The IMAP scenarios need the IMAP mailbox commands (not built yet).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
OUT=${1:-$HERE/results/tresor.jsonl}
MB="python3 $HERE/mailbench.py"
. "$HERE/tresor.sh"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

tresor_conf 11
trap tresor_cleanup EXIT
tresor_start || exit 1
tresor_user bench@bench.test benchpass1 || exit 1

O="--label tresor --smtp-port 11025 --imap-port 11143 --pop3-port 11110"
O="$O --password benchpass1"
run() {
	echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) :: $*" >&2
	local sc=$1; shift
	$MB "$sc" $O "$@" >> "$OUT" || echo "  -> FAILED rc=$?" >&2
}

# Locked account: every message is sealed into the spool.
run smtp -n 2000 -c 1 -s 8192
run smtp -n 2000 -c 8 --procs 4 -s 8192
run smtp -n 2000 -c 32 --procs 4 -s 8192

# Unlocked: an IMAP session holds the account open meanwhile.
python3 - <<'PY' &
import imaplib, time
m = imaplib.IMAP4("127.0.0.1", 11143)
m.login("bench@bench.test", "benchpass1")
for _ in range(600):
    time.sleep(1)
    try:
        m.noop()
    except Exception:
        break
PY
HOLD=$!
sleep 3
run smtp -n 2000 -c 1 -s 8192 --label tresor-unlocked
run smtp -n 2000 -c 8 --procs 4 -s 8192 --label tresor-unlocked
run smtp -n 2000 -c 32 --procs 4 -s 8192 --label tresor-unlocked
kill $HOLD 2>/dev/null

# POP3: RETR everything (12000 messages).
run pop3 -r 1 --expect 12000
run pop3 -r 1 --expect 12000 --no-pipelining
echo "results in $OUT" >&2
