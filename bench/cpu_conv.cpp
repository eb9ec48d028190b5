// bench_cpu_conv: GFLOP/s of the CPU conv3d kernels (core/cpu/conv3d.cpp:
// the fast paths of core/cpu/fast/) in f32 on R3D-18-shaped layers at N = 2, forward,
// backward-data and backward-weight, beside the matrix product they reduce to
// ([N*P, K] @ [K, Cout], P = output positions, K = kT*kH*kW*Cin) run as one
// OpenBLAS sgemm call and through the project's own fallback gemm_blocked.
// FLOPs = 2 * N * P * K * Cout for each pass. Each figure is the best of
// --iters timed calls after one warm-up (the machine is shared; the 1-minute
// load average is printed beside the figures).
//
// --small runs the layers of the CPU-sized encoder (width / 8, one block per
// stage, 8x32x32 clips) at 64 clips, the demo's step; --no-direct turns off
// the direct kernels of narrow layers (core/cpu/fast/conv3d_direct.h), so
// that the vol2col + gemm path is timed on them. Times in ms are per call.
//
// Usage: bench_cpu_conv [--iters 3] [--layers layer1,layer2s] [--no-blocked] [--small] [--no-direct]
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/cpu/fast/conv3d_direct.h"
#include "core/cpu/fast/gemm_blocked.h"
#include "core/ops.h"
#include "core/random.h"

#ifdef VD_OPENBLAS
#include <cblas.h>
#endif

using namespace vd;

