// bench_gpu_conv: ms and TFLOP/s of conv3d forward, backward-data and
// backward-filter through our own CUDA path (vd::cuda kernels, cuDNN legacy
// API, NDHWC) on the five R3D-18 layer shapes of the cuDNN probe
// (shared/bench/cudnn_conv3d_probe.cu) at N = 32, in fp32, tf32 and bf16.
// Tensors are allocated before timing; each pass is warmed up, then timed per
// call with CUDA events; the median is printed. As the probe, the stem's 3
// input channels are padded to 4 and FLOPs = 2 * outputs * Cin * kT * kH * kW.
// Inputs are constants (the speed of tensor cores does not depend on values).
//
// Usage: bench_gpu_conv [--iters 20] [--heuristic] [--nondeterministic] [--layers stem,layer1]
//   --heuristic: cuDNN's heuristic choice instead of timing (cudnnFind*) per shape.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/ops.h"
#include "core/precision.h"
#include "cuda/api.h"

using namespace vd;

namespace {

struct Layer {
  const char* name;
  int64_t n, c, k, d, h, w, kd, kh, kw, sd, sh, sw, pd, ph, pw;
};

// shared/anchors/conv3d_h200_2026-11-27.log: the probe's TF/s on an H200 for
// NDHWC (fp32-ndhwc-tf32 and bf16-ndhwc rows); fwd, bwd-data, bwd-filter.
struct Anchor {
  const char* name;
  double tf32[3], bf16[3];
};
const Anchor kH200[] = {{"stem", {27.5, 12.1, 52.2}, {48.4, 29.6, 67.8}},
                        {"layer1", {238.3, 227.1, 89.5}, {425.3, 459.2, 486.2}},
                        {"layer2", {397.3, 352.7, 183.3}, {716.5, 726.1, 702.3}},
                        {"layer3", {411.5, 393.0, 186.4}, {737.0, 658.7, 555.7}},
                        {"layer4", {293.0, 219.9, 172.2}, {566.1, 558.6, 677.5}}};

double median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int iters = 20;
  bool heuristic = false, nondet = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--heuristic")) heuristic = true;
    else if (!std::strcmp(argv[i], "--nondeterministic")) nondet = true;
    else if (!std::strcmp(argv[i], "--layers") && i + 1 < argc) only = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--iters N] [--heuristic] [--nondeterministic] [--layers a,b]\n", argv[0]);
      return 2;
    }
  }
  if (!cuda::is_available()) {
    std::printf("bench_gpu_conv: no CUDA device found (or built without CUDA); nothing to measure\n");
    return 1;
  }
  try {
    std::printf("device: %s; algorithm choice: %s, %s; median of %d timed calls after warm-up\n",
                cuda::device_name(0).c_str(), heuristic ? "cuDNN heuristics" : "timed (cudnnFind)",
                nondet ? "any algorithm" : "deterministic only", iters);
    cuda::set_conv_benchmark(!heuristic);
    cuda::set_conv_deterministic(!nondet);
    const Layer layers[] = {
        {"stem", 32, 3, 64, 16, 112, 112, 3, 7, 7, 1, 2, 2, 1, 3, 3},
        {"layer1", 32, 64, 64, 16, 56, 56, 3, 3, 3, 1, 1, 1, 1, 1, 1},
        {"layer2", 32, 128, 128, 8, 28, 28, 3, 3, 3, 1, 1, 1, 1, 1, 1},
        {"layer3", 32, 256, 256, 4, 14, 14, 3, 3, 3, 1, 1, 1, 1, 1, 1},
        {"layer4", 32, 512, 512, 2, 7, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1},
    };
    const Precision precs[] = {Precision::FP32, Precision::TF32, Precision::BF16};
    const char* pass_name[3] = {"fwd", "bwd-data", "bwd-filter"};
    std::printf("%-7s %-5s %-10s %9s %8s %12s  %s\n", "layer", "prec", "pass", "ms", "TFLOP/s",
                "probe-H200", "algorithm");
    for (const Layer& L : layers) {
      if (!only.empty() && ("," + only + ",").find("," + std::string(L.name) + ",") == std::string::npos)
        continue;
      const Anchor* anchor = nullptr;
      for (const Anchor& a : kH200)
        if (!std::strcmp(a.name, L.name)) anchor = &a;
      for (Precision p : precs) {
        PrecisionGuard guard(p);
        const DType dt = p == Precision::BF16 ? DType::BF16 : DType::F32;
        const int64_t c = L.c == 3 ? 4 : L.c;  // as the probe: stem channels padded for tensor cores
        Window3d win;
        win.kernel = {L.kd, L.kh, L.kw};
        win.stride = {L.sd, L.sh, L.sw};
        win.padding = {L.pd, L.ph, L.pw};
        const Device gpu = Device::cuda(0);
        Tensor x = Tensor::full({L.n, L.d, L.h, L.w, c}, 0.5, dt, gpu);
        Tensor w = Tensor::full({L.k, L.kd, L.kh, L.kw, c}, 0.01, dt, gpu);
        const int64_t to = win.out_size(0, L.d), ho = win.out_size(1, L.h), wo = win.out_size(2, L.w);
        Tensor y = Tensor::empty({L.n, to, ho, wo, L.k}, dt, gpu);
        Tensor dy = Tensor::full(y.shape(), 0.25, dt, gpu);
        Tensor dx = Tensor::empty(x.shape(), dt, gpu), dw = Tensor::empty(w.shape(), dt, gpu);
        const double flops = 2.0 * double(y.numel()) * double(c * L.kd * L.kh * L.kw);
        for (int pass = 0; pass < 3; ++pass) {
          auto work = [&] {
            if (pass == 0) cuda::conv3d_forward(x, w, win, y);
            if (pass == 1) cuda::conv3d_backward_data(dy, w, win, dx);
            if (pass == 2) cuda::conv3d_backward_weight(x, dy, win, dw);
          };
          double ms = 0;
          try {
            cuda::time_each_ms(work, 3);  // algorithm choice and warm-up
            ms = median(cuda::time_each_ms(work, iters));
          } catch (const Error& e) {  // one unsupported configuration does not stop the rest
            std::printf("%-7s %-5s %-10s failed: %s\n", L.name, precision_name(p), pass_name[pass], e.what());
            continue;
          }
          char probe[32] = "-";
          if (anchor && p != Precision::FP32)
            std::snprintf(probe, sizeof probe, "%.1f", p == Precision::TF32 ? anchor->tf32[pass] : anchor->bf16[pass]);
          std::printf("%-7s %-5s %-10s %9.3f %8.1f %12s  %s\n", L.name, precision_name(p), pass_name[pass], ms,
                      flops / ms / 1e9, probe, cuda::conv_last_choice(pass).c_str());
          std::fflush(stdout);
        }
      }
    }
    cuda::synchronize();
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_gpu_conv: %s\n", e.what());
    return 1;
  }
  return 0;
}
