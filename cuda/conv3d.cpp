// 3-D convolution on the GPU through cuDNN's convolution API with
// channels-last (NDHWC) descriptors: forward, backward-data and
// backward-filter. Each shape key (kind, dtype, math, sizes, window) gets its
// algorithm chosen once and cached: by cuDNN's heuristics
// (cudnnGetConvolution*Algorithm_v7) by default, by timing (cudnnFind*Ex)
// when the benchmark setting is on; either way only deterministic algorithms
// unless set_conv_deterministic(false). Workspace comes from the caching
// allocator. Math follows core/precision.h: fp32 -> FMA only, tf32 -> tensor
// ops on f32, bf16 tensors -> tensor ops with f32 accumulation.
// The CPU twin is core/cpu/conv3d.cpp (its fast paths); the CPU reference
// that the tests compare with is core/cpu/conv3d_reference.h.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "core/backend.h"
#include "core/precision.h"
#include "cuda/api.h"
#include "cuda/check.h"
#include "cuda/context.h"

namespace vd::cuda {

namespace {

enum Kind { kFwd = 0, kBwdData = 1, kBwdFilter = 2 };
const char* kind_name(int k) { return k == kFwd ? "fwd" : k == kBwdData ? "bwd-data" : "bwd-filter"; }

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

struct AlgoCache {
  std::mutex mu;
  std::unordered_map<std::string, Choice> map;
  ConvCacheStats stats;
  std::string last[3];
  std::unordered_map<std::string, std::string> labels;  // key -> conv_choices() line
};
AlgoCache& algo_cache() {
  static AlgoCache* c = new AlgoCache();
  return *c;
}
std::atomic<bool> g_benchmark{false}, g_deterministic{true};

// Descriptors of one convolution, destroyed with the object.
struct Descs {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnMathType_t math = CUDNN_FMA_MATH;
  std::string key;
  std::string label;  // readable: pass, dtype, x and w sizes, stride
  Descs() {
    VD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
    VD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
    VD_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
    VD_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
  }
  ~Descs() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descs(const Descs&) = delete;
  Descs& operator=(const Descs&) = delete;
};

int to_int(int64_t v, const char* what) {
  VD_CHECK(v >= 0 && v <= INT_MAX, "conv3d: " << what << " " << v << " exceeds cuDNN's int range");
  return int(v);
}

// x: [N, T, H, W, Ci], w: [Co, kT, kH, kW, Ci], y: [N, To, Ho, Wo, Co]; cuDNN
// takes NCDHW-ordered sizes with the NHWC format flag.
void describe_conv(int kind, const Shape& xs, const Shape& ws, const Shape& ys, DType dt,
                   const Window3d& win, Descs& d) {
  VD_CHECK(dt == DType::F32 || dt == DType::BF16,
           "conv3d (CUDA): computes in f32 or bf16, got " << dtype_name(dt)
                                                          << "; hint: f64 is for CPU gradient "
                                                             "checks, cast with .to(DType::F32)");
  const cudnnDataType_t cdt = dt == DType::BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  int xd[5] = {to_int(xs[0], "N"), to_int(xs[4], "Cin"), to_int(xs[1], "T"), to_int(xs[2], "H"),
               to_int(xs[3], "W")};
  int yd[5] = {to_int(ys[0], "N"), to_int(ys[4], "Cout"), to_int(ys[1], "To"), to_int(ys[2], "Ho"),
               to_int(ys[3], "Wo")};
  int wd[5] = {to_int(ws[0], "Cout"), to_int(ws[4], "Cin"), to_int(ws[1], "kT"), to_int(ws[2], "kH"),
               to_int(ws[3], "kW")};
  int pad[3], str[3], dil[3];
  for (int i = 0; i < 3; ++i) {
    pad[i] = to_int(win.padding[size_t(i)], "padding");
    str[i] = to_int(win.stride[size_t(i)], "stride");
    dil[i] = to_int(win.dilation[size_t(i)], "dilation");
  }
  VD_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(d.x, CUDNN_TENSOR_NHWC, cdt, 5, xd));
  VD_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(d.y, CUDNN_TENSOR_NHWC, cdt, 5, yd));
  VD_CUDNN_CHECK(cudnnSetFilterNdDescriptor(d.w, cdt, CUDNN_TENSOR_NHWC, 5, wd));
  VD_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(d.conv, 3, pad, str, dil, CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
  d.math = dt == DType::BF16 || precision() != Precision::FP32 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
  VD_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, d.math));
  int dev = 0;
  VD_CUDA_CHECK(cudaGetDevice(&dev));
  std::ostringstream k;
  k << kind << '|' << int(dt) << '|' << int(d.math) << '|' << dev << '|' << g_benchmark.load()
    << g_deterministic.load();
  for (int i = 0; i < 5; ++i) k << ',' << xd[i] << ',' << wd[i] << ',' << yd[i];
  for (int i = 0; i < 3; ++i) k << ';' << pad[i] << ',' << str[i] << ',' << dil[i];
  d.key = k.str();
  std::ostringstream l;
  l << kind_name(kind) << ' ' << dtype_name(dt) << " x[" << xs[0] << ',' << xs[1] << ',' << xs[2] << ',' << xs[3]
    << ',' << xs[4] << "] w[" << ws[0] << ',' << ws[1] << ',' << ws[2] << ',' << ws[3] << ',' << ws[4]
    << "] stride " << str[0] << ',' << str[1] << ',' << str[2];
  d.label = l.str();
}

