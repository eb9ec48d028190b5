// FLOP counting by shape propagation: walks a module tree with an input
// shape, without running the network, and records 2 * multiply-accumulates of
// every Conv3d and Linear (bias adds, batch norm, ReLU, pooling, residual adds
// and concatenations are not counted) -- the convention of PyTorch's
// torch.utils.flop_counter, so totals compare one to one.
// Leaves known here: Conv3d, Linear, BatchNorm*, ReLU, Identity, MaxPool3d,
// AvgPool3d, AdaptiveAvgPool3d; Sequential is a chain. A composite whose data
// flow is not a chain (residual block, inception block, encoder) implements
// ShapeTraced. Not a profiler: nothing is timed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/shape.h"

namespace vd::nn {
class Module;
}

namespace vd::models {

struct LayerCost {
  std::string name;  // dotted module name ("layer1.0.conv1.0")
  std::string type;  // "Conv3d" | "Linear"
  Shape in, out;     // channels-last activation shapes
  int64_t flops = 0;
};

class FlopCounter {
 public:
  // Output shape of module `m` (dotted name `name`) for input shape `in`;
  // records the conv/linear layers met on the way.
  Shape run(nn::Module& m, const std::string& name, const Shape& in);
  // Runs child `child` of `m`, named prefix.child.
  Shape run_child(nn::Module& m, const std::string& prefix, const std::string& child,
                  const Shape& in);
  int64_t total() const { return total_; }
  const std::vector<LayerCost>& layers() const { return layers_; }

 private:
  std::vector<LayerCost> layers_;
  int64_t total_ = 0;
};

// Implemented by composites that are not a plain chain of children.
class ShapeTraced {
 public:
  virtual ~ShapeTraced() = default;
  // Output shape for input `in`, running children through fc.run_child.
  virtual Shape trace(FlopCounter& fc, const std::string& prefix, const Shape& in) = 0;
};

struct FlopReport {
  int64_t total = 0;  // FLOPs (2 * MACs of conv and linear)
  Shape output;
  std::vector<LayerCost> layers;
};

// FLOPs of m's forward for an input of shape `input` (e.g. {1, 16, 112, 112, 3}).
FlopReport count_flops(nn::Module& m, const Shape& input);

}  // namespace vd::models
