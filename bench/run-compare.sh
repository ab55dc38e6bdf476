#!/bin/bash
# One benchmark run, Tresor beside the peer (Dovecot behind OpenSMTPD,
# delivering over LMTP), with the same mailbench command lines:
#
#	bench/run-compare.sh [plain|crypt] [OUT.jsonl]
#
# Needs the Debian packages dovecot-imapd dovecot-pop3d dovecot-lmtpd
# opensmtpd, and the peer scripts of ../shared/bench/peers (PEERS=dir).
# Measures what both serve today: SMTP delivery at 1, 8 and 32 clients
# (8 KiB messages; 4 client processes at 8 and 32), then POP3 RETR of
# a 10,000-message mailbox (4000 more are delivered for it); then
# Tresor's SMTP runs again into the account held unlocked by a login.
# Tresor's spool is imported after the first login: bench/import_wait.py
# logs in and waits for it (spool-import: login_s, import_s) before POP3.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
FLAVOUR=${1:-plain}
OUT=${2:-$HERE/results/compare.jsonl}
PEERS=${PEERS:-$TOP/../shared/bench/peers}
MB="python3 $HERE/mailbench.py"
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

# label, SMTP-only options, then the common options.  The peer's 250
# comes before delivery (OpenSMTPD queues, then LMTP): it is verified
# over IMAP, which gives its delivered rate too.  Tresor's 250 comes
# after the vault made the message durable: accepted is delivered.
suite() {
	local label=$1 smtpopt=$2; shift 2
	for c in "1" "8 --procs 4" "32 --procs 4"; do
		echo "$(date +%T) $label smtp -c $c" >&2
		$MB smtp --label "$label" "$@" $smtpopt -n 2000 -c $c \
		    -s 8192 >> "$OUT" || echo "  -> FAILED" >&2
	done
	# 4000 more, for the 10,000-message mailbox POP3 reads.
	$MB smtp --label "$label-fill" "$@" $smtpopt -n 4000 -c 8 --procs 4 \
	    -s 8192 >> "$OUT" || echo "  -> FAILED" >&2
	# Tresor imports the spool after the login, in the background:
	# the first login (timed) waits for all 10,000 before POP3 reads.
	if [ -n "$IMPORT_PORT" ]; then
		python3 "$HERE/import_wait.py" --label "$label" \
		    --port "$IMPORT_PORT" --expect 10000 >> "$OUT" ||
		    echo "  -> FAILED" >&2
	fi
	echo "$(date +%T) $label pop3" >&2
	$MB pop3 --label "$label" "$@" -r 1 --expect 10000 >> "$OUT" ||
	    echo "  -> FAILED" >&2
	$MB pop3 --label "$label" "$@" -r 1 --expect 10000 \
	    --no-pipelining >> "$OUT" || echo "  -> FAILED" >&2
}

# The peer.
"$PEERS/setup-peers.sh" || exit 1
"$PEERS/run-dovecot.sh" "$FLAVOUR" > /tmp/bench-dovecot.out 2>&1 &
DPID=$!
"$PEERS/run-smtpd.sh" > /tmp/bench-smtpd.out 2>&1 &
SPID=$!
for i in $(seq 100); do
	python3 -c 'import socket; socket.create_connection(("127.0.0.1", 10025), 1); socket.create_connection(("127.0.0.1", 10110), 1)' 2>/dev/null && break
	sleep 0.1
done
$MB purge --imap-port 10143 >/dev/null 2>&1
IMPORT_PORT=
suite "dovecot-$FLAVOUR" --verify-imap --smtp-port 10025 \
    --imap-port 10143 --pop3-port 10110
kill "$DPID" "$SPID" 2>/dev/null
wait "$DPID" "$SPID" 2>/dev/null

# Tresor, from a fresh data directory.
. "$HERE/tresor.sh"
tresor_conf 11
trap tresor_cleanup EXIT
tresor_start || exit 1
tresor_user bench@bench.test benchpass || exit 1
IMPORT_PORT=11143
suite tresor "" --smtp-port 11025 --imap-port 11143 --pop3-port 11110

# Tresor again, into the unlocked account: an IMAP session logs in
# first and keeps the account open (its mail is sealed into the spool
# as before, and the account's mailbox worker imports it behind the
# answers).  After the POP3 runs, so that they read the same 10,000
# messages as the peer.  --verify-imap: the rate at which the messages
# show up in INBOX too, as for the peer (e2e).
tresor_hold 11143 bench@bench.test benchpass
for c in "1" "8 --procs 4" "32 --procs 4"; do
	echo "$(date +%T) tresor-unlocked smtp -c $c" >&2
	$MB smtp --label tresor-unlocked --smtp-port 11025 -n 2000 -c $c \
	    -s 8192 --verify-imap --imap-port 11143 >> "$OUT" ||
	    echo "  -> FAILED" >&2
done
tresor_unhold

$MB summarize "$OUT"
