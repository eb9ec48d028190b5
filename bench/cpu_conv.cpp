// bench_cpu_conv: GFLOP/s of the CPU conv3d kernels (core/cpu/conv3d.cpp:
// vol2col + gemm) in f32 on R3D-18-shaped layers at N = 2, forward,
// backward-data and backward-weight, beside the matrix product they reduce to
// ([N*P, K] @ [K, Cout], P = output positions, K = kT*kH*kW*Cin) run as one
// OpenBLAS sgemm call and through the project's own fallback gemm_blocked.
// FLOPs = 2 * N * P * K * Cout for each pass. Each figure is the best of
// --iters timed calls after one warm-up (the machine is shared; the 1-minute
// load average is printed beside the figures).
//
// Usage: bench_cpu_conv [--iters 3] [--layers layer1,layer2s] [--no-blocked]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "core/cpu/gemm.h"
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
  int64_t co, k, stride, pad;
};

// R3D-18 at 16x112x112 input: layer1 conv, layer2.0 conv1 (stride 2), layer3 conv,
// layer4 conv, and the 1x1x1 stride-2 downsample of layer2.
const Layer kLayers[] = {
    {"layer1", {2, 16, 56, 56, 64}, 64, 3, 1, 1},
    {"layer2s", {2, 16, 56, 56, 64}, 128, 3, 2, 1},
    {"layer3", {2, 4, 14, 14, 256}, 256, 3, 1, 1},
    {"layer4", {2, 2, 7, 7, 512}, 512, 3, 1, 1},
    {"down2", {2, 16, 56, 56, 64}, 128, 1, 2, 0},
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
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--layers") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--no-blocked")) blocked = false;
    else {
      std::fprintf(stderr, "usage: %s [--iters 3] [--layers layer1,layer2s] [--no-blocked]\n", argv[0]);
      return 2;
    }
  }
#ifdef VD_OPENBLAS
  std::printf("OpenBLAS: %s (the sgemm column on 2 threads, the engine's products on 1 each)\n",
              openblas_get_config());
#else
  std::printf("built without OpenBLAS: conv uses gemm_blocked; sgemm column is n/a\n");
#endif
  std::printf("%-8s %-22s %8s | %9s %9s %9s | %9s %9s | load\n", "layer", "x -> Cout (k,s,p)", "GFLOP",
              "fwd", "bwd-data", "bwd-wt", "sgemm", "blocked");
  Generator gen(1);
  for (const Layer& L : kLayers) {
    if (!only.empty() && ("," + only + ",").find("," + std::string(L.name) + ",") == std::string::npos)
      continue;
    Window3d win;
    win.kernel = {L.k, L.k, L.k};
    win.stride = {L.stride, L.stride, L.stride};
    win.padding = {L.pad, L.pad, L.pad};
    Tensor x = Tensor::randn(L.x, &gen), w = Tensor::randn({L.co, L.k, L.k, L.k, L.x[4]}, &gen);
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
    std::snprintf(geo, sizeof geo, "%ldx%ldx%ldx%ld->%ld (%ld,%ld,%ld)", long(L.x[1]), long(L.x[2]),
                  long(L.x[3]), long(L.x[4]), long(L.co), long(L.k), long(L.stride), long(L.pad));
    std::printf("%-8s %-22s %8.2f | %9.1f %9.1f %9.1f | %9.1f %9.1f | %.1f\n", L.name, geo, gflop, gflop / fwd,
                gflop / bwd_d, gflop / bwd_w, sg, bl, load_average());
    std::fflush(stdout);
  }
  return 0;
}
