// Replays the seed corpora of the fuzz targets (tests/fuzz/corpus/<kind>/)
// through the same entry points `make fuzz` runs (tests/fuzz/fuzz_readers.h):
// every valid_* file must be accepted, every other file refused with the
// reader's own error type, and the refusals listed below must say exactly
// what they say (integer overflow, nan/inf, duplicate keys, NUL bytes,
// truncation, ...). Not here: the fuzzing itself (make fuzz).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "tests/fuzz/fuzz_readers.h"

namespace fs = std::filesystem;

namespace {

using Reader = std::function<bool(const uint8_t*, size_t, std::string*)>;

// kind/file -> a part of the refusal's message.
const std::map<std::string, std::string> kRefusals = {
    {"checkpoint/invalid_crc", "checkpoint fuzz.vdc: corrupt"},
    {"checkpoint/invalid_empty", "checkpoint fuzz.vdc: truncated: 0 bytes, the header alone needs 48"},
    {"checkpoint/invalid_nan", "checkpoint fuzz.vdc: tensor 'model/w' (shape [2, 2]) holds NaN or inf at element 1"},
    {"checkpoint/invalid_step", "checkpoint fuzz.vdc: meta/step is -5; expected a step in [0, 2^53)"},
    {"checkpoint/invalid_truncated", "the file is truncated or was not fully written"},
    {"features/invalid_inf", "fuzz.vdf: feature 1 of clip 1 of video 0 is inf; expected finite values"},
    {"features/invalid_label", "fuzz.vdf: video 0 has label -1, expected 0 <= label < 2"},
    {"features/invalid_overflow", "fuzz.vdf: header says 1073741824 videos x 2 clips x 2 dims (24 GiB), the file has 100 bytes"},
    {"features/invalid_truncated", "fuzz.vdf: expected the feature values (32 bytes)"},
    {"image/invalid_dht_over_256_codes", "a Huffman table (DHT) declares 703 codes; a JPEG has at most 256"},
    {"image/invalid_dht_past_its_segment", "a Huffman table (DHT) declares 703 codes; a JPEG has at most 256"},
    {"image/invalid_dht_after_fill_bytes", "a Huffman table (DHT) declares 1013 codes; a JPEG has at most 256"},
    {"image/invalid_text", "fuzz.img: cannot decode image"},
    {"image/invalid_truncated_png", "fuzz.img: cannot decode image"},
    {"settings/invalid_duplicate", "key 'lr' given twice (fuzz.cfg:1 and fuzz.cfg:2)"},
    {"settings/invalid_hex", "expected a finite number"},
    {"settings/invalid_inf", "expected a finite number"},
    {"settings/invalid_nan", "expected a finite number"},
    {"settings/invalid_nul", "NUL"},
    {"settings/invalid_overflow", "expected an integer in [8, 4096], got 4294967312"},
    {"settings/invalid_unknown_key", "unknown key 'bogus'"},
    {"splits/invalid_duplicate_index", "fuzz.txt:2: expected"},
    {"splits/invalid_empty", "fuzz.txt"},
    {"splits/invalid_nul", "fuzz.txt:1: expected text, got a NUL byte at column 4"},
    {"splits/invalid_overflow", "fuzz.txt:2: expected"},
};

void replay(const std::string& kind, const Reader& read) {
  const fs::path dir = "tests/fuzz/corpus/" + kind;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " (run the tests from the repository root)";
  int valid = 0, invalid = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::ifstream f(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::string name = e.path().filename().string(), key = kind + "/" + name;
    std::string why;
    const bool ok = read(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &why);
    if (name.rfind("valid_", 0) == 0) {
      ++valid;
      EXPECT_TRUE(ok) << key << ": " << why;
      continue;
    }
    ++invalid;
    EXPECT_FALSE(ok) << key << " was accepted";
    auto want = kRefusals.find(key);
    ASSERT_NE(want, kRefusals.end()) << key << ": add its expected refusal to kRefusals (it said: " << why << ")";
    EXPECT_NE(why.find(want->second), std::string::npos) << key << ": " << why;
  }
  EXPECT_GE(valid, 1) << kind;
  EXPECT_GE(invalid, 1) << kind;
}

}  // namespace

TEST(FuzzCorpus, Checkpoint) { replay("checkpoint", vd::fuzz::checkpoint); }
TEST(FuzzCorpus, Settings) { replay("settings", vd::fuzz::settings); }
TEST(FuzzCorpus, Splits) { replay("splits", vd::fuzz::splits); }
TEST(FuzzCorpus, Features) { replay("features", vd::fuzz::features); }
TEST(FuzzCorpus, Image) { replay("image", vd::fuzz::image); }
