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
#
# PARTS (default "locked unlocked pop3") picks the parts, N (default
# 2000) the messages per SMTP run, PREFIX (default 11) the ports:
# PARTS=unlocked N=1000 compares two builds' delivery into an unlocked
# account quickly (copy this file and tresor.sh into the other tree's
# bench/ to measure its build).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
OUT=${1:-$HERE/results/tresor.jsonl}
MB="python3 $HERE/mailbench.py"
PARTS=${PARTS:-"locked unlocked pop3"}
P=${PREFIX:-11}		# ports P025, P143, P110
N=${N:-2000}
. "$HERE/tresor.sh"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

tresor_conf "$P"
trap tresor_cleanup EXIT
tresor_start || exit 1
tresor_user bench@bench.test benchpass1 || exit 1

O="--label tresor --smtp-port ${P}025 --imap-port ${P}143 --pop3-port ${P}110"
O="$O --password benchpass1"
run() {
	echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) :: $*" >&2
	local sc=$1; shift
	$MB "$sc" $O "$@" >> "$OUT" || echo "  -> FAILED rc=$?" >&2
}

has() {
	case " $PARTS " in *" $1 "*) return 0 ;; esac
	return 1
}

# Locked account: every message is sealed into the spool.
if has locked; then
	run smtp -n "$N" -c 1 -s 8192
	run smtp -n "$N" -c 8 --procs 4 -s 8192
	run smtp -n "$N" -c 32 --procs 4 -s 8192
fi

# Unlocked: an IMAP session holds the account open meanwhile.
if has unlocked; then
	tresor_hold "${P}143" bench@bench.test benchpass1
	run smtp -n "$N" -c 1 -s 8192 --label tresor-unlocked
	run smtp -n "$N" -c 8 --procs 4 -s 8192 --label tresor-unlocked
	run smtp -n "$N" -c 32 --procs 4 -s 8192 --label tresor-unlocked
	tresor_unhold
fi

# POP3: RETR everything (6 N messages).
if has pop3; then
	run pop3 -r 1 --expect $((6 * N))
	run pop3 -r 1 --expect $((6 * N)) --no-pipelining
fi
echo "results in $OUT" >&2
