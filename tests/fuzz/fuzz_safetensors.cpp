// libFuzzer entry point for the safetensors reader (layers/safetensors.h):
// any input either parses or raises vd::Error; a crash, a sanitizer report or
// any other exception is a bug. Seed corpus: tests/fuzz/corpus/safetensors/
// (replayed on every machine by tests/test_safetensors.cpp, which includes
// this file). Not built by the Makefile's test rules (tests/*.cpp only); build
// it with clang, e.g. (one line)
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/fuzz_safetensors.cpp
//     layers/safetensors.cpp layers/safetensors_json.cpp build-cpu/libvididi.a -pthread -lopenblas
//     -o fuzz_safetensors
//   ./fuzz_safetensors -max_len=4096 CORPUS_COPY/   (a writable copy of the seed corpus)
// (the two parser files instrumented; the rest of the library, e.g. a CUDA=0
// build, as it is; drop -lopenblas for a BLAS=0 build). Seed files named
// valid_* must parse, every other one must raise vd::Error.
#include <cstddef>
#include <cstdint>

#include "core/errors.h"
#include "layers/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vd::parse_safetensors(data, size, "fuzz-input");
  } catch (const vd::Error&) {
  }
  return 0;
}
