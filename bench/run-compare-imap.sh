#!/bin/bash
# One IMAP benchmark run, Tresor beside the peer (Dovecot, plain maildir
# or with mail_crypt), with the same mailbench command lines on the same
# 10,000-message mailbox (8 KiB messages):
#
#	bench/run-compare-imap.sh [plain|crypt] [OUT.jsonl]
#
# Needs the Debian packages dovecot-imapd dovecot-pop3d dovecot-lmtpd and
# the peer scripts of ../shared/bench/peers (PEERS=dir); Tresor built
# (make all).  Per server, in this order:
#
#  1. fill the mailbox with 10,000 messages, each side the fastest way
#     (measured on this VM): Dovecot by APPEND (mailbench fill, 125-340/s;
#     SMTP through OpenSMTPD and LMTP delivered ~115/s), Tresor by SMTP
#     into the locked account's sealed spool (700-1100/s), then one login
#     that starts the import of the spool, and the wait for it (timed:
#     label tresor-import, bench/import_wait.py).  Tresor's
#     APPEND fill ran at ~110/s, slower than SMTP plus import.
#  2. memory per idle connection (imap_idle_mem.py): 200 logged-in idle
#     connections, then 200 more that also SELECT INBOX (Tresor: 30, as
#     imapd lets one account have at most 32 sessions, IMAP_ACCOUNT_SESSIONS
#     in imapd/imapd.h, and the helper keeps one open beside).  Tresor is
#     restarted before each, because glibc keeps freed heap resident and
#     an earlier burst of sessions would hide the growth; Dovecot starts
#     one process per connection anyway.
#  3. imap-login: one login after the account locked (Tresor: Argon2id at
#     its default cost, then opening the mailbox; `vault lock-grace 2s`
#     and a 3 s wait), three times; then 200 sequential logins while the
#     account is unlocked.
#  4. imap-fetch (metadata and all bodies, 3 times), imap-search (5 rare
#     tokens with BODY, 5 TEXT searches for a word in every message),
#     imap-append (1000 APPENDs of 8 KiB).
#
# Tresor keeps its default Argon2id cost here (no `vault kdf` line): the
# first login's figure is the real one.  Set SEARCH_REPEAT, FETCH_REPEAT,
# APPENDS, CONNS, TRESOR_CONNS to shrink a scenario.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
FLAVOUR=${1:-plain}
case "$FLAVOUR" in
plain|crypt) ;;
*) echo "usage: $0 [plain|crypt] [OUT.jsonl]" >&2; exit 2 ;;
esac
OUT=${2:-$HERE/results/compare-imap-$FLAVOUR-$(date +%Y-%m-%d).jsonl}
PEERS=${PEERS:-$TOP/../shared/bench/peers}
MESSAGES=${MESSAGES:-10000}
CONNS=${CONNS:-200}
TRESOR_CONNS=${TRESOR_CONNS:-30}
FETCH_REPEAT=${FETCH_REPEAT:-3}
SEARCH_REPEAT=${SEARCH_REPEAT:-5}
APPENDS=${APPENDS:-1000}
LOGINS=${LOGINS:-200}
MB="python3 $HERE/mailbench.py"
MEM="python3 $HERE/imap_idle_mem.py"
TLOG=/tmp/tresor-bench-imap-$FLAVOUR.log	# Tresor's log, kept
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

# run LABEL PORT SCENARIO ARGS...: one mailbench line into $OUT.
run() {
	local label=$1 port=$2 sc=$3; shift 3
	echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) $label $sc $*" >&2
	$MB "$sc" --label "$label" --imap-port "$port" "$@" >> "$OUT" ||
	    failed "$label" "$sc"
}

failed() {
	echo "  -> FAILED: $1 $2: $(tail -n 1 "$OUT" | cut -c1-600)" >&2
	case "$1" in
	tresor*) echo "  ctld log, last lines:" >&2
		tail -n 15 "$TLOG" | sed 's/^/    /' >&2 ;;
	esac
}

# mem LABEL PORT ROOTPID COMMS K [--select]
mem() {
	local label=$1 port=$2 root=$3 comms=$4 k=$5; shift 5
	echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) $label idle-mem -k $k $*" >&2
	$MEM --label "$label" --imap-port "$port" --root "$root" \
	    --comm "$comms" -k "$k" "$@" >> "$OUT" || failed "$label" mem
}

# The IMAP scenarios on a filled mailbox, after the memory figures.
imap_suite() {
	local label=$1 port=$2
	local i
	for i in 1 2 3; do
		sleep 3		# Tresor: past `vault lock-grace 2s`
		run "$label" "$port" imap-login -l 1
	done
	run "$label" "$port" imap-login -l "$LOGINS"
	run "$label" "$port" imap-fetch -r "$FETCH_REPEAT" --expect "$MESSAGES"
	run "$label" "$port" imap-search -r "$SEARCH_REPEAT"
	run "$label" "$port" imap-append -a "$APPENDS" -s 8192
}

# Tresor's programs as built now (bench/tresor.sh).
. "$HERE/tresor.sh"
trap tresor_cleanup EXIT
tresor_bin || exit 1

# The peer: Dovecot alone (filled over IMAP, so OpenSMTPD is not needed).
"$PEERS/setup-peers.sh" || exit 1
"$PEERS/run-dovecot.sh" "$FLAVOUR" > /tmp/bench-dovecot.out 2>&1 &
DPID=$!
for i in $(seq 100); do
	python3 -c 'import socket; socket.create_connection(("127.0.0.1", 10143), 1)' 2>/dev/null && break
	sleep 0.1
done
D="dovecot-$FLAVOUR"
run "$D-fill" 10143 fill -n "$MESSAGES" -s 8192
mem "$D" 10143 "$DPID" imap,imap-login "$CONNS"
mem "$D" 10143 "$DPID" imap,imap-login "$CONNS" --select
imap_suite "$D" 10143
kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null

# Tresor, from a fresh data directory.
tresor_conf 11 "vault lock-grace 2s"
: > "$TLOG"
tresor_start "$TLOG" || exit 1
tresor_user bench@bench.test benchpass || exit 1
echo "$(date +%T) tresor-fill smtp -n $MESSAGES" >&2
$MB smtp --label tresor-fill --smtp-port 11025 -n "$MESSAGES" -c 8 \
    --procs 4 -s 8192 >> "$OUT" || failed tresor-fill smtp
sleep 3
# The first login starts the import of the spool, which vaultd runs
# after answering it: both timed (spool-import: login_s, import_s),
# but not the login figure.
python3 "$HERE/import_wait.py" --label tresor-import --port 11143 \
    --expect "$MESSAGES" >> "$OUT" || failed tresor-import import_wait
# Fresh processes for each memory figure (see the top).
tresor_stop
tresor_start "$TLOG" || exit 1
mem tresor 11143 "$CPID" imapd,vaultd "$TRESOR_CONNS"
tresor_stop
tresor_start "$TLOG" || exit 1
mem tresor 11143 "$CPID" imapd,vaultd "$TRESOR_CONNS" --select
imap_suite tresor 11143

$MB summarize "$OUT"
