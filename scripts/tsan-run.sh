#!/bin/sh
# ThreadSanitizer build of the tree; runs the tests labelled "concurrency".
set -eu
top=$1
dir=build-tsan
flags="-fsanitize=thread -O1 -g"
echo "=== check: $dir ($flags) ==="
rm -rf "$top/$dir"
cmake -S "$top" -B "$top/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
	-DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$top/$dir" -j "$(nproc)"
cd "$top/$dir" && ctest --output-on-failure -L concurrency
