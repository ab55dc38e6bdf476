#!/bin/bash
# A server-like load (issue 13), Tresor beside Dovecot, with the same
# serverload.py command lines:
#
#	bench/run-compare-server.sh [plain|crypt] [OUT.jsonl]
#
# Needs the Debian package dovecot-imapd (and dovecot-lmtpd), the peer
# configuration of ../shared/bench/peers (PEERS=dir), and Tresor built
# (make all).  Per server:
#
#  1. ACCOUNTS accounts (default 200), all with the password benchpass:
#     Tresor by `ctl user add` (USERADD_PAR at once: each runs Argon2id),
#     Dovecot by lines in its passwd-file.
#  2. MESSAGES small messages (SIZE bytes) into each, the fastest way each
#     side has (see run-compare-imap.sh): Tresor by SMTP into the locked
#     accounts' sealed spools, Dovecot by APPEND.  Then one login per
#     account (serverload prime): Tresor imports the spool then, so that
#     no measured login does.  Both are setup, timed but not compared.
#  3. serverload.py run: SESSIONS IMAP sessions looping over SELECT, UID
#     FETCH FLAGS, UID FETCH BODY.PEEK[], UID STORE, UID SEARCH, IDLE;
#     SMTP_RATE deliveries a second (connect to 250, a connection per
#     message); LOGIN_RATE logins a second of the other accounts (LOGIN,
#     SELECT, LOGOUT); two phases of PHASE_S seconds, quiet and then
#     with FLOOD_THREADS threads of failing logins from rotating loopback
#     addresses (127.100.0.0/16 up, FLOOD_NETWORKS /24s of FLOOD_HOSTS
#     addresses each; IDLE_S is the IDLE's length).
#
# Tresor keeps its default Argon2id cost (set TRESOR_KDF, e.g.
# "ops 1 memory 64M", to change it) with `vault lock-grace 2s`, so an
# idle account relocks 2 s after its LOGOUT and every idle-account login
# runs Argon2id; the accounts are reused no sooner than (ACCOUNTS -
# SESSIONS) / LOGIN_RATE seconds (75 s at the defaults).  Dovecot's
# passwd-file holds {PLAIN} passwords: its logins run no KDF.
#
# Deliveries to Dovecot go over LMTP straight to Dovecot (an inet
# listener this script adds), not through OpenSMTPD: Dovecot's LMTP 250
# comes once the message is stored, as Tresor's SMTP 250 does, and the
# peers' OpenSMTPD may be in use by another run on the machine.
#
# Dovecot runs as its own instance, in DDIR (default
# /tmp/bench-dovecot-serverload) on ports 12143/12993/12110 and LMTP
# 12024, from the peers' configuration with only paths and ports
# changed, so it clashes neither with /tmp/bench-dovecot nor with a run
# of the other compare scripts.  Tresor listens on 13025/13143/13110.
#
# Smoke run (a minute or two):
#	ACCOUNTS=10 SESSIONS=5 MESSAGES=20 PHASE_S=10 SMTP_RATE=5 \
#	    LOGIN_RATE=1 FLOOD_THREADS=4 bench/run-compare-server.sh
# SIDES="tresor" (or "dovecot") runs one side only.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
FLAVOUR=${1:-plain}
case "$FLAVOUR" in
plain|crypt) ;;
*) echo "usage: $0 [plain|crypt] [OUT.jsonl]" >&2; exit 2 ;;
esac
OUT=${2:-$HERE/results/compare-server-$FLAVOUR-$(date +%Y-%m-%d).jsonl}
PEERS=${PEERS:-$TOP/../shared/bench/peers}
SIDES=${SIDES:-"dovecot tresor"}
ACCOUNTS=${ACCOUNTS:-200}
SESSIONS=${SESSIONS:-50}
MESSAGES=${MESSAGES:-30}
SIZE=${SIZE:-2048}
PHASE_S=${PHASE_S:-60}
SMTP_RATE=${SMTP_RATE:-20}
LOGIN_RATE=${LOGIN_RATE:-2}
FLOOD_THREADS=${FLOOD_THREADS:-8}
FLOOD_NETWORKS=${FLOOD_NETWORKS:-64}
FLOOD_HOSTS=${FLOOD_HOSTS:-16}
IDLE_S=${IDLE_S:-1.5}
USERADD_PAR=${USERADD_PAR:-2}
PRIME_PAR=${PRIME_PAR:-2}
TRESOR_KDF=${TRESOR_KDF:-}
DDIR=${DDIR:-/tmp/bench-dovecot-serverload}
SL="python3 $HERE/serverload.py"
TLOG=/tmp/tresor-bench-server-$FLAVOUR.log	# Tresor's log, kept
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

COMMON="--accounts $ACCOUNTS --size $SIZE"
RUNOPT="--sessions $SESSIONS --phase-s $PHASE_S --smtp-rate $SMTP_RATE
    --login-rate $LOGIN_RATE --idle-s $IDLE_S --flood-threads $FLOOD_THREADS
    --flood-networks $FLOOD_NETWORKS --flood-hosts $FLOOD_HOSTS"

say() { echo "$(date +%T) load=$(cut -d' ' -f1-3 /proc/loadavg) $*" >&2; }

# sl LABEL SUBCOMMAND ARGS...: one serverload line (or several) into $OUT.
sl() {
	local label=$1 sc=$2; shift 2
	local before
	before=$(wc -l < "$OUT")
	say "$label $sc $*"
	$SL "$sc" --label "$label" $COMMON "$@" >> "$OUT" || {
		echo "  -> errors: $label $sc:" >&2
		tail -n +"$((before + 1))" "$OUT" | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if not r.get("ok"):
        print("     %s: %s" % (r.get("key"), "; ".join(r.get("errors", []))[:400]))
' >&2
		case "$label" in
		tresor*) echo "  ctld log, last lines:" >&2
			tail -n 15 "$TLOG" | sed 's/^/    /' >&2 ;;
		esac
	}
}

