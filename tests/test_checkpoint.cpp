// Tests of layers/checkpoint: bitwise round trip of a module, optimizer state
// and metadata; strict loading errors; atomic writes; and damaged files (cut at
// every offset, every byte flipped) that must raise vd::Error, never crash.
#include <gtest/gtest.h>

#include "tests/test_util.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/random.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "layers/optim/sgd.h"

using namespace vd;
using namespace vd::nn;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("vd_ckpt_test_" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::shared_ptr<Sequential> small_net(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      std::make_shared<Linear>(6, 5, &gen), std::make_shared<BatchNorm1d>(5), std::make_shared<ReLU>(),
      std::make_shared<Linear>(5, 3, &gen)});
}

// One training step so that BN statistics and optimizer state are non-trivial.
void train_step(Sequential& net, optim::Optimizer& opt, uint64_t seed) {
  Generator gen(seed);
  Tensor x = Tensor::randn({8, 6}, &gen);
  Tensor loss = net(x).sum();
  opt.zero_grad();
  loss.backward();
  opt.step();
}

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& b, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(n));
}

using vd::testing::error_of;

}  // namespace

TEST(CheckpointFormat, Crc32KnownValue) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(crc32("", 0), 0u);
  EXPECT_EQ(crc32("6789", 4, crc32("12345", 5)), 0xCBF43926u);  // continues
}

