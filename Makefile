# vididi build: `make` builds build/libvididi.a and the programs, `make test`
# runs the one GoogleTest binary, `make run` runs the main job.
# CUDA is compiled when nvcc is found (CUDA=0 forces it off).
# Sources are found by wildcard: a new .cpp/.cu in a listed folder is built.

BUILD    ?= build
CXX      ?= g++
NVCC     ?= $(shell command -v nvcc 2>/dev/null || ( [ -x /usr/local/cuda/bin/nvcc ] && echo /usr/local/cuda/bin/nvcc ))
CUDA_HOME ?= /usr/local/cuda
ifeq ($(NVCC),)
CUDA ?= 0
else
CUDA ?= 1
endif
# OpenBLAS is used for sgemm/dgemm when present (BLAS=0 forces our own kernel).
BLAS ?= $(shell [ -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h -o -f /usr/include/openblas/cblas.h ] && echo 1 || echo 0)
# FFmpeg (libavformat/libavcodec/libswscale) decodes .avi/.mp4/.mkv/.webm
# directly when present (FFMPEG=0 forces it off: the video source then says
# it was built without FFmpeg). Only data/video_file.cpp looks at VD_FFMPEG.
FFMPEG ?= $(shell [ -f /usr/include/x86_64-linux-gnu/libavformat/avformat.h -a -f /usr/include/x86_64-linux-gnu/libswscale/swscale.h ] && echo 1 || echo 0)
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90

OPT      ?= -O2
CXXFLAGS := -std=c++17 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -fPIC -pthread -I. -MMD -MP
NVFLAGS  := -std=c++17 $(OPT) -I. $(CUDA_ARCH) -Xcompiler -fPIC,-pthread -MMD -MP --expt-relaxed-constexpr
LDLIBS   := -pthread -lm

LIB_DIRS := core core/cpu autograd layers layers/optim vididi vididi/models vididi/eval vididi/cli data
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp))
ifeq ($(CUDA),1)
CU_SRCS  := $(wildcard cuda/*.cu) $(wildcard cuda/*.cpp)
CXXFLAGS += -DVD_CUDA=1 -I$(CUDA_HOME)/include
LDLIBS   += -L$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcudart_static -ldl -lrt
else
CU_SRCS  := cuda/stub/cuda_stub.cpp
endif
ifeq ($(BLAS),1)
CXXFLAGS += -DVD_OPENBLAS=1 -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS   += -lopenblas
endif
ifeq ($(FFMPEG),1)
CXXFLAGS += -DVD_FFMPEG=1
LDLIBS   += -lavformat -lavcodec -lswscale -lavutil
endif

OBJ      := $(BUILD)/obj
LIB_OBJS := $(patsubst %.cpp,$(OBJ)/%.o,$(filter %.cpp,$(LIB_SRCS) $(CU_SRCS))) \
            $(patsubst %.cu,$(OBJ)/%.cu.o,$(filter %.cu,$(CU_SRCS)))
LIB      := $(BUILD)/libvididi.a
TEST_SRCS := $(wildcard tests/*.cpp)
TEST_OBJS := $(patsubst %.cpp,$(OBJ)/%.o,$(TEST_SRCS))
EXAMPLES := $(patsubst examples/%.cpp,$(BUILD)/%,$(wildcard examples/*.cpp))
BENCHES  := $(patsubst bench/%.cpp,$(BUILD)/bench_%,$(wildcard bench/*.cpp))

.PHONY: all build-all test run deps clean
# Each entry point installs missing packages first, then re-enters make so that
# the detection above sees them; the inner make runs one job per core unless
# -j was given (make -j1 builds serially). The '+' before $(SUBMAKE) marks the
# line as a recursive make, so that a -j given from outside (.ci/run exports
# MAKEFLAGS=-j$(nproc)) reaches the inner make through the jobserver; without
# it the inner make warned "jobserver unavailable" and built serially.
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
SUBMAKE   = $(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))
all: deps
	+@$(SUBMAKE) build-all
build-all: $(LIB) $(EXAMPLES) $(BENCHES) $(BUILD)/tests

deps:
	@bash scripts/deps.sh

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

# The CPU kernels and the data pipeline compile at -O3: GCC vectorises their
# loops (and turns the compares of relu and its gradient into selects) only
# from -O3 on. At -O2 the CPU-sized training step was 1.2x slower, and 100
# steps with the loader 1.1x slower (docs/ENGINE.md).
$(OBJ)/core/cpu/%.o: CXXFLAGS += -O3
$(OBJ)/data/%.o: CXXFLAGS += -O3

$(OBJ)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(OBJ)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(BUILD)/tests: $(TEST_OBJS) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $(TEST_OBJS) $(LIB) -lgtest_main -lgtest $(LDLIBS)

$(BUILD)/%: examples/%.cpp $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench_%: bench/%.cpp $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Tests: GTEST_FILTER narrows them (make test GTEST_FILTER='Tensor*').
test: deps
	+@$(SUBMAKE) $(BUILD)/tests
	$(BUILD)/tests --gtest_filter='$(or $(GTEST_FILTER),*)'

# Only the vididi program is built for the demo (the test binary is the
# longest compile), so that a clean clone runs it in minutes.
run: deps
	+@$(SUBMAKE) $(BUILD)/vididi
	$(BUILD)/vididi demo

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
