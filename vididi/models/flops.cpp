// FLOP counting by shape propagation (see flops.h). Each leaf rule mirrors the
// output-shape arithmetic of its layer; tests/test_models_flops.cpp checks the
// propagated shapes against real forwards and the totals against PyTorch's
// FLOP counter.
#include "vididi/models/flops.h"

#include "core/errors.h"
#include "layers/layers.h"

namespace vd::models {

namespace {

std::string join(const std::string& prefix, const std::string& child) {
  return prefix.empty() ? child : prefix + "." + child;
}

void expect_video(const Shape& in, int64_t channels, const std::string& name, const char* type) {
  VD_CHECK(in.size() == 5 && (channels < 0 || in[4] == channels),
           "count_flops: " << type << " '" << name << "' expected input [N, T, H, W, "
                           << (channels < 0 ? std::string("C") : std::to_string(channels))
                           << "], got " << shape_str(in)
                           << "; hint: the shape given to count_flops is channels-last");
}

// [N, To, Ho, Wo, C] after a window over [N, T, H, W, C].
Shape windowed(const Shape& in, const Window3d& win, int64_t out_channels) {
  return {in[0], win.out_size(0, in[1]), win.out_size(1, in[2]), win.out_size(2, in[3]),
          out_channels};
}

}  // namespace

Shape FlopCounter::run_child(nn::Module& m, const std::string& prefix, const std::string& child,
                             const Shape& in) {
  return run(*m.child(child), join(prefix, child), in);
}

Shape FlopCounter::run(nn::Module& m, const std::string& name, const Shape& in) {
  if (auto* t = dynamic_cast<ShapeTraced*>(&m)) return t->trace(*this, name, in);
  if (auto* seq = dynamic_cast<nn::Sequential*>(&m)) {
    Shape s = in;
    for (auto& [child, mod] : seq->named_children()) s = run(*mod, join(name, child), s);
    return s;
  }
  if (auto* c = dynamic_cast<nn::Conv3d*>(&m)) {
    const nn::Conv3dOptions& o = c->options;
    expect_video(in, o.in_channels_, name, "Conv3d");
    Shape out = windowed(in, c->window(), o.out_channels_);
    // 2 * N * (To*Ho*Wo) * Cout * (Cin*kT*kH*kW), as torch's conv_flop_count.
    int64_t macs = shape_numel(out) * o.in_channels_ * o.kernel_size_[0] * o.kernel_size_[1] *
                   o.kernel_size_[2];
    layers_.push_back({name, "Conv3d", in, out, 2 * macs});
    total_ += 2 * macs;
    return out;
  }
  if (auto* l = dynamic_cast<nn::Linear*>(&m)) {
    VD_CHECK(!in.empty() && in.back() == l->options.in_features_,
             "count_flops: Linear '" << name << "' expected input [..., " << l->options.in_features_
                                     << "], got " << shape_str(in));
    Shape out = in;
    out.back() = l->options.out_features_;
    int64_t macs = shape_numel(out) * l->options.in_features_;
    layers_.push_back({name, "Linear", in, out, 2 * macs});
    total_ += 2 * macs;
    return out;
  }
  if (dynamic_cast<nn::BatchNormBase*>(&m) || dynamic_cast<nn::ReLU*>(&m) ||
      dynamic_cast<nn::Identity*>(&m))
    return in;
  if (auto* p = dynamic_cast<nn::MaxPool3d*>(&m)) {
    expect_video(in, -1, name, "MaxPool3d");
    return windowed(in, p->options.window("count_flops"), in[4]);
  }
  if (auto* p = dynamic_cast<nn::AvgPool3d*>(&m)) {
    expect_video(in, -1, name, "AvgPool3d");
    return windowed(in, p->options.window("count_flops"), in[4]);
  }
  if (dynamic_cast<nn::AdaptiveAvgPool3d*>(&m)) {
    expect_video(in, -1, name, "AdaptiveAvgPool3d");
    return {in[0], 1, 1, 1, in[4]};
  }
  VD_FAIL("count_flops: no shape rule for module '" << name << "' of type " << m.type_name()
                                                    << "; hint: implement models::ShapeTraced "
                                                       "for composites that are not a chain");
}

FlopReport count_flops(nn::Module& m, const Shape& input) {
  FlopCounter fc;
  FlopReport r;
  r.output = fc.run(m, "", input);
  r.total = fc.total();
  r.layers = fc.layers();
  return r;
}

}  // namespace vd::models
