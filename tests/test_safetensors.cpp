// Tests of layers/safetensors: a hand-built file checked byte for byte against
// the format (8-byte LE header length, JSON, data), bitwise round trips of
// every dtype, a header in another writer's style (whitespace, escapes, data in
// another order), a corpus of hostile inputs each asserting its own refusal,
// every truncation and byte flip of a valid file, writer refusals, and the
// replay of tests/fuzz/corpus/safetensors/ through the fuzz entry point.
// Encoders in torchvision's layout: test_safetensors_encoders.cpp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/bf16.h"
#include "core/random.h"
#include "layers/safetensors.h"
#include "tests/test_util.h"

// The fuzz target itself, so that the corpus replay runs exactly its code.
#include "tests/fuzz/fuzz_safetensors.cpp"

using namespace vd;
using vd::testing::error_of;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<unsigned char>;

// An 8-byte LE length (the header's own unless `declared` is given), the
// header text and the data bytes.
Bytes make_file(const std::string& header, const Bytes& data = {}, int64_t declared = -1) {
  uint64_t n = declared < 0 ? header.size() : uint64_t(declared);
  Bytes b;
  for (int k = 0; k < 8; ++k) b.push_back((unsigned char)(n >> (8 * k)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::string parse_error(const Bytes& b) {
  return error_of([&] { parse_safetensors(b, "hostile.safetensors"); });
}

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

uint64_t le_u64_of(const unsigned char* p) {
  uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= uint64_t(p[k]) << (8 * k);
  return v;
}

// Bit patterns of every element (f32/f64 via double is exact; bf16 via float).
std::vector<double> values(const Tensor& t) { return t.to_vector(); }

}  // namespace

TEST(SafetensorsFormat, HandBuiltFileByteExact) {
  SafetensorsFile f;
  f.tensors.push_back(safe_entry("a", Tensor::from_vector(std::vector<float>{1.0f, -2.5f}, {2})));
  f.tensors.push_back(safe_entry_i64("b", Tensor::full({}, 7.0, DType::F64)));
  f.metadata["k"] = "v";
  const std::string json =
      "{\"__metadata__\":{\"k\":\"v\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}    ";  // 132 + 4 spaces
  Bytes expect = {0x88, 0, 0, 0, 0, 0, 0, 0};                                // 136
  expect.insert(expect.end(), json.begin(), json.end());
  for (unsigned char c : {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0}) expect.push_back(c);  // 1.0f, -2.5f
  for (unsigned char c : {7, 0, 0, 0, 0, 0, 0, 0}) expect.push_back(c);                          // int64 7
  ASSERT_EQ(expect.size(), 160u);
  EXPECT_EQ(serialize_safetensors(f, "hand.safetensors"), expect);

  SafetensorsFile back = parse_safetensors(expect, "hand.safetensors");
  ASSERT_EQ(back.tensors.size(), 2u);
  EXPECT_EQ(back.tensors[0].name, "a");
  EXPECT_EQ(back.tensors[0].stored, SafeDType::F32);
  EXPECT_EQ(back.tensors[0].tensor.dtype(), DType::F32);
  EXPECT_EQ(values(back.tensors[0].tensor), (std::vector<double>{1.0, -2.5}));
  EXPECT_EQ(back.tensors[1].stored, SafeDType::I64);
  EXPECT_EQ(back.tensors[1].tensor.dtype(), DType::F64);
  EXPECT_EQ(back.tensors[1].tensor.shape(), Shape{});
  EXPECT_EQ(back.tensors[1].tensor.item(), 7.0);
  EXPECT_EQ(back.metadata, (std::map<std::string, std::string>{{"k", "v"}}));
}

TEST(SafetensorsFormat, RoundTripEveryDtypeBitwise) {
  Generator gen(3);
  SafetensorsFile f;
  f.tensors.push_back(safe_entry("w.f32", Tensor::randn({3, 4, 5}, &gen)));
  f.tensors.push_back(safe_entry("w.f64", Tensor::randn({7}, &gen, DType::F64)));
  Tensor bf = Tensor::empty({2, 3}, DType::BF16);
  for (int i = 0; i < 6; ++i) {
    bf16 v = float_to_bf16(float(i) * 0.37f - 1.0f);
    std::memcpy(static_cast<char*>(bf.data_ptr()) + 2 * i, &v, 2);
  }
  f.tensors.push_back(safe_entry("w.bf16", bf));
  f.tensors.push_back(safe_entry_i64("counts", Tensor::from_vector(std::vector<double>{-3, 0, 9007199254740992.0}, Shape{3})));
  f.tensors.push_back(safe_entry("scalar", Tensor::full({}, 0.5)));
  f.tensors.push_back(safe_entry("empty", Tensor::empty({0, 3})));
  f.metadata = {{"quote\"and\\slash", "line\nbreak\ttab"}, {"unicode", "caf\xc3\xa9 \xf0\x9f\x98\x80"}, {"ctl", "\x01"}};
  Bytes bytes = serialize_safetensors(f, "rt");
  EXPECT_EQ((le_u64_of(bytes.data()) + 8) % 8, 0u) << "data starts 8-byte aligned";
  SafetensorsFile back = parse_safetensors(bytes, "rt");
  ASSERT_EQ(back.tensors.size(), f.tensors.size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].name, f.tensors[i].name);
    EXPECT_EQ(back.tensors[i].stored, f.tensors[i].stored) << f.tensors[i].name;
    EXPECT_EQ(back.tensors[i].tensor.shape(), f.tensors[i].tensor.shape()) << f.tensors[i].name;
    EXPECT_EQ(values(back.tensors[i].tensor), values(f.tensors[i].tensor)) << f.tensors[i].name;
  }
  EXPECT_EQ(std::memcmp(back.tensors[2].tensor.data_ptr(), bf.data_ptr(), 12), 0);
  EXPECT_EQ(back.metadata, f.metadata);
  EXPECT_EQ(serialize_safetensors(back, "rt"), bytes);

  fs::path path = fs::temp_directory_path() / ("vd_st_rt_" + std::to_string(::getpid()) + ".safetensors");
  write_safetensors(path.string(), f);
  EXPECT_EQ(read_bytes(path.string()), bytes);
  EXPECT_EQ(values(read_safetensors(path.string()).tensors[0].tensor), values(f.tensors[0].tensor));
  fs::remove(path);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp." + std::to_string(::getpid())));
}

