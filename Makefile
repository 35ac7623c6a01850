# Tapwire: one-command setup, build and run. See README.md.
#   make run         install missing Debian packages, build, run the main job
#   make test        install, build, run every test (ctest: Boost.Test units; pytest suite)
#   make fuzz-smoke  build the libFuzzer targets with clang + ASan/UBSan and run each for FUZZ_SECONDS
PY          ?= /usr/bin/python3
BUILD       ?= build
FUZZ_BUILD  ?= build-fuzz
FUZZ_SECONDS ?= 30
JOBS        ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run test unit pytest fuzz-smoke clean

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

pytest: build
	@if [ -d tests/py ]; then PYTHONPATH=$(BUILD)/python $(PY) -m pytest -q tests/py; fi

test: unit pytest

fuzz-smoke: deps
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
	  -DTAPWIRE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@./fuzz/smoke.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
