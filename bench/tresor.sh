# Starting and stopping Tresor for the benchmark scripts: sourced by
# run-tresor.sh and the run-compare*.sh scripts, so that each measures
# the same build the same way.  Needs TOP (the source tree) set.
#
#	tresor_bin			copy the programs aside into $BIN
#	tresor_conf PREFIX [LINE...]	fresh $DIR with tresor.conf, ports
#					PREFIX025 (SMTP), PREFIX143, PREFIX110
#	tresor_start [LOG]		ctld in the foreground (and the flags
#					in $CTLD_FLAGS, e.g. -v), $CPID; waits
#					until smtpd and imapd run (bounded)
#	tresor_stop			stops ctld and its children
#	tresor_user ADDRESS PASSWORD	ctl user add
#	tresor_hold PORT ADDRESS PASSWORD
#					an IMAP session in the background
#					holds the account unlocked ($HOLD)
#	tresor_unhold			ends it
#	tresor_cleanup			stop, remove $DIR and $BIN
#
# Programs run from $BIN when tresor_bin made it, else from the tree.

BIN= DIR= CPID=

# The programs as built now, copied aside with the tree's layout (ctld
# finds its children beside it): a rebuild meanwhile does not change
# what is measured.  Prints which build it is, to stderr.
tresor_bin() {
	local p
	BIN=$(mktemp -d /tmp/tresor-bench-bin.XXXXXX)
	for p in ctld/ctld ctld/ctl smtpd/smtpd imapd/imapd vaultd/vaultd; do
		mkdir -p "$BIN/$(dirname "$p")"
		cp "$TOP/$p" "$BIN/$p" || return 1
	done
	chmod -R a+rX "$BIN"
	echo "$(date +%T) Tresor $(git -C "$TOP" log -1 --format=%h 2>/dev/null)" \
	    "$(git -C "$TOP" status --short 2>/dev/null | grep -c '^ M') files modified," \
	    "$(cd "$BIN" && sha256sum */* | awk '{ printf "%s=%.12s ", $2, $1 }')" >&2
}

tresor_prog() {
	echo "${BIN:-$TOP}/$1"
}

tresor_conf() {
	local prefix=$1 line
	shift
	DIR=$(mktemp -d /tmp/tresor-bench.XXXXXX)
	chmod 755 "$DIR"
	cat > "$DIR/tresor.conf" <<CONF
hostname "bench.test"
datadir "$DIR/vault"
chroot "$DIR/empty"
control socket "$DIR/ctl.sock"
tls cert "$DIR/tls/cert.pem" key "$DIR/tls/key.pem" selfsigned
domain "bench.test"
listen on 127.0.0.1 port ${prefix}025 smtp tls starttls
listen on 127.0.0.1 port ${prefix}143 imap tls starttls plaintext-auth
listen on 127.0.0.1 port ${prefix}110 pop3 tls starttls plaintext-auth
limit connections per-address 1000
CONF
	# vaultd refuses to open the vault with memory it cannot lock; a
	# machine without CAP_SYS_RESOURCE (a container) cannot lift
	# RLIMIT_MEMLOCK, so the benchmark says it may.
	if [ "$(ulimit -l)" != unlimited ] && ! tresor_can_lift_memlock; then
		echo "vault allow-unlocked-memory" >> "$DIR/tresor.conf"
	fi
	for line in "$@"; do
		echo "$line" >> "$DIR/tresor.conf"
	done
	chmod 644 "$DIR/tresor.conf"
}

# CAP_SYS_RESOURCE (bit 24) in our effective set.
tresor_can_lift_memlock() {
	local eff
	eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	[ $(( (0x$eff >> 24) & 1 )) -eq 1 ]
}

tresor_start() {
	local log=${1:-$DIR/ctld.log} i
	"$(tresor_prog ctld/ctld)" -d ${CTLD_FLAGS:-} -f "$DIR/tresor.conf" \
	    >> "$log" 2>&1 &
	CPID=$!
	for i in $(seq 300); do		# 30 s: a loaded machine is slow
		"$(tresor_prog ctld/ctl)" -s "$DIR/ctl.sock" status \
		    2>/dev/null | grep -q "^imapd.*running" &&
		    "$(tresor_prog ctld/ctl)" -s "$DIR/ctl.sock" status \
		    2>/dev/null | grep -q "^smtpd.*running" && return 0
		sleep 0.1
	done
	echo "ctld did not start; see $log" >&2
	return 1
}

# Stop a background process of ours, if there is one.
tresor_reap() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

tresor_stop() {
	tresor_reap "$CPID"
	CPID=
}

tresor_user() {
	echo "$2" | "$(tresor_prog ctld/ctl)" -s "$DIR/ctl.sock" user add \
	    "$1" --stdin > /dev/null
}

tresor_hold() {
	python3 - "$@" <<'PY' &
import imaplib, sys, time
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
print("holding the account unlocked", flush=True)
for _ in range(900):
    time.sleep(1)
    try:
        m.noop()
    except Exception:
        break
PY
	HOLD=$!
	sleep 3
}

tresor_unhold() {
	tresor_reap "${HOLD:-}"
	HOLD=
}

tresor_cleanup() {
	tresor_stop
	[ -n "$DIR" ] && rm -rf "$DIR"
	[ -n "$BIN" ] && rm -rf "$BIN"
	DIR= BIN=
}
