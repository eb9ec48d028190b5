// The strict JSON subset that a safetensors header is written in: objects,
// strings (with every JSON escape, \uXXXX surrogate pairs included, UTF-8
// validated) and arrays of non-negative integers (at most u64). Nothing else is
// accepted: no numbers outside arrays, no signs, fractions or exponents, no
// true/false/null, no nested arrays, objects at most two deep, no duplicate
// keys, nothing but whitespace after the top-level object. Written for hostile
// input: every defect raises vd::Error naming the file, the byte and what was
// expected. Not a general JSON library; used by layers/safetensors.cpp only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vd::stjson {

struct Value {
  enum class Kind : uint8_t { Object, String, IntArray };
  Kind kind = Kind::Object;
  std::string str;                 // Kind::String
  std::vector<uint64_t> ints;      // Kind::IntArray
  std::vector<std::string> keys;   // Kind::Object, in file order (unique)
  std::vector<Value> values;       // Kind::Object, values[i] belongs to keys[i]
};

// Parses `n` bytes as one JSON object followed only by whitespace. `path`
// names the file in errors; byte positions count from `base` (the header's
// offset in the file, 8 for safetensors).
Value parse(const char* data, size_t n, const std::string& path, size_t base);

// `s` as a JSON string literal (quotes, escapes for '"', '\\' and control
// characters; other bytes as they are). Throws unless s is valid UTF-8.
std::string quote(const std::string& s, const std::string& what);

// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(const std::string& s);

const char* kind_name(Value::Kind k);

}  // namespace vd::stjson
