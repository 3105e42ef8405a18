#!/bin/sh
# Fetch and configure the source of the installed fio, for building pvio's
# external ioengine (fio/libpvio_fio.so).
#
# Debian ships no fio development headers, and an external engine is
# compiled against fio's own headers (struct thread_data, io_u, ...), whose
# layout depends on config-host.h.  So: take the Debian source package of
# exactly the installed version (apt-get source), apply Debian's patches
# (dpkg-source -x does), and run fio's ./configure with Debian's flags so
# config-host.h describes the binary in /usr/bin/fio.  Nothing is built.
#
# Usage: scripts/fio-src.sh [CACHE_DIR]   (default /var/cache/pvio)
# Prints the configured source dir on its last line (pass it to CMake as
# -DPVIO_FIO_SRC=...; fio/CMakeLists.txt also looks at the default place).
# Idempotent: returns at once when the source of this version is ready.
set -eu

cache=${1:-/var/cache/pvio}

ver=$(dpkg-query -W -f='${Version}' fio 2>/dev/null || true)
if [ -z "$ver" ]; then
	echo "fio-src: fio is not installed (scripts/deps.sh installs it)" >&2
	exit 1
fi
upver=${ver%-*}          # 3.33-3 -> 3.33
upver=${upver#*:}        # drop an epoch
dir="$cache/fio-$upver"
stamp="$dir/.pvio-configured"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$ver" ] &&
	[ -f "$dir/config-host.h" ] && [ -f "$dir/fio.h" ]; then
	echo "$dir"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

# A deb-src entry for bookworm main, if there is none yet.
if ! apt-cache showsrc fio >/dev/null 2>&1 ||
	[ -z "$(apt-cache showsrc fio 2>/dev/null)" ]; then
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	echo "fio-src: adding a deb-src entry for $codename main" >&2
	$SUDO sh -c "cat > /etc/apt/sources.list.d/pvio-src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	$SUDO apt-get update -qq
fi

$SUDO mkdir -p "$cache"
work=$(mktemp -d "$cache/.fio-src.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# Download as the current user into the scratch dir; -x (via dpkg-source)
# unpacks and applies Debian's patches.
(cd "$work" && apt-get source --download-only -qq "fio=$ver" >/dev/null)
dsc=$(ls "$work"/fio_*.dsc)
(cd "$work" && dpkg-source --no-check -q -x "$dsc" "fio-$upver" >/dev/null)

# Debian's rules: --disable-native --prefix=/usr (+ optional engines, which
# only add engine files, not struct members); try them, fall back to the
# minimal flags that still give the same layouts when a -dev is missing.
src="$work/fio-$upver"
if ! (cd "$src" && ./configure --disable-native --prefix=/usr \
	--enable-libnbd >"$work/configure.log" 2>&1); then
	echo "fio-src: configure with --enable-libnbd failed, retrying" \
		"without it (no struct layout depends on it)" >&2
	(cd "$src" && ./configure --disable-native --prefix=/usr \
		>"$work/configure.log" 2>&1) || {
		cat "$work/configure.log" >&2
		exit 1
	}
fi
echo "$ver" >"$src/.pvio-configured"

rm -rf "$dir"
mv "$src" "$dir"
echo "$dir"
