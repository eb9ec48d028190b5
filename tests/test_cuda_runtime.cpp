// The CUDA runtime around the kernels: precision parsing (runs everywhere),
// the no-GPU path (a clear vd::Error, never a crash), device queries, the
// caching allocator (reuse by size class, current/peak/reserved bytes,
// empty_cache) and pinned host buffers. Suites: CudaPrecision, CudaNoGpu,
// CudaRuntime, CudaAllocator.
#include <gtest/gtest.h>

#include "core/precision.h"
#include "cuda/api.h"
#include "tests/test_cuda_util.h"

namespace vd {
namespace {

using namespace cudatest;

TEST(CudaPrecision, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(parse_precision("fp32"), Precision::FP32);
  EXPECT_EQ(parse_precision("TF32"), Precision::TF32);
  EXPECT_EQ(parse_precision("bf16"), Precision::BF16);
  EXPECT_STREQ(precision_name(Precision::TF32), "tf32");
  try {
    parse_precision("fp16");
    FAIL() << "fp16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected fp32, tf32 or bf16, got 'fp16'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(precision(), Precision::FP32);  // the default
  {
    PrecisionGuard g(Precision::BF16);
    EXPECT_EQ(precision(), Precision::BF16);
  }
  EXPECT_EQ(precision(), Precision::FP32);
}

TEST(CudaNoGpu, MovingToCudaRaisesAClearError) {
  if (cuda::is_available()) GTEST_SKIP() << "a GPU is present: the no-GPU path is not reachable";
  EXPECT_EQ(cuda::device_count(), 0);
  Tensor x = Tensor::ones({2, 3});
  try {
    ops::to_device(x, Device::cuda(0));
    FAIL() << "moving to cuda without a GPU did not throw";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_TRUE(m.find("built without CUDA") != std::string::npos ||
                m.find("no CUDA device") != std::string::npos)
        << m;
    EXPECT_NE(m.find("hint"), std::string::npos) << m;
  }
  EXPECT_THROW(Tensor::zeros({4}, DType::F32, Device::cuda(0)), Error);
  EXPECT_THROW(cuda::pinned_allocator(), Error);
  cuda::synchronize();  // a no-op, never a crash
  cuda::empty_cache();
  EXPECT_EQ(cuda::memory_stats().current_bytes, 0u);
}

TEST(CudaRuntime, DeviceQueriesAndCopies) {
  VD_SKIP_WITHOUT_GPU();
  EXPECT_GT(cuda::device_count(), 0);
  EXPECT_FALSE(cuda::device_name(0).empty());
  EXPECT_THROW(cuda::set_device(cuda::device_count()), Error);
  cuda::set_device(0);
  Tensor x = randn({3, 4}, 1);
  Tensor back = to_cpu(to_gpu(x));
  EXPECT_TRUE(same_bits(back, x));
  // mixed devices are refused with both named
  try {
    ops::binary(BinaryOp::Add, x, to_gpu(x));
    FAIL() << "mixed devices accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos) << e.what();
  }
}

TEST(CudaAllocator, ReusesBlocksAndReportsBytes) {
  VD_SKIP_WITHOUT_GPU();
  EXPECT_EQ(cuda::round_size(1), 512u);
  EXPECT_EQ(cuda::round_size(513), 1024u);
  EXPECT_EQ(cuda::round_size((1u << 20) + 1), 2u << 20);
  cuda::synchronize();
  const cuda::MemoryStats s0 = cuda::memory_stats();
  {
    Tensor a = Tensor::empty({1000}, DType::F32, gpu());  // 4000 B -> 4096 B
    const cuda::MemoryStats s1 = cuda::memory_stats();
    EXPECT_EQ(s1.current_bytes, s0.current_bytes + 4096);
    EXPECT_GE(s1.peak_bytes, s1.current_bytes);
  }
  EXPECT_EQ(cuda::memory_stats().current_bytes, s0.current_bytes);
  // steady state: the same sizes again come from the cache, no cudaMalloc
  const size_t mallocs = cuda::memory_stats().device_mallocs;
  for (int i = 0; i < 10; ++i) {
    Tensor a = Tensor::empty({1000}, DType::F32, gpu());
    Tensor b = Tensor::empty({3, 1000, 1000}, DType::F32, gpu());  // 12 MB, a large block
    ops::fill_(b, 1.0);
  }
  EXPECT_LE(cuda::memory_stats().device_mallocs, mallocs + 1);  // b's first block at most
  EXPECT_GT(cuda::memory_stats().cache_hits, 0u);
  // peak follows the high-water mark and resets to current
  cuda::reset_peak_memory();
  const size_t base = cuda::memory_stats().current_bytes;
  { Tensor big = Tensor::empty({4, 1000, 1000}, DType::F32, gpu()); }
  const size_t want = cuda::round_size(16000000);  // a cached block may be up to 1/4 larger
  EXPECT_GE(cuda::memory_stats().peak_bytes, base + want);
  EXPECT_LE(cuda::memory_stats().peak_bytes, base + want + want / 4);
  EXPECT_EQ(cuda::memory_stats().current_bytes, base);
  // empty_cache gives cached blocks back: reserved falls to what is in use
  cuda::empty_cache();
  const cuda::MemoryStats s2 = cuda::memory_stats();
  EXPECT_EQ(s2.reserved_bytes, s2.current_bytes);
}

TEST(CudaAllocator, PinnedBuffersAreReused) {
  VD_SKIP_WITHOUT_GPU();
  auto alloc = cuda::pinned_allocator();
  float* first = nullptr;
  {
    std::shared_ptr<float> a = alloc(1000);
    first = a.get();
    for (int i = 0; i < 1000; ++i) a.get()[i] = float(i);
    Tensor t = Tensor::empty({1000}, DType::F32, gpu());
    cuda::copy_host_to_device(a.get(), t.data_ptr(), 4000);
    EXPECT_EQ(t.to_vector()[999], 999.0);
  }
  std::shared_ptr<float> b = alloc(1000);
  EXPECT_EQ(b.get(), first);  // the freed buffer came back
}

}  // namespace
}  // namespace vd
