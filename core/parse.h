// core/parse.h: the one way vididi turns text into numbers. Decimal only
// (no hex, octal or "inf"/"nan"), the whole text consumed, and the value
// range-checked against both the caller's range and the C++ type receiving
// it, so that "4294967312" never becomes 16 in an int. Used by the settings
// parser (configs and flags) and by readers of text fields in files.
// Not here: what to do with a refusal (the caller names the input).
#pragma once
#include <cstdint>
#include <limits>
#include <string>

namespace vd {

// Parses `text` as a decimal integer in [min, max]. On success stores it in
// *out and returns ""; otherwise returns why ("expected an integer, got
// 'x'", "expected an integer in [1, 64], got 100").
std::string parse_integer(const std::string& text, int64_t min, int64_t max, int64_t* out);

// Parses `text` as a finite decimal real ("0.1", "-2", "1e-3") in [min, max].
// Returns "" on success, else why.
std::string parse_real(const std::string& text, double min, double max, double* out);

// "true/false", "yes/no", "on/off", "1/0". Returns "" on success, else why.
std::string parse_bool(const std::string& text, bool* out);

// The shortest text that parses back to the same double ("0.1", "1e-06").
std::string format_real(double v);

}  // namespace vd
