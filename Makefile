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
# MPI (Open MPI, or MPICH through MPI_CFLAGS/MPI_LIBS) runs the CPU collectives
# and carries NCCL's unique id when mpicxx is found (MPI=0 forces it off: the
# mpi backend then says it was built without MPI). NCCL (CUDA=1 builds whose
# $(CUDA_HOME)/include has nccl.h; NCCL=0 forces it off) runs the GPU
# collectives. Only dist/mpi.cpp and dist/nccl.cpp look at VD_MPI / VD_NCCL.
MPI ?= $(shell command -v mpicxx >/dev/null 2>&1 && echo 1 || echo 0)
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90

OPT      ?= -O2
CXXFLAGS := -std=c++17 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -fPIC -pthread -I. -I$(BUILD)/gen -MMD -MP
NVFLAGS  := -std=c++17 $(OPT) -I. $(CUDA_ARCH) -Xcompiler -fPIC,-pthread -MMD -MP --expt-relaxed-constexpr
LDLIBS   := -pthread -lm

LIB_DIRS := core core/cpu core/cpu/fast autograd dist layers layers/optim vididi vididi/config vididi/models vididi/eval vididi/cli data
# vididi/cli/main.cpp is the vididi program's main(), not part of the library.
MAIN_SRC := vididi/cli/main.cpp
LIB_SRCS := $(filter-out $(MAIN_SRC),$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp)))
ifeq ($(CUDA),1)
CU_SRCS  := $(wildcard cuda/*.cu) $(wildcard cuda/*.cpp)
CXXFLAGS += -DVD_CUDA=1 -I$(CUDA_HOME)/include
LDLIBS   += -L$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcudart_static -ldl -lrt
else
CU_SRCS  := cuda/stub/cuda_stub.cpp
endif
ifeq ($(CUDA),1)
NCCL ?= $(shell [ -f $(CUDA_HOME)/include/nccl.h ] && echo 1 || echo 0)
else
override NCCL := 0
endif
ifeq ($(NCCL),1)
CXXFLAGS += -DVD_NCCL=1
LDLIBS   += -lnccl
endif
ifeq ($(MPI),1)
MPI_CFLAGS ?= $(shell mpicxx --showme:compile 2>/dev/null || mpicxx -compile_info 2>/dev/null | tr ' ' '\n' | grep -E '^-(I|D|pthread)')
MPI_LIBS   ?= $(shell mpicxx --showme:link 2>/dev/null || mpicxx -link_info 2>/dev/null | tr ' ' '\n' | grep -E '^-(L|l|Wl|pthread)')
CXXFLAGS += -DVD_MPI=1 $(MPI_CFLAGS)
LDLIBS   += $(MPI_LIBS)
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
# The multi-process tests (tests/mpi/, own main): run under mpirun by the
# main suite's tests/test_dist_mpirun.cpp, or by hand:
#   mpirun -np 2 --oversubscribe build/mpi_tests
MPI_TEST_OBJS := $(patsubst %.cpp,$(OBJ)/%.o,$(wildcard tests/mpi/*.cpp))
EXAMPLES := $(patsubst examples/%.cpp,$(BUILD)/%,$(wildcard examples/*.cpp)) $(BUILD)/vididi
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
build-all: $(LIB) $(EXAMPLES) $(BENCHES) $(BUILD)/tests $(BUILD)/mpi_tests

deps:
	@bash scripts/deps.sh

# The code version is baked in at build time (vididi/run_dir.cpp's
# code_version()): `git describe` of this source tree when it is the top of
# a git checkout, else "unknown" with the reason. The header is rewritten
# only when the text changes, so that an unchanged tree rebuilds nothing.
VERSION_H := $(BUILD)/gen/vididi_version.h
VD_VERSION := $(shell if [ "$$(git -C '$(CURDIR)' rev-parse --show-toplevel 2>/dev/null)" = '$(CURDIR)' ]; then \
  git -C '$(CURDIR)' describe --always --dirty 2>/dev/null || echo 'unknown (git describe failed)'; \
  else echo 'unknown (built outside a git checkout)'; fi)
.PHONY: FORCE
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@echo '#define VD_CODE_VERSION "$(VD_VERSION)"' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv $@.new $@
$(OBJ)/vididi/run_dir.o: $(VERSION_H)

# The build's flags (CUDA, NCCL, MPI, OpenBLAS and FFmpeg are detected above,
# so they change once scripts/deps.sh has installed a package) are stamped
# here, rewritten only when they change; every object depends on the stamp.
# So a build begun before the packages were there is rebuilt with them, not
# left mixed (objects with and without OpenBLAS train differently).
FLAGS_STAMP := $(BUILD)/gen/build_flags
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(CXX) $(CXXFLAGS) | $(NVCC) $(NVFLAGS) | $(LDLIBS)' > $@.new
	@cmp -s $@.new $@ && rm -f $@.new || mv $@.new $@

# The archive is written afresh each time: `ar r` only adds and replaces
# members, so an object whose source was renamed or removed would otherwise
# stay in it (and several objects share a base name, e.g. gemm.o).
$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The CPU kernels (core/cpu/ and its fast/ paths: the pattern's % matches
# sub-folders) and the data pipeline compile at -O3: GCC vectorises their
# loops (and turns the compares of relu and its gradient into selects) only
# from -O3 on. At -O2 the CPU-sized training step was 1.2x slower, and 100
# steps with the loader 1.1x slower (docs/CPU_PERFORMANCE.md).
$(OBJ)/core/cpu/%.o: CXXFLAGS += -O3
$(OBJ)/data/%.o: CXXFLAGS += -O3

$(OBJ)/%.o: %.cpp $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(OBJ)/%.cu.o: %.cu $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

$(BUILD)/tests: $(TEST_OBJS) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $(TEST_OBJS) $(LIB) -lgtest_main -lgtest $(LDLIBS)

$(BUILD)/mpi_tests: $(MPI_TEST_OBJS) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $(MPI_TEST_OBJS) $(LIB) -lgtest $(LDLIBS)

$(BUILD)/vididi: $(MAIN_SRC) $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/%: examples/%.cpp $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/bench_%: bench/%.cpp $(LIB)
	$(CXX) $(CXXFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Tests: GTEST_FILTER narrows them (make test GTEST_FILTER='Tensor*'). The
# multi-process tests run from the main suite (DistMpirun.*, DistCli.*),
# which finds mpi_tests and the vididi program next to the tests binary.
test: deps
	+@$(SUBMAKE) $(BUILD)/tests $(BUILD)/mpi_tests $(BUILD)/vididi
	$(BUILD)/tests --gtest_filter='$(or $(GTEST_FILTER),*)'

# Only the vididi program is built for the demo (the test binary is the
# longest compile), so that a clean clone runs it in minutes.
run: deps
	+@$(SUBMAKE) $(BUILD)/vididi
	$(BUILD)/vididi demo

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- fuzzing and sanitizers (docs/RELIABILITY.md) -------------------------------
# `make fuzz`: each reader of untrusted bytes (tests/fuzz/fuzz_*.cpp) built with
# clang++ -fsanitize=fuzzer,address,undefined against the library's sources
# (CUDA=0, BLAS as detected), then run for FUZZ_RUNS executions from a copy
# of its seed corpus (tests/fuzz/corpus/<kind>/). A crash, sanitizer report
# or stray exception stops make with the reproducer in $(FUZZ_BUILD)/<kind>/.
# `make sanitize`: the whole suite built with -fsanitize=address,undefined
# into its own folder and run (SAN_FILTER skips the slowest learning test);
# third-party findings are suppressed in tests/sanitizer/ubsan.supp, each with its reason
# (shift checks are recoverable so that the suppressions apply; halt_on_error stops on the rest).
FUZZ_CXX   ?= clang++
FUZZ_RUNS  ?= 20000
FUZZ_BUILD ?= build-fuzz
FUZZ_KINDS := safetensors checkpoint settings splits features image
FUZZ_SRCS  := $(filter-out $(MAIN_SRC),$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp))) cuda/stub/cuda_stub.cpp
FUZZ_FLAGS := -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -pthread -I. -I$(FUZZ_BUILD)/gen $(if $(filter 1,$(BLAS)),-DVD_OPENBLAS=1 -I/usr/include/x86_64-linux-gnu/openblas-pthread)
FUZZ_LIBS  := -pthread -lm $(if $(filter 1,$(BLAS)),-lopenblas)
.PHONY: fuzz sanitize
$(FUZZ_BUILD)/libfuzzlib.a: $(FUZZ_SRCS)
	@mkdir -p $(FUZZ_BUILD)/obj $(FUZZ_BUILD)/gen
	@echo '#define VD_CODE_VERSION "fuzz"' > $(FUZZ_BUILD)/gen/vididi_version.h
	cd $(FUZZ_BUILD)/obj && printf '%s\n' $(addprefix $(CURDIR)/,$(FUZZ_SRCS)) | \
	  xargs -P $(JOBS) -I{} sh -c '$(FUZZ_CXX) $(subst -fsanitize=fuzzer$(comma),-fsanitize=fuzzer-no-link$(comma),$(FUZZ_FLAGS)) -I$(CURDIR) -I$(CURDIR)/$(FUZZ_BUILD)/gen -c {} -o $$(echo {} | tr / _).o'
	rm -f $@ && ar rcs $@ $(FUZZ_BUILD)/obj/*.o
comma := ,
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.cpp tests/fuzz/fuzz_readers.h $(FUZZ_BUILD)/libfuzzlib.a
	$(FUZZ_CXX) $(FUZZ_FLAGS) $< $(FUZZ_BUILD)/libfuzzlib.a $(FUZZ_LIBS) -o $@
fuzz: $(addprefix $(FUZZ_BUILD)/fuzz_,$(FUZZ_KINDS))
	@set -e; for k in $(FUZZ_KINDS); do \
	  rm -rf $(FUZZ_BUILD)/$$k && mkdir -p $(FUZZ_BUILD)/$$k/corpus && cp tests/fuzz/corpus/$$k/* $(FUZZ_BUILD)/$$k/corpus/; \
	  echo "fuzz $$k: $(FUZZ_RUNS) runs"; \
	  ( cd $(FUZZ_BUILD)/$$k && ../fuzz_$$k -runs=$(FUZZ_RUNS) -max_len=4096 -rss_limit_mb=4096 -malloc_limit_mb=2048 \
	      -print_final_stats=1 corpus > fuzz.log 2>&1 ) || { tail -40 $(FUZZ_BUILD)/$$k/fuzz.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|Done' $(FUZZ_BUILD)/$$k/fuzz.log | tr '\n' ' '; echo; \
	done

SAN_BUILD  ?= build-san
SAN_FILTER ?= -VididiLearns.*
sanitize:
	+@$(MAKE) --no-print-directory CUDA=0 BUILD=$(SAN_BUILD) CXX=clang++ OPT='-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -fsanitize-recover=shift-base' $(SAN_BUILD)/tests $(SAN_BUILD)/mpi_tests $(SAN_BUILD)/vididi
	ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/sanitizer/ubsan.supp \
	  $(SAN_BUILD)/tests --gtest_filter='$(SAN_FILTER)'
