# Tapwire: one-command setup, build and run. See README.md.
#   make run         install missing Debian packages, build, run the main job
#   make test        install, build, run every test (ctest: Boost.Test units; pytest suite;
#                    the daemon's end-to-end test with a real Linux guest when root)
#   make test-qemu   boot Debian's kernel under QEMU against the daemon (not CI)
#   make fuzz-smoke  build the libFuzzer targets with clang + ASan/UBSan and run each for FUZZ_SECONDS
PY          ?= /usr/bin/python3
BUILD       ?= build
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 30
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test unit pytest e2e test-qemu fuzz-smoke clean

all: build

deps:
	@./cmake/ensure-deps.sh

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DPYTHON_EXECUTABLE=$(PY) $(CMAKE_FLAGS) >/dev/null

configure: deps $(BUILD)/build.ninja

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@./cmake/run-main.sh $(BUILD)

unit: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The pytest suite runs on 2 xdist workers (python3-pytest-xdist) when available.
pytest: build
	@if [ -d tests/py ]; then PYTHONPATH=$(BUILD)/python $(PY) -m pytest -q -p no:cacheprovider \
	  $$($(PY) -c 'import xdist' 2>/dev/null && echo '-n 2') tests/py; fi

# The daemon with a real Linux guest (a network namespace on a tap); skipped unless root.
e2e: build
	@$(PY) tests/e2e/run_e2e.py --tapwire $(BUILD)/bin/tapwire

test: unit pytest e2e

# Boots Debian's kernel under QEMU (TCG) against `tapwire --qemu-listen`; not run by CI.
test-qemu: build
	@tests/e2e/qemu_boot.sh $(BUILD)/bin/tapwire

fuzz-smoke: deps
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
	  -DTAPWIRE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@./fuzz/smoke.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