// Known non-deterministic algorithms (atomics across the reduction), excluded
// by default even if a perf result claimed otherwise. See docs/CUDA.md.
bool known_nondeterministic(int kind, int algo) {
  if (kind == kBwdData) return algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
  if (kind == kBwdFilter)
    return algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 || algo == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3;
  return false;
}

// First usable entry of a perf list (heuristic order or measured order). In
// fp32 mode a second pass accepts CUDNN_DEFAULT_MATH entries but runs them
// with the descriptor forced to CUDNN_FMA_MATH (no TF32).
template <class Perf>
bool pick(int kind, const Perf* perf, int n, cudnnMathType_t math, size_t ws_limit, Choice& out) {
  const bool det = g_deterministic.load();
  for (int pass = 0; pass < (math == CUDNN_FMA_MATH ? 2 : 1); ++pass)
    for (int i = 0; i < n; ++i) {
      const Perf& p = perf[i];
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > ws_limit) continue;
      if (det && (p.determinism != CUDNN_DETERMINISTIC || known_nondeterministic(kind, int(p.algo))))
        continue;
      if (p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;  // would drop to 16-bit
      if (math == CUDNN_FMA_MATH && p.mathType != CUDNN_FMA_MATH &&
          !(pass == 1 && p.mathType == CUDNN_DEFAULT_MATH))
        continue;
      out.algo = int(p.algo);
      out.math = math == CUDNN_FMA_MATH ? CUDNN_FMA_MATH : p.mathType;
      out.workspace = p.memory;
      return true;
    }
  return false;
}

size_t workspace_limit() {
  size_t free_b = 0, total = 0;
  VD_CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
  return std::min<size_t>(size_t(1) << 30, free_b / 2);
}

// The buffers of one call: fwd (x, w -> y), bwd-data (dy, w -> dx), bwd-filter (x, dy -> dw).
struct Bufs {
  void* x;
  void* w;
  void* y;
};

