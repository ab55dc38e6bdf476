#!/bin/sh
# Install what Tresor needs to build, run and test on Debian 12, and the
# users its processes run as.  Safe to run again: it only adds what is
# missing.  Run as root (or with sudo available); as a normal user it
# reports what is missing and stops.
#
#	sh scripts/deps.sh		install what is missing
#	sh scripts/deps.sh --check	the same, quietly when nothing is

set -eu

PKGS="build-essential pkg-config libtls-dev libevent-dev libsodium-dev
libbsd-dev libseccomp-dev libsqlite3-dev libssl-dev python3 openssl
mandoc swaks libnet-ssleay-perl curl procps iproute2 clang
libclang-rt-14-dev isync zlib1g-dev"

quiet=0
[ "${1:-}" = "--check" ] && quiet=1

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "deps: need root to run: $*" >&2
		exit 1
	fi
}

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing
elif [ $quiet = 0 ]; then
	echo "deps: all packages present"
fi

# The service users: one per child process, and the group allowed to
# use ctl.  Only root can add them; a developer's unprivileged run does
# without (each child then stays under the developer's uid).
if [ "$(id -u)" = 0 ]; then
	getent group _tresor-ctl >/dev/null ||
	    groupadd --system _tresor-ctl
	for u in _tresor-smtpd _tresor-imapd _tresor-vaultd; do
		getent passwd "$u" >/dev/null ||
		    useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin --user-group "$u"
	done
fi
exit 0
