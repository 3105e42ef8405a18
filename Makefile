# pvio top-level entry points.  CMake does the building; this file only
# names the things a person runs.
#
#   make deps    install missing Debian packages (apt-get)
#   make         build into ./build
#   make check   deps + fresh builds + every test (plain, ASan+UBSan, TSan)
#   make bench   build optimised and run the benchmarks
#   make demo    build and run the demo (scripts/demo.sh)
#   make format  apply .clang-format to every C source and header

BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all build deps check bench demo format clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

deps:
	./scripts/deps.sh

check: deps
	./scripts/check.sh

bench: deps build
	./$(BUILD)/bench/pvio-bench-ring
	./$(BUILD)/bench/hv/pvio-bench-hv
	/usr/bin/python3 bench/blk/blkbench.py --pvio $(BUILD)/toolstack/pvio --engine $(BUILD)/fio/libpvio_fio.so

demo: deps build
	./scripts/demo.sh $(BUILD)

format:
	find include libchannel libgrant libxenbus libdomain blkback blkfront fio fuse hypervisor-stub toolstack tests bench examples -name '*.[ch]' -print0 | \
		xargs -0 clang-format -i

clean:
	rm -rf $(BUILD) build-check build-asan build-tsan