TEST(CheckpointRoundTrip, ModuleOptimizerAndMetaBitwise) {
  TempDir dir;
  auto a = small_net(1);
  optim::SGD oa(a->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  train_step(*a, oa, 5);
  CheckpointMeta meta;
  meta.step = 1234567890123;
  meta.seed = 0xFEDCBA9876543210ull;
  meta.config = "model: r3d18\nlr: 0.6\n";
  meta.extra = {{"git", "abc123"}, {"note", ""}};
  std::string path = dir.file("a.vdck");
  save_checkpoint(path, *a, &oa, meta);

  auto b = small_net(2);  // different init
  optim::SGD ob(b->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  CheckpointMeta got = load_checkpoint(path, *b, &ob);
  EXPECT_EQ(got.step, meta.step);
  EXPECT_EQ(got.seed, meta.seed);
  EXPECT_EQ(got.config, meta.config);
  EXPECT_EQ(got.extra, meta.extra);
  for (const auto& [n, t] : a->state_dict()) {
    Tensor u = b->named_tensor(n);
    EXPECT_EQ(u.dtype(), t.dtype()) << n;
    ASSERT_EQ(u.shape(), t.shape()) << n;
    EXPECT_EQ(std::memcmp(u.data_ptr(), t.data_ptr(), size_t(t.numel()) * dtype_size(t.dtype())), 0) << n;
  }
  EXPECT_EQ(b->named_tensor("1.num_batches_tracked").item(), 1.0);
  NamedTensors sa = oa.state_dict(), sb = ob.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) EXPECT_EQ(sa[i].second.to_vector(), sb[i].second.to_vector()) << sa[i].first;
  // Continuing from both gives the same parameters, bit for bit.
  train_step(*a, oa, 6);
  train_step(*b, ob, 6);
  for (const auto& [n, t] : a->state_dict()) EXPECT_EQ(t.to_vector(), b->named_tensor(n).to_vector()) << n;
}

TEST(CheckpointRoundTrip, RawEntriesAllDtypesAndEmpty) {
  TempDir dir;
  Checkpoint ck;
  Tensor bf = Tensor::empty({3}, DType::BF16);
  uint16_t raw[3] = {0x3F80, 0xC000, 0x7F7F};
  std::memcpy(bf.data_ptr(), raw, sizeof raw);
  ck.model = {{"f64", Tensor::arange(5, DType::F64)}, {"bf16", bf}, {"empty", Tensor::zeros({0, 4})},
              {"scalar", Tensor::full({}, 2.5)}, {"view", Tensor::arange(12).reshape({3, 4}).permute({1, 0})}};
  std::string path = dir.file("raw.vdck");
  write_checkpoint(path, ck);
  Checkpoint got = read_checkpoint(path);
  ASSERT_EQ(got.model.size(), 5u);
  EXPECT_EQ(got.model[0].second.to_vector(), (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(std::memcmp(got.model[1].second.data_ptr(), raw, sizeof raw), 0);
  EXPECT_EQ(got.model[2].second.shape(), (Shape{0, 4}));
  EXPECT_EQ(got.model[3].second.dim(), 0);
  EXPECT_EQ(got.model[4].second.to_vector(), ck.model[4].second.to_vector());  // saved contiguous
  EXPECT_TRUE(got.optimizer.empty());
  EXPECT_EQ(got.meta.step, 0);
}

TEST(CheckpointStrict, NamesMissingUnexpectedAndMismatched) {
  TempDir dir;
  auto a = small_net(1);
  std::string path = dir.file("a.vdck");
  save_checkpoint(path, *a, nullptr, {});
  Generator gen(3);
  Sequential other{std::make_shared<Linear>(6, 4, &gen), std::make_shared<BatchNorm1d>(4),
                   std::make_shared<ReLU>(), std::make_shared<Identity>(), std::make_shared<Linear>(4, 3, &gen)};
  std::string e = error_of([&] { load_checkpoint(path, other); });
  EXPECT_NE(e.find("0.weight: expected [4, 6], got [5, 6]"), std::string::npos) << e;
  EXPECT_NE(e.find("1.running_var: expected [4], got [5]"), std::string::npos) << e;
  EXPECT_NE(e.find("missing key(s): '4.weight' '4.bias'"), std::string::npos) << e;
  EXPECT_NE(e.find("unexpected key(s): '3.weight' '3.bias'"), std::string::npos) << e;
  // An optimizer asked for when none was saved: its keys are missing.
  auto b = small_net(1);
  optim::SGD ob(b->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  e = error_of([&] { load_checkpoint(path, *b, &ob); });
  EXPECT_NE(e.find("(optimizer)"), std::string::npos) << e;
  EXPECT_NE(e.find("'0.weight.momentum_buffer'"), std::string::npos) << e;
}

TEST(CheckpointAtomic, OverwritesAndLeavesNoTemporaries) {
  TempDir dir;
  auto a = small_net(1);
  std::string path = dir.file("ck.vdck");
  save_checkpoint(path, *a, nullptr, {});
  CheckpointMeta m;
  m.step = 2;
  save_checkpoint(path, *a, nullptr, m);
  EXPECT_EQ(read_checkpoint(path).meta.step, 2);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  std::string e = error_of([&] { save_checkpoint(dir.file("no/such/dir/ck.vdck"), *a, nullptr, {}); });
  EXPECT_NE(e.find("cannot create"), std::string::npos) << e;
  e = error_of([&] { read_checkpoint(dir.file("missing.vdck")); });
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
}

TEST(CheckpointCorrupt, EveryTruncationAndEveryByteFlipRaises) {
  TempDir dir;
  auto a = small_net(1);
  optim::SGD oa(a->named_parameters(), optim::SGDOptions(0.1).momentum(0.9));
  CheckpointMeta meta;
  meta.config = "cfg";
  meta.extra = {{"k", "v"}};
  std::string path = dir.file("good.vdck"), bad = dir.file("bad.vdck");
  save_checkpoint(path, *a, &oa, meta);
  std::vector<unsigned char> bytes = read_bytes(path);
  ASSERT_GT(bytes.size(), 500u);
  // In memory (the parser read_checkpoint uses), every cut and every byte flip.
  int raised = 0, tried = 0;
  auto attempt = [&](const std::vector<unsigned char>& b) {
    ++tried;
    try {
      parse_checkpoint(b, "damaged");
    } catch (const Error&) {
      ++raised;
    }
  };
  for (size_t n = 0; n < bytes.size(); ++n)
    attempt(std::vector<unsigned char>(bytes.begin(), bytes.begin() + std::ptrdiff_t(n)));
  for (size_t i = 0; i < bytes.size(); ++i) {  // all bits of odd bytes, one bit of even ones
    std::vector<unsigned char> c = bytes;
    c[i] ^= (i % 2) ? 0xFF : uint8_t(1u << (i % 8));
    attempt(c);
  }
  EXPECT_EQ(raised, tried);
  // Through real files, a few cuts.
  for (size_t n : {size_t(0), size_t(47), size_t(48), bytes.size() / 2, bytes.size() - 1}) {
    write_bytes(bad, bytes, n);
    EXPECT_THROW(read_checkpoint(bad), Error) << "cut at " << n;
  }
  std::vector<unsigned char> longer = bytes;
  longer.push_back(0);
  write_bytes(bad, longer, longer.size());
  EXPECT_NE(error_of([&] { read_checkpoint(bad); }).find("the file has"), std::string::npos);
  write_bytes(bad, bytes, 20);
  EXPECT_NE(error_of([&] { read_checkpoint(bad); }).find("truncated"), std::string::npos);
  std::vector<unsigned char> flipped = bytes;
  flipped.back() ^= 0x10;
  write_bytes(bad, flipped, flipped.size());
  EXPECT_NE(error_of([&] { read_checkpoint(bad); }).find("corrupt payload"), std::string::npos);
  EXPECT_NO_THROW(read_checkpoint(path));
}
