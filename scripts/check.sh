#!/bin/sh
# make check: a fresh build and every test, three times over:
#   1. the normal build (RelWithDebInfo) and all tests;
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, all tests;
#   3. ThreadSanitizer build, the tests labelled "concurrency".
# Each build directory is removed first so nothing stale is reused.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

build_and_test() {
	dir=$1
	shift
	flags=$1
	shift
	echo "=== check: $dir (${flags:-no sanitizer}) ==="
	rm -rf "$top/$dir"
	cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
		-DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
	cmake --build "$top/$dir" -j "$jobs"
	(cd "$top/$dir" && ctest --output-on-failure -j "$jobs" "$@")
}

build_and_test build-check ""

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	build_and_test build-asan \
	"-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"

# TSan needs a low-entropy address space on kernels with 32 random mmap bits;
# setarch -R disables ASLR for the test processes only.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	setarch "$(uname -m)" -R "$top/scripts/tsan-run.sh" "$top"

echo "=== check: all passed ==="
