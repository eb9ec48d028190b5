// tests/fuzz/fuzz_settings.cpp: libFuzzer main for the settings reader (vd::fuzz::settings in
// tests/fuzz/fuzz_readers.h). Built and run by `make fuzz` with
// -fsanitize=fuzzer,address,undefined; seed corpus tests/fuzz/corpus/settings/,
// replayed in `make test` by tests/test_fuzz_corpus.cpp. Not a gtest.
#include "tests/fuzz/fuzz_readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vd::fuzz::settings(data, size);
  return 0;
}