TEST(SafetensorsFormat, ReadsOtherWritersStyle) {
  // Pretty-printed, escapes, keys in any order, data in another order than the header.
  std::string h =
      "{\n  \"b\\u00e9\\ud83d\\ude00\\/\" : { \"shape\" : [ 1 ] , \"data_offsets\" : [ 0 , 4 ] ,\"dtype\":\"F32\"},\r\n"
      "\t\"a\": {\"dtype\": \"F64\", \"shape\": [], \"data_offsets\": [4, 12]},\n"
      "  \"z\": {\"dtype\": \"BF16\", \"shape\": [0], \"data_offsets\": [12, 12]},\n"
      "  \"__metadata__\": {\"format\": \"pt\", \"e\": \"\\\"\\\\\\b\\f\\n\\r\\t\"}\n}   ";
  Bytes data = {0, 0, 0x40, 0x40};  // 3.0f
  for (unsigned char c : {0, 0, 0, 0, 0, 0, 0xf0, 0xbf}) data.push_back(c);  // -1.0
  SafetensorsFile f = parse_safetensors(make_file(h, data), "other.safetensors");
  ASSERT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.tensors[0].name, "b\xc3\xa9\xf0\x9f\x98\x80/");
  EXPECT_EQ(f.tensors[0].tensor.item(), 3.0);
  EXPECT_EQ(f.tensors[1].tensor.item(), -1.0);
  EXPECT_EQ(f.tensors[2].tensor.numel(), 0);
  EXPECT_EQ(f.metadata.at("e"), "\"\\\b\f\n\r\t");
  // A file with no tensors at all.
  EXPECT_TRUE(parse_safetensors(make_file("{}      "), "empty").tensors.empty());
}

