// R3D-18 and R(2+1)D-18 as torchvision's VideoResNet (see r3d.h), built from
// layers/; initialised as torchvision (init::video_resnet_).
#include "vididi/models/r3d.h"

#include "autograd/functions.h"
#include "core/random.h"

namespace vd::models {

namespace {

constexpr int64_t kWidths[4] = {64, 128, 256, 512};
constexpr int64_t kR2Plus1dStemMid = 45;

std::shared_ptr<nn::Conv3d> conv(int64_t in, int64_t out, nn::Triple k, nn::Triple s,
                                 nn::Triple p, Generator* gen) {
  return std::make_shared<nn::Conv3d>(nn::Conv3dOptions(in, out, k).stride(s).padding(p).bias(false),
                                      gen);
}

std::shared_ptr<nn::BatchNorm3d> bn(int64_t c) { return std::make_shared<nn::BatchNorm3d>(c); }
// A ReLU layer (nn::ReLU, printed inplace=True as torchvision's); not the
// function relu(x) that BasicBlock::forward applies.
std::shared_ptr<nn::ReLU> relu_module() { return std::make_shared<nn::ReLU>(true); }

// torchvision's conv_builder(in, out, midplanes, stride): Conv3DSimple is the
// Conv3d itself, Conv2Plus1D a Sequential (so its weights are `.0.0.weight`, `.0.3.weight`).
std::shared_ptr<nn::Module> block_conv(ResNetConv kind, int64_t in, int64_t out, int64_t mid,
                                       int64_t s, Generator* gen) {
  if (kind == ResNetConv::Simple3d) return conv(in, out, {3, 3, 3}, {s, s, s}, {1, 1, 1}, gen);
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      conv(in, mid, {1, 3, 3}, {1, s, s}, {0, 1, 1}, gen), bn(mid), relu_module(),
      conv(mid, out, {3, 1, 1}, {s, 1, 1}, {1, 0, 0}, gen)});
}

// BasicStem / R2Plus1dStem with widths // divisor.
std::shared_ptr<nn::Sequential> make_stem(ResNetConv kind, int64_t divisor, Generator* gen) {
  int64_t out = kWidths[0] / divisor;
  auto stem = std::make_shared<nn::Sequential>();
  if (kind == ResNetConv::Simple3d) {
    stem->push_back(conv(3, out, {3, 7, 7}, {1, 2, 2}, {1, 3, 3}, gen));
    stem->push_back(bn(out));
    stem->push_back(relu_module());
    return stem;
  }
  int64_t mid = kR2Plus1dStemMid / divisor;
  stem->push_back(conv(3, mid, {1, 7, 7}, {1, 2, 2}, {0, 3, 3}, gen));
  stem->push_back(bn(mid));
  stem->push_back(relu_module());
  stem->push_back(conv(mid, out, {3, 1, 1}, {1, 1, 1}, {1, 0, 0}, gen));
  stem->push_back(bn(out));
  stem->push_back(relu_module());
  return stem;
}

}  // namespace

int64_t r2plus1d_midplanes(int64_t in_planes, int64_t out_planes) {
  return (in_planes * out_planes * 27) / (in_planes * 9 + 3 * out_planes);
}

BasicBlock::BasicBlock(ResNetConv kind, int64_t in_planes, int64_t planes, int64_t stride,
                       Generator* gen)
    : nn::Module("BasicBlock") {
  int64_t mid = r2plus1d_midplanes(in_planes, planes);
  conv1 = register_module("conv1", std::make_shared<nn::Sequential>());
  conv1->push_back(block_conv(kind, in_planes, planes, mid, stride, gen));
  conv1->push_back(bn(planes));
  conv1->push_back(relu_module());
  conv2 = register_module("conv2", std::make_shared<nn::Sequential>());
  conv2_conv_ = conv2->push_back(block_conv(kind, planes, planes, mid, 1, gen));
  conv2_bn_ = conv2->push_back(bn(planes));
  register_module("relu", relu_module());  // parameter-free, registered for printing parity
  if (stride != 1 || in_planes != planes) {
    // get_downsample_stride is (s, s, s) for both conv kinds.
    downsample = register_module("downsample", std::make_shared<nn::Sequential>());
    downsample->push_back(conv(in_planes, planes, {1, 1, 1}, {stride, stride, stride}, {0, 0, 0}, gen));
    downsample->push_back(bn(planes));
  }
}