Choice choose(int kind, Descs& d, const Bufs& b) {
  DeviceContext& ctx = context();
  const size_t limit = workspace_limit();
  constexpr int kMax = 16;
  int got = 0;
  Choice c;
  bool ok = false;
  if (g_benchmark.load()) {
    void* ws = limit ? alloc(limit) : nullptr;
    try {
      if (kind == kFwd) {
        cudnnConvolutionFwdAlgoPerf_t p[kMax];
        VD_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(ctx.cudnn, d.x, b.x, d.w, b.w, d.conv, d.y,
                                                              b.y, kMax, &got, p, ws, limit));
        ok = pick(kind, p, got, d.math, limit, c);
      } else if (kind == kBwdData) {
        cudnnConvolutionBwdDataAlgoPerf_t p[kMax];
        VD_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
            ctx.cudnn, d.w, b.w, d.y, b.y, d.conv, d.x, b.x, kMax, &got, p, ws, limit));
        ok = pick(kind, p, got, d.math, limit, c);
      } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[kMax];
        VD_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
            ctx.cudnn, d.x, b.x, d.y, b.y, d.conv, d.w, b.w, kMax, &got, p, ws, limit));
        ok = pick(kind, p, got, d.math, limit, c);
      }
    } catch (...) {
      if (ws) release(ws, limit);
      throw;
    }
    if (ws) release(ws, limit);
  } else if (kind == kFwd) {
    cudnnConvolutionFwdAlgoPerf_t p[kMax];
    VD_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(ctx.cudnn, d.x, d.w, d.conv, d.y, kMax, &got, p));
    ok = pick(kind, p, got, d.math, limit, c);
  } else if (kind == kBwdData) {
    cudnnConvolutionBwdDataAlgoPerf_t p[kMax];
    VD_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx.cudnn, d.w, d.y, d.conv, d.x, kMax,
                                                               &got, p));
    ok = pick(kind, p, got, d.math, limit, c);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t p[kMax];
    VD_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(ctx.cudnn, d.x, d.y, d.conv, d.w, kMax,
                                                                 &got, p));
    ok = pick(kind, p, got, d.math, limit, c);
  }
  VD_CHECK(ok, "conv3d " << kind_name(kind) << ": cuDNN offers no "
                         << (g_deterministic.load() ? "deterministic " : "")
                         << "algorithm within a workspace of " << limit << " B for key " << d.key
                         << "; hint: set_conv_deterministic(false) or free GPU memory");
  // The exact workspace of the chosen algorithm under its math type.
  VD_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, c.math));
  if (kind == kFwd)
    VD_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(
        ctx.cudnn, d.x, d.w, d.conv, d.y, cudnnConvolutionFwdAlgo_t(c.algo), &c.workspace));
  else if (kind == kBwdData)
    VD_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        ctx.cudnn, d.w, d.y, d.conv, d.x, cudnnConvolutionBwdDataAlgo_t(c.algo), &c.workspace));
  else
    VD_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        ctx.cudnn, d.x, d.y, d.conv, d.w, cudnnConvolutionBwdFilterAlgo_t(c.algo), &c.workspace));
  return c;
}

Choice cached_choice(int kind, Descs& d, const Bufs& b) {
  AlgoCache& cache = algo_cache();
  {
    std::lock_guard<std::mutex> lock(cache.mu);
    auto it = cache.map.find(d.key);
    if (it != cache.map.end()) {
      ++cache.stats.hits;
      return it->second;
    }
  }
  Choice c = choose(kind, d, b);
  std::lock_guard<std::mutex> lock(cache.mu);
  ++cache.stats.misses;
  cache.map[d.key] = c;
  cache.labels[d.key] = d.label + ": algo " + std::to_string(c.algo) + ", math " + std::to_string(int(c.math)) +
                        ", workspace " + std::to_string(c.workspace) + " B";
  cache.stats.entries = cache.map.size();
  return c;
}