wait_port() {	# bounded: 100 x 0.1 s
	local i
	for i in $(seq 100); do
		python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "port $1 not up" >&2
	return 1
}

. "$HERE/tresor.sh"
DPID=
cleanup() {
	[ -n "$DPID" ] && { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
	tresor_cleanup
}
trap cleanup EXIT

run_dovecot() {
	local D="dovecot-$FLAVOUR" i
	[ -r "$PEERS/dovecot.conf" ] || { echo "no $PEERS/dovecot.conf" >&2; return 1; }
	mkdir -p "$DDIR/run" "$DDIR/state" "$DDIR/log" "$DDIR/ssl" "$DDIR/keys"
	rm -rf "$DDIR/mail" "$DDIR/mail-crypt"
	mkdir -p "$DDIR/mail" "$DDIR/mail-crypt"
	chown 65534:65534 "$DDIR/mail" "$DDIR/mail-crypt"
	for f in dovecot.conf dovecot-crypt.conf; do
		sed -e "s#/tmp/bench-dovecot/#$DDIR/#g" \
		    -e 's/^instance_name = .*/instance_name = bench-dovecot-serverload/' \
		    -e 's/port = 10143/port = 12143/' \
		    -e 's/port = 10993/port = 12993/' \
		    -e 's/port = 10110/port = 12110/' \
		    -e '/^service lmtp {/a\  inet_listener lmtp {\n    address = 127.0.0.1\n    port = 12024\n  }' \
		    "$PEERS/$f" > "$DDIR/$f"
	done
	[ -s "$DDIR/ssl/cert.pem" ] || openssl req -x509 -newkey rsa:2048 \
	    -nodes -days 30 -subj "/CN=bench.test" -keyout "$DDIR/ssl/key.pem" \
	    -out "$DDIR/ssl/cert.pem" 2>/dev/null
	chmod 600 "$DDIR/ssl/key.pem"
	if [ ! -s "$DDIR/keys/ecprivkey.pem" ]; then
		openssl ecparam -name prime256v1 -genkey |
		    openssl pkey -out "$DDIR/keys/ecprivkey.pem"
		openssl pkey -in "$DDIR/keys/ecprivkey.pem" -pubout \
		    -out "$DDIR/keys/ecpubkey.pem"
		chmod 600 "$DDIR/keys/ecprivkey.pem"
	fi
	for i in $(seq 0 $((ACCOUNTS - 1))); do
		printf 'load%03d@bench.test:{PLAIN}benchpass:65534:65534::::\n' "$i"
	done > "$DDIR/users"
	chmod 644 "$DDIR/users"
	local conf=$DDIR/dovecot.conf
	[ "$FLAVOUR" = crypt ] && conf=$DDIR/dovecot-crypt.conf
	dovecot -F -c "$conf" > "$DDIR/log/stdout" 2>&1 &
	DPID=$!
	wait_port 12143 && wait_port 12024 || return 1
	local P="--imap-port 12143 --smtp-port 12024"
	sl "$D" seed $P --via append --messages "$MESSAGES" --par 4
	sl "$D" prime $P --par "$PRIME_PAR" --expect "$MESSAGES"
	sleep 3
	sl "$D" run $P --deliver lmtp $RUNOPT \
	    --idle-login-note "passwd-file {PLAIN}: no KDF"
	kill "$DPID" 2>/dev/null
	wait "$DPID" 2>/dev/null
	DPID=
}

run_tresor() {
	local i
	tresor_bin || return 1
	tresor_conf 13 "vault lock-grace 2s" \
	    ${TRESOR_KDF:+"vault kdf $TRESOR_KDF"}
	: > "$TLOG"
	tresor_start "$TLOG" || return 1
	wait_port 13143 && wait_port 13025 || return 1
	say "tresor: $ACCOUNTS x ctl user add, $USERADD_PAR at once"
	local fails=0 n=0
	for i in $(seq 0 $((ACCOUNTS - 1))); do
		tresor_user "$(printf 'load%03d@bench.test' "$i")" benchpass &
		n=$((n + 1))
		if [ "$n" -ge "$USERADD_PAR" ]; then
			wait -n || fails=$((fails + 1))
			n=$((n - 1))
		fi
	done
	while [ "$n" -gt 0 ]; do
		wait -n || fails=$((fails + 1))
		n=$((n - 1))
	done
	[ "$fails" -eq 0 ] || { echo "ctl user add failed $fails times" >&2; return 1; }
	local P="--imap-port 13143 --smtp-port 13025"
	sl tresor seed $P --via smtp --messages "$MESSAGES" --par 4
	sleep 3		# past `vault lock-grace 2s`
	sl tresor prime $P --par "$PRIME_PAR" --expect "$MESSAGES"
	sleep 3
	local kdf=${TRESOR_KDF:-default}
	sl tresor run $P --deliver smtp $RUNOPT \
	    --idle-login-note "Argon2id (vault kdf $kdf): account locked, vault lock-grace 2s"
	tresor_stop
}

for side in $SIDES; do
	case "$side" in
	dovecot) run_dovecot || echo "dovecot side failed" >&2 ;;
	tresor) run_tresor || echo "tresor side failed" >&2 ;;
	*) echo "unknown side $side" >&2 ;;
	esac
done

$SL summarize "$OUT"
