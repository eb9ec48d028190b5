// core/parse.cpp: checked decimal parsing (see parse.h).
#include "core/parse.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vd {

namespace {
// Digits with an optional sign: what strtoll would accept in base 10,
// without its leading blanks.
bool decimal_integer(const std::string& t) {
  size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

// Sign, digits, optional '.', digits, optional exponent: no hex floats,
// no "inf", no "nan".
bool decimal_real(const std::string& t) {
  size_t i = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  size_t digits = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
    size_t exp = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == t.size();
}

std::string range_text(double min, double max) {
  const bool lo = std::isfinite(min) && min > -9.2e18, hi = std::isfinite(max) && max < 9.2e18;
  if (lo && hi) return "in [" + format_real(min) + ", " + format_real(max) + "]";
  if (lo) return ">= " + format_real(min);
  if (hi) return "<= " + format_real(max);
  return "";
}
}  // namespace

std::string parse_integer(const std::string& text, int64_t min, int64_t max, int64_t* out) {
  const std::string range = range_text(double(min), double(max));
  const std::string expected = "expected an integer" + (range.empty() ? "" : " " + range);
  if (!decimal_integer(text)) return expected + ", got '" + text + "'";
  errno = 0;
  long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno == ERANGE || v < min || v > max) return expected + ", got " + text;
  *out = v;
  return "";
}

std::string parse_real(const std::string& text, double min, double max, double* out) {
  const std::string range = range_text(min, max);
  const std::string expected = "expected a finite number" + (range.empty() ? "" : " " + range);
  if (!decimal_real(text)) return expected + ", got '" + text + "'";
  errno = 0;
  double v = std::strtod(text.c_str(), nullptr);
  if (errno == ERANGE && std::fabs(v) > 1) return expected + ", got " + text + " (too large)";
  if (!std::isfinite(v) || v < min || v > max) return expected + ", got " + text;
  *out = v;
  return "";
}

std::string parse_bool(const std::string& v, bool* out) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return *out = true, "";
  if (v == "0" || v == "false" || v == "no" || v == "off") return *out = false, "";
  return "expected true or false, got '" + v + "'";
}

std::string format_real(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {  // whole numbers as integers: "1000", not "1e+03"
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace vd
