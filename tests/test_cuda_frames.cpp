// tests/test_cuda_frames.cpp: the compact input transfer on the GPU (issue
// 18; skipped without a device, as every tests/test_cuda_*.cpp). CUDA
// normalize_frames against the CPU kernel (f32 and bf16 bit for bit: the same
// f32 arithmetic, no contraction); a round trip of pinned bytes through the
// copy stream with the compute stream waiting on its event; the uploader's
// tensors against the CPU's for both transfers; and a short GPU run with u8
// vs f32 transfer (same losses at step 0 up to the rounding of the input).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/frames.h"
#include "cuda/api.h"
#include "data/synthetic.h"
#include "tests/test_cuda_util.h"
#include "vididi/input_upload.h"
#include "vididi/train_loop.h"

using namespace vd;

namespace {

const float kMean[3] = {0.43216f, 0.394666f, 0.37645f};
const float kStd[3] = {0.22803f, 0.22145f, 0.216989f};

FrameBytes random_bytes(const Shape& s, uint64_t seed) {
  FrameBytes f = FrameBytes::empty(s);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < f.numel(); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    f.data()[i] = uint8_t(x >> 56);
  }
  return f;
}

FrameBytes to_gpu(const FrameBytes& h) {
  FrameBytes d = FrameBytes::empty(h.shape, cudatest::gpu());
  cuda::copy_host_to_device(h.data(), d.data(), size_t(h.numel()));
  return d;
}

TEST(CudaFrames, NormalizeFramesEqualsTheCpuKernel) {
  VD_SKIP_WITHOUT_GPU();
  for (const Shape& s : {Shape{2, 5, 7, 9, 3}, Shape{1, 1, 1, 1, 3}, Shape{4, 17, 32, 32, 3}}) {
    const FrameBytes h = random_bytes(s, uint64_t(s[1]));
    const FrameBytes d = to_gpu(h);
    for (DType dt : {DType::F32, DType::BF16}) {
      const Tensor want = ops::normalize_frames(h, kMean, kStd, dt);
      const Tensor got = ops::normalize_frames(d, kMean, kStd, dt);
      ASSERT_TRUE(got.is_cuda());
      ASSERT_EQ(got.dtype(), dt);
      EXPECT_TRUE(cudatest::same_bits(got, want)) << shape_str(s) << " " << dt << ": "
                                                  << cudatest::close(got, want, 0, 0);
    }
  }
}

TEST(CudaFrames, PinnedBytesRoundTripThroughTheCopyStream) {
  VD_SKIP_WITHOUT_GPU();
  const size_t n = size_t(3) << 20;  // 12 MiB: long enough that a missing wait would show
  auto pinned = cuda::pinned_allocator()((n + 3) / 4);
  auto* host = reinterpret_cast<uint8_t*>(pinned.get());
  for (size_t i = 0; i < n; ++i) host[i] = uint8_t(i * 7 + i / 251);
  const FrameBytes d = FrameBytes::empty({1, 1, 1, int64_t(n / 3), 3}, cudatest::gpu());
  {
    cuda::StreamEvent queued;  // d may be a block the compute stream was still using
    queued.record_on_compute();
    queued.copy_waits();
  }
  cuda::StreamEvent copied;
  EXPECT_TRUE(copied.done());  // not recorded yet: complete, as in CUDA
  cuda::copy_host_to_device_async(host, d.data(), n);
  copied.record_on_copy();
  copied.compute_waits();  // the normalisation below is ordered after the copy
  const Tensor y = ops::normalize_frames(d, kMean, kStd);
  copied.synchronize();
  EXPECT_TRUE(copied.done());
  // Back through the compute stream (copy_device_to_host waits on it).
  std::vector<uint8_t> back(n);
  cuda::copy_device_to_host(d.data(), back.data(), n);
  EXPECT_EQ(0, std::memcmp(back.data(), host, n));
  FrameBytes h = FrameBytes::empty(d.shape);
  std::memcpy(h.data(), host, n);
  EXPECT_TRUE(cudatest::same_bits(y, ops::normalize_frames(h, kMean, kStd)));
}

