#!/bin/sh
# Install the Debian packages pvio builds, tests and benchmarks with.
# Only what is missing is installed; nothing happens when all are present.
set -eu

PACKAGES="
build-essential
cmake
pkg-config
g++
clang-format
libcmocka-dev
liburing-dev
libxen-dev
gcc-multilib
xenstore-utils
libaio-dev
libfuse3-dev
fuse3
libseccomp-dev
fio
nbdkit
e2fsprogs
dpkg-dev
python3
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
else
	echo "deps: installing$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# fio ships no headers for external engines: the engine builds against
# the source of the very fio Debian installed (scripts/fio-src.sh).
"$(dirname "$0")/fio-src.sh" >/dev/null
