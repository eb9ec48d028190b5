// S3D as torchvision builds it (see s3d.h), from layers/. Initialisation is
// torch's default for Conv3d and BatchNorm (torchvision's S3D re-initialises
// nothing).
#include "vididi/models/s3d.h"

#include "autograd/functions.h"
#include "core/random.h"

namespace vd::models {

namespace {

// torchvision S3D's norm_layer: BatchNorm3d(eps=0.001, momentum=0.001).
std::shared_ptr<nn::BatchNorm3d> s3d_bn(int64_t c) {
  return std::make_shared<nn::BatchNorm3d>(nn::BatchNormOptions(c).eps(1e-3).momentum(1e-3));
}

// torchvision.ops.Conv3dNormActivation: Sequential(Conv3d without bias, BN, ReLU).
std::shared_ptr<nn::Sequential> conv_norm_act(int64_t in, int64_t out, nn::Triple k, nn::Triple s,
                                              nn::Triple p, Generator* gen) {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Conv3d>(nn::Conv3dOptions(in, out, k).stride(s).padding(p).bias(false),
                                   gen),
      s3d_bn(out), std::make_shared<nn::ReLU>(true)});
}

std::shared_ptr<nn::Sequential> unit(int64_t in, int64_t out, Generator* gen) {
  return conv_norm_act(in, out, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, gen);
}

std::shared_ptr<nn::MaxPool3d> max_pool(nn::Triple k, nn::Triple s, nn::Triple p) {
  return std::make_shared<nn::MaxPool3d>(nn::Pool3dOptions(k).stride(s).padding(p));
}

// One inception block's channel arguments (in, b0, b1_mid, b1, b2_mid, b2, b3).
struct Incep {
  int64_t c[7];
};

}  // namespace

std::shared_ptr<nn::Sequential> temporal_separable_conv(int64_t in, int64_t out, int64_t k,
                                                        int64_t s, int64_t p, Generator* gen) {
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      conv_norm_act(in, out, {1, k, k}, {1, s, s}, {0, p, p}, gen),
      conv_norm_act(out, out, {k, 1, 1}, {s, 1, 1}, {p, 0, 0}, gen)});
}

SepInceptionBlock3D::SepInceptionBlock3D(int64_t in, int64_t b0_out, int64_t b1_mid,
                                         int64_t b1_out, int64_t b2_mid, int64_t b2_out,
                                         int64_t b3_out, Generator* gen)
    : nn::Module("SepInceptionBlock3D") {
  using L = std::initializer_list<std::shared_ptr<nn::Module>>;
  branch[0] = register_module("branch0", unit(in, b0_out, gen));
  branch[1] = register_module("branch1", std::make_shared<nn::Sequential>(L{
      unit(in, b1_mid, gen), temporal_separable_conv(b1_mid, b1_out, 3, 1, 1, gen)}));
  branch[2] = register_module("branch2", std::make_shared<nn::Sequential>(L{
      unit(in, b2_mid, gen), temporal_separable_conv(b2_mid, b2_out, 3, 1, 1, gen)}));
  branch[3] = register_module("branch3", std::make_shared<nn::Sequential>(L{
      max_pool({3, 3, 3}, {1, 1, 1}, {1, 1, 1}), unit(in, b3_out, gen)}));
}

Tensor SepInceptionBlock3D::forward(const Tensor& x) {
  std::vector<Tensor> outs;
  for (auto& b : branch) outs.push_back(b->forward(x));
  return concat(outs, 4);  // torch.cat(dim=1) in NCDHW
}

Shape SepInceptionBlock3D::trace(FlopCounter& fc, const std::string& prefix, const Shape& in) {
  Shape out;
  for (int i = 0; i < 4; ++i) {
    Shape s = fc.run_child(*this, prefix, "branch" + std::to_string(i), in);
    if (i == 0) {
      out = s;
      continue;
    }
    VD_CHECK(std::equal(s.begin(), s.end() - 1, out.begin()),
             "SepInceptionBlock3D '" << prefix << "': branch" << i << " gives " << shape_str(s)
                                     << ", branch0 " << shape_str(out));
    out[4] += s[4];
  }
  return out;
}