TEST(SafetensorsHostile, EachDefectIsRefusedWithItsReason) {
  const std::string T = "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
  const Bytes four(4, 0), eight(8, 0);
  struct Case {
    const char* what;
    Bytes bytes;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"empty file", {}, "truncated: 0 bytes"},
      {"7 bytes", Bytes(7, 0), "truncated: 7 bytes"},
      {"header length past the end", make_file("{" + T + "}", four, 1000), "but only"},
      {"header length over the cap", make_file("{}", {}, int64_t(1) << 40), "exceeds the limit"},
      {"header length 0", make_file("", {}), "start with '{'"},
      {"not an object", make_file("[1,2]"), "start with '{'"},
      {"unclosed object", make_file("{" + T, four), "',' or '}'"},
      {"missing colon", make_file("{\"t\" 1}"), "':' after a key"},
      {"trailing garbage", make_file("{" + T + "}x", four), "trailing garbage"},
      {"two objects", make_file("{}{}"), "trailing garbage"},
      {"true", make_file("{\"t\":true}"), "an object, a string or an integer array"},
      {"float dim", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", four), "no fraction"},
      {"negative dim", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", four), "non-negative integer"},
      {"leading zero", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", four), "leading zeros"},
      {"integer past u64", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]}}", four), "below 2^64"},
      {"bad escape", make_file("{\"t\\x\":{}}"), "one of the escapes"},
      {"lone low surrogate", make_file("{\"\\udc00\":{}}"), "lone"},
      {"high surrogate alone", make_file("{\"\\ud800x\":{}}"), "low surrogate"},
      {"raw control char", make_file("{\"t\n\":{}}"), "control characters"},
      {"invalid UTF-8", make_file("{\"\xc0\xaf\":{}}"), "valid UTF-8"},
      {"unterminated string", make_file("{\"abc"), "closing a string"},
      {"nested too deep", make_file("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}"), "nest at most two deep"},
      {"duplicate tensor", make_file("{" + T + "," + T + "}", four), "duplicate key \"t\""},
      {"duplicate field", make_file("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "duplicate key \"dtype\""},
      {"unknown field", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":\"y\"}}", four), "unknown field \"x\""},
      {"missing dtype", make_file("{\"t\":{\"shape\":[1],\"data_offsets\":[0,4]}}", four), "has no \"dtype\""},
      {"dtype not a string", make_file("{\"t\":{\"dtype\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", four), "\"dtype\" is an integer array"},
      {"tensor not an object", make_file("{\"t\":\"x\"}"), "expected an object"},
      {"unknown dtype F16", make_file("{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", four), "dtype \"F16\""},
      {"unknown dtype Q4", make_file("{\"t\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "dtype \"Q4\""},
      {"overflowing shape", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", four), "overflows 64 bits"},
      {"overflowing bytes", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,1],\"data_offsets\":[0,4]}}", four), "needs more bytes"},
      {"shape larger than data", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[0,4000]}}", four), "needs more bytes"},
      {"rank 9", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", four), "rank 9"},
      {"offsets out of bounds", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", four), "begin <= end <= 4"},
      {"offsets reversed", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", four), "begin <= end"},
      {"one offset", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", four), "expected [begin, end]"},
      {"size mismatch", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", eight), "span 8"},
      {"overlap", make_file("{\"t\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},\"u\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight), "overlaps"},
      {"gap", make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", eight), "belong to no tensor (gap"},
      {"uncovered tail", make_file("{" + T + "}", eight), "at the end of the data region"},
      {"metadata non-string", make_file("{\"__metadata__\":{\"k\":[1]}}"), "expected a string"},
      {"metadata not an object", make_file("{\"__metadata__\":\"x\"}"), "expected an object"},
      {"empty name", make_file("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", four), "empty name"},
      {"I64 too large a tensor", make_file("{\"t\":{\"dtype\":\"I64\",\"shape\":[4097],\"data_offsets\":[0,32776]}}", Bytes(32776, 0)), "at most 4096"},
      {"I64 past 2^53", make_file("{\"t\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", {1, 0, 0, 0, 0, 0, 0x20, 0}), "|v| <= 2^53"},
  };
  for (const Case& c : cases) {
    std::string err = parse_error(c.bytes);
    EXPECT_NE(err.find(c.expect), std::string::npos) << c.what << ": " << err;
    EXPECT_NE(err.find("hostile.safetensors"), std::string::npos) << c.what << ": " << err;
  }
}

TEST(SafetensorsHostile, EveryTruncationAndByteFlipRaisesOrParses) {
  SafetensorsFile f;
  f.tensors.push_back(safe_entry("a.weight", Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3})));
  f.tensors.push_back(safe_entry_i64("a.num_batches_tracked", Tensor::full({}, 12.0, DType::F64)));
  f.metadata["vididi.encoder"] = "r3d_18";
  const Bytes good = serialize_safetensors(f, "good");
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + long(n));
    EXPECT_NE(parse_error(cut), "(no error)") << "cut at " << n;
  }
  size_t parsed = 0;
  for (size_t i = 0; i < good.size(); ++i)
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      Bytes b = good;
      b[i] ^= flip;
      try {
        parse_safetensors(b, "flipped");
        ++parsed;  // e.g. a flipped data byte or metadata letter: still a valid file
      } catch (const Error&) {
      }
    }
  EXPECT_GT(parsed, 0u);
}

TEST(SafetensorsWriter, RefusesWhatTheReaderWould) {
  auto err = [](SafetensorsFile f) { return error_of([&] { serialize_safetensors(f, "out.safetensors"); }); };
  Tensor x = Tensor::zeros({2});
  EXPECT_NE(err({{safe_entry("a", x), safe_entry("a", x)}, {}}).find("repeated"), std::string::npos);
  EXPECT_NE(err({{safe_entry("__metadata__", x)}, {}}).find("reserved"), std::string::npos);
  EXPECT_NE(err({{safe_entry_i64("n", Tensor::full({}, 1.5))}, {}}).find("expected an integer"), std::string::npos);
  EXPECT_NE(err({{safe_entry_i64("n", Tensor::zeros({4097}))}, {}}).find("at most 4096"), std::string::npos);
  EXPECT_NE(err({{SafetensorsEntry{"a", x, SafeDType::F64}}, {}}).find("cast it first"), std::string::npos);
  EXPECT_NE(err({{safe_entry("bad\xff", x)}, {}}).find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(err({{}, {{"k", "\xc3"}}}).find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(error_of([&] { write_safetensors("/nonexistent-dir/x.safetensors", {}); }).find("cannot create"),
            std::string::npos);
}

TEST(SafetensorsFuzzCorpus, EveryFileParsesOrRaisesVdError) {
  const fs::path dir = "tests/fuzz/corpus/safetensors";
  ASSERT_TRUE(fs::is_directory(dir)) << "run the tests from the repository root";
  size_t valid = 0, invalid = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    Bytes b = read_bytes(entry.path().string());
    EXPECT_EQ(LLVMFuzzerTestOneInput(b.data(), b.size()), 0) << name;
    std::string err = error_of([&] { parse_safetensors(b, name); });
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_EQ(err, "(no error)") << name;
      ++valid;
    } else {
      EXPECT_NE(err, "(no error)") << name;
      EXPECT_NE(err.find(name), std::string::npos) << err;
      ++invalid;
    }
  }
  EXPECT_GE(valid, 3u);
  EXPECT_GE(invalid, 6u);
}
