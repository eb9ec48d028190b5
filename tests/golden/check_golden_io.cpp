// check_golden_io.cpp -- standalone self-check of golden_io.h against the
// files make_golden.py wrote: the fill rule must reproduce fill.vdg bit for
// bit, every .vdg must parse, and malformed files must throw.
//
// Not part of the GoogleTest suite or the Makefile (tests/*.cpp only); build
// and run by hand from the repository root:
//   g++ -std=c++17 -O2 -Wall -Wextra -o /tmp/check_golden_io tests/golden/check_golden_io.cpp
//   /tmp/check_golden_io tests/golden
#include "golden_io.h"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace g = vd::golden;

static int failures = 0;

static void expect(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::cerr << "FAIL: " << what << "\n";
    }
}

static g::FillKind kind_from_label(const std::string& label) {
    if (label == "weight") return g::FillKind::Weight;
    if (label == "bias") return g::FillKind::Bias;
    if (label == "bn_weight") return g::FillKind::BnWeight;
    if (label == "bn_bias") return g::FillKind::BnBias;
    if (label == "running_mean") return g::FillKind::RunningMean;
    if (label == "running_var") return g::FillKind::RunningVar;
    return g::FillKind::Uniform;
}

// fill/<kind>/<name>: recompute with the C++ rule; scales as make_golden.py used them.
static void check_fill(const std::map<std::string, g::Entry>& file) {
    const std::map<std::string, double> scale = {{"fc.bias", 6.0}, {"input", 1.0}, {"Δ·名前", 2.5}};
    int checked = 0;
    for (const auto& [key, e] : file) {
        if (key.rfind("fill/", 0) != 0) continue;
        size_t slash = key.find('/', 5);
        std::string label = key.substr(5, slash - 5), name = key.substr(slash + 1);
        auto it = scale.find(name);
        std::vector<double> mine = g::fill(name, e.shape, kind_from_label(label), it == scale.end() ? 0.0 : it->second);
        expect(mine == e.values, "fill rule differs for " + key);
        if (label != "bias" && label != "uniform")
            expect(g::fill_param(name, e.shape) == e.values, "fill_param/kind_for_name differs for " + key);
        ++checked;
    }
    for (const std::string name : {"input", "stem.0.weight", ""}) {
        const auto& hl = g::get(file, "fnv1a64_hi_lo/" + name).values;
        uint64_t h = g::fnv1a64(name);
        expect(static_cast<double>(h >> 32) == hl[0] && static_cast<double>(h & 0xFFFFFFFFu) == hl[1],
               "fnv1a64 of '" + name + "'");
        const auto& u = g::get(file, "u_from_2^40/" + name).values;
        for (size_t k = 0; k < u.size(); ++k)
            expect(g::fill_u(h, (uint64_t(1) << 40) + k) == u[k], "fill_u at 2^40 for '" + name + "'");
        ++checked;
    }
    std::cout << "fill rule: " << checked << " groups bit-identical\n";
}

static void expect_throw(const std::string& path, const std::string& bytes, const std::string& what) {
    { std::ofstream(path, std::ios::binary) << bytes; }
    try {
        g::load(path);
        expect(false, "no exception for " + what);
    } catch (const std::runtime_error& err) {
        std::string msg = err.what();
        expect(msg.find(path) != std::string::npos && msg.find("expected") != std::string::npos,
               "message for " + what + " lacks path or 'expected': " + msg);
        std::cout << "  " << what << " -> " << msg << "\n";
    }
    std::remove(path.c_str());
}

static void check_bad_files() {
    const std::string path = "/tmp/vd_golden_bad.vdg";
    expect_throw("/nonexistent/x.vdg", "", "missing file");
    expect_throw(path, "VDG2", "bad magic");
    expect_throw(path, std::string("VDG1\x02\0\0\0\0\0\0\0", 12), "bad version");
    expect_throw(path, std::string("VDG1\x01\0\0\0\x01\0\0\0\x01\0a\x00\x01\x02\0\0\0\0\0\0\0", 25), "truncated data");
    expect_throw(path, std::string("VDG1\x01\0\0\0\x00\0\0\0Z", 13), "trailing bytes");
    expect_throw(path, std::string("VDG1\x01\0\0\0\x01\0\0\0\x01\0a\x07\x00", 17), "bad dtype");
}

static void run(const std::string& dir) {
    check_fill(g::load(dir + "/fill.vdg"));
    for (const char* f : {"ops.vdg", "optim.vdg", "losses.vdg", "encoders_full.vdg", "encoders_narrow.vdg"}) {
        std::ifstream probe(dir + "/" + f);
        if (!probe) continue;
        auto file = g::load(dir + "/" + f);
        size_t values = 0;
        for (const auto& kv : file) values += kv.second.values.size();
        std::cout << f << ": " << file.size() << " entries, " << values << " values\n";
    }
    // One value cross-checked against numpy: ops.vdg linear/y[0][0] = x[0] . w[0] + b[0].
    auto ops = g::load(dir + "/ops.vdg");
    const auto &x = g::get(ops, "linear/x"), &w = g::get(ops, "linear/w"), &b = g::get(ops, "linear/b");
    double y00 = b.values[0];
    for (int k = 0; k < 6; ++k) y00 += x.values[k] * w.values[k];
    expect(std::abs(y00 - g::get(ops, "linear/y").values[0]) < 1e-12, "linear/y[0,0] recomputed");
    expect(g::get(ops, "cross_entropy/labels").dtype == g::kI64, "labels are i64");
    expect(g::get(ops, "normalize/eps").shape.empty(), "scalar has empty shape");
    check_bad_files();
}

int main(int argc, char** argv) {
    try {
        run(argc > 1 ? argv[1] : "tests/golden");
    } catch (const std::exception& err) {
        expect(false, err.what());
    }
    std::cout << (failures ? "FAILED" : "OK") << " (" << failures << " failures)\n";
    return failures ? 1 : 0;
}