S3D::S3D(const EncoderOptions& opt) : Encoder("S3D") {
  const int64_t d = opt.width_divisor;
  VD_CHECK(d >= 1 && 16 / d >= 1,
           "S3D: expected width_divisor in [1, 16], got " << d << "; hint: 8 gives a CPU-sized net");
  VD_CHECK(opt.blocks == EncoderOptions().blocks,
           "S3D: has no depth setting (blocks), got " << opt.blocks.size()
                                                      << " stage depths; hint: use width_divisor");
  Generator* gen = opt.gen ? opt.gen : &default_generator();
  auto w = [d](int64_t c) { return c / d; };
  static const Incep kIncep[9] = {
      {{192, 64, 96, 128, 16, 32, 32}},      {{256, 128, 128, 192, 32, 96, 64}},
      {{480, 192, 96, 208, 16, 48, 64}},     {{512, 160, 112, 224, 24, 64, 64}},
      {{512, 128, 128, 256, 24, 64, 64}},    {{512, 112, 144, 288, 32, 64, 64}},
      {{528, 256, 160, 320, 32, 128, 128}},  {{832, 256, 160, 320, 32, 128, 128}},
      {{832, 384, 192, 384, 48, 128, 128}}};
  auto incep = [&](int i) {
    const int64_t* c = kIncep[i].c;
    return std::make_shared<SepInceptionBlock3D>(w(c[0]), w(c[1]), w(c[2]), w(c[3]), w(c[4]),
                                                 w(c[5]), w(c[6]), gen);
  };
  features = register_module("features", std::make_shared<nn::Sequential>());
  features->push_back(temporal_separable_conv(3, w(64), 7, 2, 3, gen));     // 0
  features->push_back(max_pool({1, 3, 3}, {1, 2, 2}, {0, 1, 1}));           // 1
  features->push_back(unit(w(64), w(64), gen));                             // 2
  features->push_back(temporal_separable_conv(w(64), w(192), 3, 1, 1, gen));  // 3
  features->push_back(max_pool({1, 3, 3}, {1, 2, 2}, {0, 1, 1}));           // 4
  features->push_back(incep(0));                                            // 5
  features->push_back(incep(1));                                            // 6
  features->push_back(max_pool({3, 3, 3}, {2, 2, 2}, {1, 1, 1}));           // 7
  for (int i = 2; i < 7; ++i) features->push_back(incep(i));                // 8..12
  features->push_back(max_pool({2, 2, 2}, {2, 2, 2}, {0, 0, 0}));           // 13
  features->push_back(incep(7));                                            // 14
  features->push_back(incep(8));                                            // 15
  const int64_t* last = kIncep[8].c;
  feature_dim_ = w(last[1]) + w(last[3]) + w(last[5]) + w(last[6]);
  num_classes_ = opt.num_classes;
  if (num_classes_ > 0) {
    // torchvision: classifier = Sequential(Dropout(0.2), Conv3d(1024, K, 1, bias=True)).
    // The engine has no dropout layer yet: index 0 is an Identity (docs/MODELS.md).
    auto classifier = register_module("classifier", std::make_shared<nn::Sequential>());
    classifier->push_back(std::make_shared<nn::Identity>());
    classifier_conv = classifier->push_back(std::make_shared<nn::Conv3d>(
        nn::Conv3dOptions(feature_dim_, num_classes_, {1, 1, 1}), gen));
  }
}

Tensor S3D::forward(const Tensor& x) {
  check_clip(x);
  return autocast_output(global_avg_pool3d(features->forward(autocast_input(x))));
}

Tensor S3D::feature_map(const Tensor& x) {
  check_clip(x);
  return autocast_output(features->forward(autocast_input(x)));
}

Tensor S3D::classify(const Tensor& f) {
  check_head(f);
  Tensor y = classifier_conv->forward(reshape(f, {f.size(0), 1, 1, 1, f.size(1)}));
  return reshape(y, {f.size(0), num_classes_});
}

Shape S3D::trace(FlopCounter& fc, const std::string& prefix, const Shape& in) {
  Shape s = fc.run_child(*this, prefix, "features", in);
  return {s[0], s[4]};
}

}  // namespace vd::models
