// The strict JSON subset of safetensors headers (see safetensors_json.h): a
// recursive-descent parser with a depth limit of two objects, and the string
// quoting the writer uses. Grammar from RFC 8259, restricted as the header
// says. Not a general JSON library.
#include "layers/safetensors_json.h"

#include "core/errors.h"

namespace vd::stjson {

const char* kind_name(Value::Kind k) {
  return k == Value::Kind::Object ? "an object" : k == Value::Kind::String ? "a string" : "an integer array";
}

bool valid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return false;
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string quote(const std::string& s, const std::string& what) {
  VD_CHECK(valid_utf8(s), "safetensors: " << what << " is not valid UTF-8; hint: JSON headers hold UTF-8 text only");
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

namespace {

class Parser {
 public:
  Parser(const char* data, size_t n, const std::string& path, size_t base)
      : p_(data), n_(n), path_(path), base_(base) {}

  Value document() {
    skip_ws();
    expect_byte('{', "'{' (a header is one JSON object)");
    Value v = object(1);
    skip_ws();
    if (i_ != n_) fail("nothing but whitespace after the header object (trailing garbage)");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& expected) const {
    std::string got = i_ >= n_ ? std::string("the end of the header") : describe(p_[i_]);
    VD_FAIL("safetensors " << path_ << ": corrupt header at byte " << base_ + i_ << ": expected "
                           << expected << ", got " << got
                           << "; hint: the file is damaged or not a safetensors file");
  }
  static std::string describe(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
    static const char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }
  void skip_ws() {
    while (i_ < n_ && (p_[i_] == ' ' || p_[i_] == '\t' || p_[i_] == '\n' || p_[i_] == '\r')) ++i_;
  }
  void expect_byte(char c, const char* what) {
    if (i_ >= n_ || p_[i_] != c) fail(what);
    ++i_;
  }
  bool peek(char c) const { return i_ < n_ && p_[i_] == c; }

  // After '{'. depth 1 = the top-level object.
  Value object(int depth) {
    Value v;
    v.kind = Value::Kind::Object;
    skip_ws();
    if (peek('}')) {
      ++i_;
      return v;
    }
    for (;;) {
      skip_ws();
      size_t key_at = i_;
      expect_byte('"', "'\"' starting a key");
      std::string key = string_body();
      for (const std::string& k : v.keys)
        if (k == key) {
          i_ = key_at;
          fail("a new key (duplicate key \"" + key + "\")");
        }
      skip_ws();
      expect_byte(':', "':' after a key");
      skip_ws();
      v.keys.push_back(std::move(key));
      v.values.push_back(value(depth));
      skip_ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      expect_byte('}', "',' or '}' in an object");
      return v;
    }
  }

  Value value(int depth) {
    Value v;
    if (peek('"')) {
      ++i_;
      v.kind = Value::Kind::String;
      v.str = string_body();
    } else if (peek('[')) {
      ++i_;
      v.kind = Value::Kind::IntArray;
      v.ints = int_array();
    } else if (peek('{')) {
      if (depth >= 2) fail("a string or an integer array (objects nest at most two deep)");
      ++i_;
      v = object(depth + 1);
    } else {
      fail("an object, a string or an integer array");
    }
    return v;
  }

  // After '['.
  std::vector<uint64_t> int_array() {
    std::vector<uint64_t> out;
    skip_ws();
    if (peek(']')) {
      ++i_;
      return out;
    }
    for (;;) {
      skip_ws();
      out.push_back(integer());
      skip_ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      expect_byte(']', "',' or ']' in an integer array");
      return out;
    }
  }

  uint64_t integer() {
    if (i_ >= n_ || p_[i_] < '0' || p_[i_] > '9') fail("a non-negative integer");
    if (p_[i_] == '0' && i_ + 1 < n_ && p_[i_ + 1] >= '0' && p_[i_ + 1] <= '9')
      fail("an integer without leading zeros");
    uint64_t v = 0;
    while (i_ < n_ && p_[i_] >= '0' && p_[i_] <= '9') {
      uint64_t d = uint64_t(p_[i_] - '0');
      if (v > (UINT64_MAX - d) / 10) fail("an integer below 2^64");
      v = v * 10 + d;
      ++i_;
    }
    if (i_ < n_ && (p_[i_] == '.' || p_[i_] == 'e' || p_[i_] == 'E')) fail("an integer (no fraction or exponent)");
    return v;
  }

  unsigned hex4() {
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      if (i_ >= n_) fail("4 hex digits after \\u");
      char c = p_[i_];
      unsigned d = c >= '0' && c <= '9' ? unsigned(c - '0')
                   : c >= 'a' && c <= 'f' ? unsigned(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? unsigned(c - 'A' + 10)
                                          : 16u;
      if (d == 16) fail("4 hex digits after \\u");
      v = v * 16 + d;
      ++i_;
    }
    return v;
  }

  static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += char(cp);
    } else if (cp < 0x800) {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += char(0xE0 | (cp >> 12));
      s += char(0x80 | ((cp >> 6) & 0x3F));
      s += char(0x80 | (cp & 0x3F));
    } else {
      s += char(0xF0 | (cp >> 18));
      s += char(0x80 | ((cp >> 12) & 0x3F));
      s += char(0x80 | ((cp >> 6) & 0x3F));
      s += char(0x80 | (cp & 0x3F));
    }
  }

  // After the opening quote; consumes the closing one.
  std::string string_body() {
    size_t start = i_;
    std::string s;
    for (;;) {
      if (i_ >= n_) fail("'\"' closing a string");
      unsigned char c = static_cast<unsigned char>(p_[i_]);
      if (c == '"') {
        ++i_;
        break;
      }
      if (c < 0x20) fail("a string character (control characters must be escaped)");
      if (c != '\\') {
        s += char(c);
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= n_) fail("an escape after '\\'");
      char e = p_[i_++];
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a high surrogate before a low one (lone \\uDC00-\\uDFFF)");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!(i_ + 1 < n_ && p_[i_] == '\\' && p_[i_ + 1] == 'u')) fail("\\u and a low surrogate after a high one");
            i_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("a low surrogate (\\uDC00-\\uDFFF) after a high one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(s, cp);
          break;
        }
        default:
          --i_;
          fail("one of the escapes \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
      }
    }
    if (!valid_utf8(s)) {
      i_ = start;
      fail("a string of valid UTF-8");
    }
    return s;
  }

  const char* p_;
  size_t n_, i_ = 0;
  const std::string& path_;
  size_t base_;
};

}  // namespace

Value parse(const char* data, size_t n, const std::string& path, size_t base) {
  return Parser(data, n, path, base).document();
}

}  // namespace vd::stjson