void run(int kind, const Shape& xs, const Shape& wsh, const Shape& ys, DType dt, const Window3d& win,
         const Bufs& b) {
  Descs d;
  describe_conv(kind, xs, wsh, ys, dt, win, d);
  const Choice c = cached_choice(kind, d, b);
  VD_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, c.math));
  {
    std::ostringstream s;
    s << kind_name(kind) << " algo " << c.algo << ", math " << int(c.math) << ", workspace "
      << c.workspace << " B";
    AlgoCache& cache = algo_cache();
    std::lock_guard<std::mutex> lock(cache.mu);
    cache.last[kind] = s.str();
  }
  DeviceContext& ctx = context();
  void* ws = c.workspace ? alloc(c.workspace) : nullptr;
  const float one = 1.f, zero = 0.f;
  cudnnStatus_t st;
  if (kind == kFwd)
    st = cudnnConvolutionForward(ctx.cudnn, &one, d.x, b.x, d.w, b.w, d.conv,
                                 cudnnConvolutionFwdAlgo_t(c.algo), ws, c.workspace, &zero, d.y, b.y);
  else if (kind == kBwdData)
    st = cudnnConvolutionBackwardData(ctx.cudnn, &one, d.w, b.w, d.y, b.y, d.conv,
                                      cudnnConvolutionBwdDataAlgo_t(c.algo), ws, c.workspace, &zero,
                                      d.x, b.x);
  else
    st = cudnnConvolutionBackwardFilter(ctx.cudnn, &one, d.x, b.x, d.y, b.y, d.conv,
                                        cudnnConvolutionBwdFilterAlgo_t(c.algo), ws, c.workspace,
                                        &zero, d.w, b.w);
  if (ws) release(ws, c.workspace);  // stream-ordered reuse (cuda/allocator.cpp)
  VD_CHECK(st == CUDNN_STATUS_SUCCESS, "cudnnConvolution " << kind_name(kind) << " (algo " << c.algo
                                                           << ") failed: " << cudnnGetErrorString(st)
                                                           << " for key " << d.key
                                                           << "; hint: try set_conv_benchmark(true) "
                                                              "or another precision");
}

}  // namespace

// --- the kernel_list.inc entry points ------------------------------------------------

void conv3d_forward(const Tensor& x, const Tensor& w, const Window3d& win, Tensor& y) {
  if (y.numel() == 0) return;
  run(kFwd, x.shape(), w.shape(), y.shape(), x.dtype(), win, Bufs{x.data_ptr(), w.data_ptr(), y.data_ptr()});
}

void conv3d_backward_data(const Tensor& dy, const Tensor& w, const Window3d& win, Tensor& dx) {
  if (dx.numel() == 0) return;
  run(kBwdData, dx.shape(), w.shape(), dy.shape(), dy.dtype(), win,
      Bufs{dx.data_ptr(), w.data_ptr(), dy.data_ptr()});
}

void conv3d_backward_weight(const Tensor& x, const Tensor& dy, const Window3d& win, Tensor& dw) {
  if (dw.numel() == 0) return;
  run(kBwdFilter, x.shape(), dw.shape(), dy.shape(), dy.dtype(), win,
      Bufs{x.data_ptr(), dw.data_ptr(), dy.data_ptr()});
}

// --- settings (cuda/api.h) -----------------------------------------------------------

void set_conv_benchmark(bool on) {
  g_benchmark.store(on);
  conv_cache_clear();
}
bool conv_benchmark() { return g_benchmark.load(); }
void set_conv_deterministic(bool on) {
  g_deterministic.store(on);
  conv_cache_clear();
}
bool conv_deterministic() { return g_deterministic.load(); }

ConvCacheStats conv_cache_stats() {
  AlgoCache& c = algo_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.stats;
}

void conv_cache_clear() {
  AlgoCache& c = algo_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.map.clear();
  c.labels.clear();
  c.stats = ConvCacheStats{};
}

std::vector<std::string> conv_choices() {
  AlgoCache& c = algo_cache();
  std::vector<std::string> out;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    for (const auto& kv : c.labels) out.push_back(kv.second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string conv_last_choice(int kind) {
  VD_CHECK(kind >= 0 && kind < 3, "conv_last_choice: kind 0 (fwd), 1 (bwd-data) or 2 (bwd-filter), got "
                                      << kind);
  AlgoCache& c = algo_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.last[kind];
}

}  // namespace vd::cuda
