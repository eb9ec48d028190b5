// Op codes and parameter structs shared by the dispatch layer (core/ops.cpp),
// the CPU kernels (core/cpu/) and their CUDA twins (cuda/).
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace vd {

// out = f(a, scalar)
enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Relu, Abs, Square, Sign,
  AddScalar,   // a + s
  MulScalar,   // a * s
  PowScalar,   // a ^ s
  RsubScalar,  // s - a
  RdivScalar,  // s / a
  GtScalar,    // a > s ? 1 : 0
};

// out = f(a, b), a and b already broadcast to out's shape
enum class BinaryOp {
  Add, Sub, Mul, Div, Maximum, Minimum, Pow,
  Gt, Ge, Eq,  // 1 where true, else 0
  ReluGrad,    // b > 0 ? a : 0   (a: incoming gradient, b: relu input)
};

enum class ReduceOp { Sum, Max };

// 3-D window geometry for convolution and pooling, per axis (T, H, W).
struct Window3d {
  std::array<int64_t, 3> kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> padding{0, 0, 0};
  std::array<int64_t, 3> dilation{1, 1, 1};
  // Output extent along axis i for an input extent n.
  int64_t out_size(int i, int64_t n) const {
    return (n + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) / stride[i] + 1;
  }
  std::string str() const;  // "kernel (3,3,3) stride (1,1,1) padding (1,1,1) dilation (1,1,1)"
};

// RoIAlign (torchvision.ops.roi_align / Detectron2 ROIAlign): the output's
// bins per box (pooled_h x pooled_w), the factor from box coordinates (input
// pixels) to feature-map coordinates, the bilinear samples per bin per axis
// (> 0 fixed; 0 adaptive: ceil(box extent / bins) on each axis), and the
// half-pixel shift (aligned: box coordinates * scale - 0.5, as Detectron2's
// ROIAlignV2; unaligned: no shift and boxes at least 1 x 1 feature pixel).
struct RoiAlignParams {
  int64_t pooled_h = 7, pooled_w = 7;
  double spatial_scale = 1.0;
  int64_t sampling_ratio = 0;
  bool aligned = true;
  std::string str() const;  // "bins 7x7 scale 0.0625 sampling 0 aligned"
};

// --- fused optimizer step (helper fusedopt; core/ops_optim.cpp) ------------------
// Columns of the segment table of a fused optimizer step: one f64 row per
// parameter of the flat buffers (rows in buffer order, segments tiling the
// buffer), on the buffers' device. Each rule reads the columns it names.
namespace fused_col {
enum : int {
  Offset,       // first element of the parameter in the flat buffers
  Numel,        // its number of elements
  Active,       // 1: it has a gradient this step; 0: left exactly as it is
  Lr,           // the group's learning rate
  WeightDecay,  // effective: 0 in an excluded group
  Exclude,      // 1 in an excluded group (LARS: no trust ratio)
  Momentum,     // SGD, LARS
  Dampening,    // SGD
  Nesterov,     // SGD: 1 or 0
  First,        // SGD: 1 at the parameter's first update (buffer = d)
  Eta,          // LARS trust coefficient
  ChunkBegin,   // LARS norms: index of the segment's first kFusedNormChunk chunk
  Beta1,        // AdamW
  Beta2,
  Eps,
  Bc1,          // AdamW bias corrections 1 - beta1^t, 1 - beta2^t (t: the parameter's step)
  Bc2,
  Count
};
}  // namespace fused_col
// Elements per chunk of the CUDA segmented norm (each segment is cut into
// ceil(numel / kFusedNormChunk) chunks, partial sums added in chunk order).
constexpr int64_t kFusedNormChunk = 8192;
// Input frames (issue 18, compact transfer; core/frames.h): the per-channel
// constants of (x / 255 - mean) * inv_std, inv_std = 1 / std rounded to f32,
// the arithmetic of data/augment.cpp's normalisation.
struct FrameNorm {
  float mean[3] = {0, 0, 0};
  float inv_std[3] = {1, 1, 1};
};

const char* unary_name(UnaryOp op);
const char* binary_name(BinaryOp op);

}  // namespace vd
