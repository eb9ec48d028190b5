// golden_io.h -- header-only reader for VDG1 golden files written by
// tests/golden/golden_io.py, plus the deterministic parameter fill rule.
//
// Test support only: C++17 and the standard library, no engine headers, so it
// can be included by any test. It reads; it does not write, and it does not
// permute layouts (values stay in PyTorch layout, NCDHW / [Cout,Cin,kT,kH,kW];
// the test converts to the engine's channels-last layout). Format and fill
// rule: docs/GOLDEN.md.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace vd::golden {

enum Dtype : int { kF32 = 0, kF64 = 1, kI64 = 2 };

struct Entry {
    std::string name;
    int dtype = kF64;              // Dtype code as stored (values are widened to double)
    std::vector<int64_t> shape;    // PyTorch layout; empty = scalar
    std::vector<double> values;    // row-major; i64 values are exact below 2^53
    int64_t numel() const { return static_cast<int64_t>(values.size()); }
};

namespace detail {

inline std::runtime_error bad_file(const std::string& path, const std::string& what) {
    return std::runtime_error("golden file " + path + ": " + what);
}

// Little-endian cursor over the whole file; every read is bounds-checked.
class Cursor {
public:
    Cursor(const std::string& path, std::vector<unsigned char> bytes)
        : path_(path), bytes_(std::move(bytes)) {}

    uint64_t uint(int nbytes, const char* what) {
        need(static_cast<size_t>(nbytes), what);
        uint64_t v = 0;
        for (int k = 0; k < nbytes; ++k) v |= static_cast<uint64_t>(bytes_[pos_ + k]) << (8 * k);
        pos_ += nbytes;
        return v;
    }
    std::string text(size_t n, const char* what) {
        need(n, what);
        std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    void need(size_t n, const char* what) const {
        if (bytes_.size() - pos_ < n)
            throw bad_file(path_, std::string("expected ") + what + " at byte " + std::to_string(pos_) +
                                      " but the file ends at byte " + std::to_string(bytes_.size()));
    }
    size_t pos() const { return pos_; }
    size_t size() const { return bytes_.size(); }

private:
    std::string path_;
    std::vector<unsigned char> bytes_;
    size_t pos_ = 0;
};

inline double decode(uint64_t bits, int dtype) {
    if (dtype == kF32) {
        uint32_t b = static_cast<uint32_t>(bits);
        float f;
        std::memcpy(&f, &b, 4);
        return f;
    }
    if (dtype == kF64) {
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
    }
    return static_cast<double>(static_cast<int64_t>(bits));
}

inline Entry read_entry(Cursor& in, const std::string& path) {
    Entry e;
    size_t name_len = in.uint(2, "u16 name length");
    e.name = in.text(name_len, "entry name bytes");
    e.dtype = static_cast<int>(in.uint(1, "u8 dtype"));
    if (e.dtype != kF32 && e.dtype != kF64 && e.dtype != kI64)
        throw bad_file(path, "entry '" + e.name + "': expected dtype 0 (f32), 1 (f64) or 2 (i64), got " +
                                 std::to_string(e.dtype));
    size_t ndim = in.uint(1, "u8 ndim");
    uint64_t count = 1;
    for (size_t d = 0; d < ndim; ++d) {
        int64_t dim = static_cast<int64_t>(in.uint(8, "i64 dimension"));
        if (dim < 0) throw bad_file(path, "entry '" + e.name + "': expected non-negative dimensions");
        e.shape.push_back(dim);
        if (dim != 0 && count > in.size() / static_cast<uint64_t>(dim))
            throw bad_file(path, "entry '" + e.name + "': expected dimensions whose product fits in the file");
        count *= static_cast<uint64_t>(dim);
    }
    int width = e.dtype == kF32 ? 4 : 8;
    in.need(count * width, ("data of entry '" + e.name + "'").c_str());
    e.values.resize(count);
    for (uint64_t k = 0; k < count; ++k) e.values[k] = decode(in.uint(width, "value"), e.dtype);
    return e;
}

}  // namespace detail

// Reads every entry of a VDG1 file. Throws std::runtime_error naming the path
// and what was expected on a missing, truncated or malformed file.
inline std::map<std::string, Entry> load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw detail::bad_file(path, "expected a readable file (could not open it)");
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    detail::Cursor in(path, std::move(bytes));
    if (in.text(4, "magic \"VDG1\"") != "VDG1") throw detail::bad_file(path, "expected magic \"VDG1\"");
    uint64_t version = in.uint(4, "u32 version");
    if (version != 1) throw detail::bad_file(path, "expected version 1, got " + std::to_string(version));
    uint64_t count = in.uint(4, "u32 entry count");
    std::map<std::string, Entry> out;
    for (uint64_t k = 0; k < count; ++k) {
        Entry e = detail::read_entry(in, path);
        std::string name = e.name;
        if (!out.emplace(name, std::move(e)).second)
            throw detail::bad_file(path, "expected unique entry names, '" + name + "' repeats");
    }
    if (in.pos() != in.size())
        throw detail::bad_file(path, "expected end of file after " + std::to_string(count) + " entries, found " +
                                         std::to_string(in.size() - in.pos()) + " more bytes");
    return out;
}