namespace {

struct Layer {
  const char* name;
  Shape x;                  // [N, T, H, W, Cin]
  int64_t co;
  std::array<int64_t, 3> k, stride, pad;  // (t, h, w)
};

// R3D-18 at 16x112x112 input: layer1 conv, layer2.0 conv1 (stride 2), layer3 conv,
// layer4 conv, and the 1x1x1 stride-2 downsample of layer2.
const Layer kLayers[] = {
    {"layer1", {2, 16, 56, 56, 64}, 64, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"layer2s", {2, 16, 56, 56, 64}, 128, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
    {"layer3", {2, 4, 14, 14, 256}, 256, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"layer4", {2, 2, 7, 7, 512}, 512, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"down2", {2, 16, 56, 56, 64}, 128, {1, 1, 1}, {2, 2, 2}, {0, 0, 0}},
};

// The CPU-sized model of the demo and the learning test (width / 8, one block
// per stage, 8x32x32 clips) at batch 32, two clips each: N = 64.
const Layer kSmallLayers[] = {
    {"s.stem", {64, 8, 32, 32, 3}, 8, {3, 7, 7}, {1, 2, 2}, {1, 3, 3}},
    {"s.layer1", {64, 8, 16, 16, 8}, 8, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"s.layer2s", {64, 8, 16, 16, 8}, 16, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
    {"s.layer2", {64, 4, 8, 8, 16}, 16, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"s.layer3s", {64, 4, 8, 8, 16}, 32, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
    {"s.layer3", {64, 2, 4, 4, 32}, 32, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
    {"s.layer4s", {64, 2, 4, 4, 32}, 64, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}},
    {"s.layer4", {64, 1, 2, 2, 64}, 64, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}},
};

double seconds_best(int iters, const std::function<void()>& f) {
  f();  // warm-up
  double best = 1e30;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

double load_average() {
  std::ifstream f("/proc/loadavg");
  double l = 0;
  f >> l;
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 3;
  bool blocked = true;
  std::string only;
  bool small = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--layers") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--no-blocked")) blocked = false;
    else if (!std::strcmp(argv[i], "--small")) small = true;
    else if (!std::strcmp(argv[i], "--no-direct")) cpu::set_conv3d_direct_enabled(false);
    else {
      std::fprintf(stderr, "usage: %s [--iters 3] [--layers layer1,layer2s] [--no-blocked] [--small] [--no-direct]\n", argv[0]);
      return 2;
    }
  }
#ifdef VD_OPENBLAS
  std::printf("OpenBLAS: %s (the sgemm column on 2 threads, the engine's products on 1 each)\n",
              openblas_get_config());
#else
  std::printf("built without OpenBLAS: conv uses gemm_blocked; sgemm column is n/a\n");
#endif
  std::printf("%-9s %-27s %7s | %8s %8s %8s | %7s %7s %7s | %7s %7s | load\n", "layer", "x -> Cout, kernel, stride",
              "GFLOP", "fwd", "bwd-data", "bwd-wt", "fwd ms", "bd ms", "bw ms", "sgemm", "blocked");
  std::printf("%-9s %-27s %7s | %8s %8s %8s | %7s %7s %7s | %7s %7s |\n", "", "", "", "GFLOP/s", "GFLOP/s",
              "GFLOP/s", "", "", "", "GFLOP/s", "GFLOP/s");
  Generator gen(1);
  double total_ms[3] = {0, 0, 0};
  const std::vector<Layer> layers = small ? std::vector<Layer>(std::begin(kSmallLayers), std::end(kSmallLayers))
                                          : std::vector<Layer>(std::begin(kLayers), std::end(kLayers));
  for (const Layer& L : layers) {
    if (!only.empty() && ("," + only + ",").find("," + std::string(L.name) + ",") == std::string::npos)
      continue;
    Window3d win;
    win.kernel = L.k;
    win.stride = L.stride;
    win.padding = L.pad;
    Tensor x = Tensor::randn(L.x, &gen), w = Tensor::randn({L.co, L.k[0], L.k[1], L.k[2], L.x[4]}, &gen);
    Tensor y = ops::conv3d(x, w, win), dy = Tensor::randn(y.shape(), &gen);
    const int64_t M = y.numel() / L.co, K = w.numel() / L.co, N = L.co;
    const double gflop = 2.0 * double(M) * double(K) * double(N) * 1e-9;
    const double fwd = seconds_best(iters, [&] { ops::conv3d(x, w, win); });
    const double bwd_d = seconds_best(iters, [&] { ops::conv3d_backward_data(dy, w, x.shape(), win); });
    const double bwd_w = seconds_best(iters, [&] { ops::conv3d_backward_weight(x, dy, w.shape(), win); });
    // The same product as one call, A [Ms, K] @ w^T with Ms = min(M, 32768) rows
    // (a col-sized buffer; the rate, not the total, is compared).
    const int64_t Ms = std::min<int64_t>(M, 32768);
    const double gflop_s = 2.0 * double(Ms) * double(K) * double(N) * 1e-9;
    std::vector<float> a(size_t(Ms * K), 0.5f), c(size_t(Ms * N));
    const float* wp = w.data<float>();
    double sg = 0;
#ifdef VD_OPENBLAS
    // The reference runs on OpenBLAS's own two threads; the engine holds
    // OpenBLAS to one and splits work itself (core/cpu/parallel.h).
    openblas_set_num_threads(2);
    sg = gflop_s / seconds_best(iters, [&] {
           cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(Ms), int(N), int(K), 1.f, a.data(), int(K), wp,
                       int(K), 0.f, c.data(), int(N));
         });
    openblas_set_num_threads(1);
#endif
    double bl = 0;
    if (blocked) {  // the fallback is slow: time a slice of 4096 rows, report its rate
      const int64_t m = std::min<int64_t>(Ms, 4096);
      bl = 2.0 * double(m) * double(K) * double(N) * 1e-9 / seconds_best(1, [&] {
             cpu::gemm_blocked<float>(m, N, K, 1.f, a.data(), K, 1, wp, 1, K, 0.f, c.data());
           });
    }
    char geo[64];
    std::snprintf(geo, sizeof geo, "%ldx%ldx%ldx%ld->%ld k%ld%ld%ld s%ld%ld%ld", long(L.x[1]), long(L.x[2]),
                  long(L.x[3]), long(L.x[4]), long(L.co), long(L.k[0]), long(L.k[1]), long(L.k[2]),
                  long(L.stride[0]), long(L.stride[1]), long(L.stride[2]));
    std::printf("%-9s %-27s %7.2f | %8.1f %8.1f %8.1f | %7.1f %7.1f %7.1f | %7.1f %7.1f | %.1f\n", L.name, geo,
                gflop, gflop / fwd, gflop / bwd_d, gflop / bwd_w, 1e3 * fwd, 1e3 * bwd_d, 1e3 * bwd_w, sg, bl,
                load_average());
    total_ms[0] += 1e3 * fwd, total_ms[1] += 1e3 * bwd_d, total_ms[2] += 1e3 * bwd_w;
    std::fflush(stdout);
  }
  std::printf("%-9s %-27s %7s | %8s %8s %8s | %7.1f %7.1f %7.1f |\n", "total", "", "", "", "", "", total_ms[0],
              total_ms[1], total_ms[2]);
  return 0;
}