// relu(bn2(conv2(conv1(x))) + residual) with bn2 + add + relu one fused op;
// the ops run in the composition's order (conv1, conv2's conv, downsample).
Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = conv2_conv_->forward(conv1->forward(x));
  Tensor residual = downsample ? downsample->forward(x) : x;
  return conv2_bn_->forward_relu(out, residual);
}

Shape BasicBlock::trace(FlopCounter& fc, const std::string& prefix, const Shape& in) {
  Shape out = fc.run_child(*this, prefix, "conv2", fc.run_child(*this, prefix, "conv1", in));
  Shape res = downsample ? fc.run_child(*this, prefix, "downsample", in) : in;
  VD_CHECK(out == res, "BasicBlock '" << prefix << "': main path gives " << shape_str(out)
                                      << " but the residual " << shape_str(res)
                                      << "; hint: input too small for the strides");
  return out;
}

VideoResNet::VideoResNet(ResNetConv kind, const EncoderOptions& opt)
    : Encoder(kind == ResNetConv::Simple3d ? "VideoResNet(R3D)" : "VideoResNet(R(2+1)D)") {
  const int64_t d = opt.width_divisor;
  VD_CHECK(d >= 1 && kR2Plus1dStemMid / d >= 1,
           "VideoResNet: expected width_divisor in [1, 45], got " << d
                                                                  << "; hint: 8 gives a CPU-sized net");
  VD_CHECK(opt.blocks.size() == 4, "VideoResNet: expected 4 stage depths (blocks), got "
                                       << opt.blocks.size() << "; hint: {2, 2, 2, 2} is the -18 net");
  Generator& gen = opt.gen ? *opt.gen : default_generator();
  stem = register_module("stem", make_stem(kind, d, &gen));
  int64_t in_planes = kWidths[0] / d;
  std::shared_ptr<nn::Sequential>* stages[4] = {&layer1, &layer2, &layer3, &layer4};
  for (int i = 0; i < 4; ++i) {
    VD_CHECK(opt.blocks[i] >= 1, "VideoResNet: expected >= 1 block in stage " << i + 1 << ", got "
                                                                              << opt.blocks[i]);
    int64_t planes = kWidths[i] / d;
    auto layer = std::make_shared<nn::Sequential>();
    for (int64_t b = 0; b < opt.blocks[i]; ++b) {
      layer->push_back(std::make_shared<BasicBlock>(kind, in_planes, planes,
                                                    (b == 0 && i > 0) ? 2 : 1, &gen));
      in_planes = planes;
    }
    *stages[i] = register_module("layer" + std::to_string(i + 1), layer);
  }
  register_module("avgpool", std::make_shared<nn::AdaptiveAvgPool3d>());
  feature_dim_ = in_planes;
  num_classes_ = opt.num_classes;
  if (num_classes_ > 0)
    fc = register_module("fc", std::make_shared<nn::Linear>(feature_dim_, num_classes_, &gen));
  nn::init::video_resnet_(*this, gen);
}

Tensor VideoResNet::forward(const Tensor& x) {
  check_clip(x);
  Tensor h = stem->forward(autocast_input(x));
  Tensor y = layer4->forward(layer3->forward(layer2->forward(layer1->forward(h))));
  return autocast_output(global_avg_pool3d(y));  // = AdaptiveAvgPool3d(1) + flatten(1)
}

Tensor VideoResNet::feature_map(const Tensor& x) {
  check_clip(x);
  Tensor h = stem->forward(autocast_input(x));
  return autocast_output(layer4->forward(layer3->forward(layer2->forward(layer1->forward(h)))));
}

Tensor VideoResNet::classify(const Tensor& features) {
  check_head(features);
  return fc->forward(features);
}

Shape VideoResNet::trace(FlopCounter& fc_, const std::string& prefix, const Shape& in) {
  Shape s = in;
  for (const char* child : {"stem", "layer1", "layer2", "layer3", "layer4"})
    s = fc_.run_child(*this, prefix, child, s);
  return {s[0], s[4]};
}

}  // namespace vd::models