data::Batch batch_of(bool u8, int N, uint64_t seed) {
  data::Batch b;
  for (int v = 0; v < 2; ++v) {
    data::ViewBatch vb;
    vb.N = N, vb.T = 6, vb.H = 16, vb.W = 16;
    const FrameBytes r = random_bytes({vb.N, vb.T, vb.H, vb.W, 3}, seed * 2 + uint64_t(v));
    auto buf = cuda::pinned_allocator()(u8 ? (vb.numel() + 3) / 4 : vb.numel());
    if (u8) {
      vb.bytes = std::shared_ptr<uint8_t>(buf, reinterpret_cast<uint8_t*>(buf.get()));
      std::memcpy(vb.bytes.get(), r.data(), vb.numel());
      for (int c = 0; c < 3; ++c) vb.mean[c] = kMean[c], vb.std[c] = kStd[c];
    } else {
      vb.data = buf;
      for (size_t i = 0; i < vb.numel(); ++i) vb.data.get()[i] = float(r.data()[i]) / 255.f - 0.5f;
    }
    b.views.push_back(vb);
  }
  return b;
}

TEST(CudaFrames, UploaderGivesTheCpuTensorsOneBatchAhead) {
  VD_SKIP_WITHOUT_GPU();
  for (bool u8 : {false, true}) {
    const auto t = u8 ? vididi::InputTransfer::U8 : vididi::InputTransfer::F32;
    vididi::InputUploader gpu(cudatest::gpu(), t), cpu(Device::cpu(), t);
    gpu.issue(batch_of(u8, 3, 0));
    cpu.issue(batch_of(u8, 3, 0));
    for (uint64_t s = 1; s <= 5; ++s) {  // as the loop: issue s, then take s - 1
      gpu.issue(batch_of(u8, 3, s));
      cpu.issue(batch_of(u8, 3, s));
      const std::vector<Tensor> g = gpu.take(), c = cpu.take();
      ASSERT_EQ(g.size(), 2u);
      for (size_t v = 0; v < 2; ++v) {
        ASSERT_TRUE(g[v].is_cuda());
        EXPECT_TRUE(cudatest::same_bits(g[v], c[v])) << (u8 ? "u8" : "f32") << " batch " << s - 1 << " view " << v;
      }
    }
  }
}

TEST(CudaFrames, ShortRunWithU8TransferGivesCloseLosses) {
  VD_SKIP_WITHOUT_GPU();
  data::SyntheticConfig sc;
  sc.height = sc.width = 32;
  sc.frames = 16;
  sc.videos_per_class = 1;
  sc.seed = 3;
  auto src = std::make_shared<data::SyntheticDynamics>(sc);
  vididi::TrainConfig c;
  c.model.width_divisor = 8;
  c.model.blocks = "1,1,1,1";
  c.projector_dim = 64;
  c.clip.frames = 4;
  c.clip.crop = 32;
  c.batch = 4;
  c.steps = 4;
  c.warmup_steps = 1;
  c.workers = 2;
  c.device = "cuda";
  c.quiet = true;
  std::vector<double> loss[2];
  for (int k = 0; k < 2; ++k) {
    c.input_transfer = k == 0 ? "f32" : "u8";
    vididi::Trainer tr(c, c.total_steps(src->size()));
    for (const auto& r : vididi::train(tr, src).records) loss[k].push_back(r.loss);
  }
  ASSERT_EQ(loss[0].size(), 4u);
  ASSERT_EQ(loss[1].size(), 4u);
  // As the CPU test (tests/test_vididi_input.cpp): step 0 within 1%, later
  // steps drift with the different gradients.
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(std::isfinite(loss[1][i]));
    EXPECT_NEAR(loss[1][i], loss[0][i], (i == 0 ? 1e-2 : 0.15) * std::abs(loss[0][i])) << "step " << i;
  }
}

}  // namespace
