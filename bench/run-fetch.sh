#!/bin/bash
# FETCH of whole bodies from Tresor alone, for before/after comparisons
# of one change (bench/run-compare-imap.sh measures it beside Dovecot).
#
#	bench/run-fetch.sh [N] [PASSES]	(defaults 10000 and 3)
#
# N messages of 8 KiB are delivered over SMTP, a login holds the
# account unlocked while the spool is imported, then mailbench's
# imap-fetch runs PASSES passes: one JSON line on stdout.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
N=${1:-10000}
PASSES=${2:-3}
P=${PREFIX:-17}
MB="python3 $HERE/mailbench.py"
. "$HERE/tresor.sh"
tresor_conf "$P"
trap tresor_cleanup EXIT
tresor_start || exit 1
tresor_user bench@bench.test benchpass1 || exit 1
O="--label tresor --smtp-port ${P}025 --imap-port ${P}143 --pop3-port ${P}110"
O="$O --password benchpass1"
$MB smtp $O -n "$N" -c 8 --procs 4 -s 8192 > /dev/null || exit 1
tresor_hold "${P}143" bench@bench.test benchpass1 >&2
# The import and its index (about 2 ms a message here) end first.
sleep $((N / 400 + 5))
$MB imap-fetch $O -r "$PASSES" --expect "$N"
