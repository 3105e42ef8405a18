#!/bin/sh
# Fails if any C source or header differs from what .clang-format asks for.
# Run by ctest as "format"; `make format` fixes what it reports.
set -eu
cd "$(dirname "$0")/.."
find include libchannel libgrant libxenbus libdomain blkback blkfront fio fuse hypervisor-stub toolstack tests bench examples \
	-name '*.[ch]' -print0 |
	xargs -0 clang-format --dry-run -Werror