// Looks one entry up, with an error naming the file's key and what is missing.
inline const Entry& get(const std::map<std::string, Entry>& file, const std::string& name) {
    auto it = file.find(name);
    if (it == file.end()) throw std::runtime_error("golden entry '" + name + "' not found");
    return it->second;
}

// ------------------------------------------------------------------ fill rule
// value = f(u), u = (splitmix64(fnv1a64(name) ^ (i * 0x9E3779B97F4A7C15)) >> 11) * 2^-53,
// i = flat index in PyTorch layout. Bit-identical to golden_io.py's fill().

enum class FillKind {
    Weight,       // conv/linear weight: (2u-1)/sqrt(fan_in)
    Bias,         // conv/linear bias:   (2u-1)/sqrt(fan_in of its layer)
    BnWeight,     // 1 + 0.1*(2u-1)
    BnBias,       // 0.1*(2u-1)
    RunningMean,  // 0
    RunningVar,   // 1
    Uniform,      // bound*(2u-1), bound given explicitly (inputs: bound 1)
    Zero          // 0 (num_batches_tracked)
};

inline uint64_t fnv1a64(const std::string& name) {
    uint64_t h = 0xCBF29CE484222325ULL;
    for (unsigned char c : name) h = (h ^ c) * 0x100000001B3ULL;
    return h;
}

inline uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

inline double fill_u(uint64_t name_hash, uint64_t i) {
    return static_cast<double>(splitmix64(name_hash ^ (i * 0x9E3779B97F4A7C15ULL)) >> 11) * 0x1.0p-53;
}

// For Weight and Bias, `scale` is fan_in (Weight: 0 means prod(shape[1:]), only
// in fill()); for Uniform it is the bound; other kinds ignore it.
inline double fill_value_hashed(uint64_t name_hash, uint64_t i, FillKind kind, double scale) {
    switch (kind) {
        case FillKind::RunningMean:
        case FillKind::Zero: return 0.0;
        case FillKind::RunningVar: return 1.0;
        default: break;
    }
    double c = 2.0 * fill_u(name_hash, i) - 1.0;
    switch (kind) {
        case FillKind::Weight:
        case FillKind::Bias: return (1.0 / std::sqrt(scale)) * c;
        case FillKind::BnWeight: {
            // volatile: the product must be rounded before the add; an FMA
            // (-march=native -ffp-contract=fast) would differ from Python by an ulp.
            volatile double scaled = 0.1 * c;
            return 1.0 + scaled;
        }
        case FillKind::BnBias: return 0.1 * c;
        default: return scale * c;  // Uniform
    }
}

inline double fill_value(const std::string& name, uint64_t i, FillKind kind, double scale) {
    return fill_value_hashed(fnv1a64(name), i, kind, scale);
}

// Whole parameter in PyTorch layout (row-major over `shape`). For Weight,
// fan_in = prod(shape[1:]) when scale == 0; a Bias needs its layer's fan_in.
inline std::vector<double> fill(const std::string& name, const std::vector<int64_t>& shape, FillKind kind,
                                double scale = 0.0) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    if (kind == FillKind::Weight && scale == 0.0) {
        scale = 1.0;
        for (size_t d = 1; d < shape.size(); ++d) scale *= static_cast<double>(shape[d]);
    }
    if (kind == FillKind::Bias && scale <= 0.0)
        throw std::runtime_error("golden fill of '" + name + "': a Bias needs its layer's fan_in");
    uint64_t h = fnv1a64(name);
    std::vector<double> out(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) out[k] = fill_value_hashed(h, static_cast<uint64_t>(k), kind, scale);
    return out;
}

// Kind implied by a state-dict name and shape, for models whose only 1-D
// weights/biases are BatchNorm's (the R3D-18, R(2+1)D-18 and S3D encoders):
// "*.weight" rank>=2 -> Weight, rank 1 -> BnWeight; "*.bias" -> BnBias;
// running_mean / running_var / num_batches_tracked -> RunningMean / RunningVar / Zero.
inline FillKind kind_for_name(const std::string& name, const std::vector<int64_t>& shape) {
    std::string leaf = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
    if (leaf == "running_mean") return FillKind::RunningMean;
    if (leaf == "running_var") return FillKind::RunningVar;
    if (leaf == "num_batches_tracked") return FillKind::Zero;
    if (leaf == "weight") return shape.size() >= 2 ? FillKind::Weight : FillKind::BnWeight;
    if (leaf == "bias") return FillKind::BnBias;
    throw std::runtime_error("golden fill: no kind for parameter name '" + name + "'");
}

// Convenience for encoder parameters: fill(name, shape, kind_for_name(name, shape)).
inline std::vector<double> fill_param(const std::string& name, const std::vector<int64_t>& shape) {
    return fill(name, shape, kind_for_name(name, shape));
}

}  // namespace vd::golden
