// Tests of issue 13, items 2-5: nothing lost, nothing wrongly accepted, for
// the files vididi writes and reads. Torn metrics logs, stale temporaries,
// feature files (hostile headers, NaN, labels, folders), writers on a full
// disk (setrlimit(RLIMIT_FSIZE) in a forked child, SIGXFSZ ignored) and a
// worker thread's error reaching the caller of export_synthetic. Not here:
// the trainer's NaN guard and checkpoints' values (test_reliability_nan.cpp).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "data/error.h"
#include "data/image.h"
#include "core/random.h"
#include "data/synthetic.h"
#include "layers/checkpoint.h"
#include "layers/layers.h"
#include "vididi/eval/retrieval.h"
#include "vididi/files.h"
#include "vididi/run_dir.h"
#include "vididi/train_loop.h"

using namespace vd;

namespace {

std::string tmp_path(const std::string& name) {
  std::string d = "/tmp/vididi_relf_" + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf " + d).c_str());
  return d;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// The message of the exception f throws, prefixed by its kind.
std::string thrown(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return std::string("usage: ") + e.what();
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  } catch (const data::DataError& e) {
    return std::string("data: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("other: ") + e.what();
  }
  return "(nothing thrown)";
}

// Runs f in a child whose files may not grow beyond `limit` bytes (a full
// disk: write() fails with EFBIG), and returns what it threw, through a pipe.
std::string on_full_disk(rlim_t limit, const std::function<void()>& f) {
  int fds[2];
  if (::pipe(fds) != 0) return "(no pipe)";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    rlimit r{limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &r);
    const std::string msg = thrown(f);
    if (::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(2);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? msg : "(child crashed) " + msg;
}

eval::VideoFeatures small_features() {
  eval::VideoFeatures f;
  f.videos = 2, f.clips = 1, f.dim = 3;
  f.data = {1, 2, 3, 4, 5, 6};
  f.labels = {0, 1};
  f.names = {"a", "b"};
  f.class_names = {"A", "B"};
  return f;
}

const char kGood[] = "{\"step\": 0, \"epoch\": 0, \"pair\": \"0-1\", \"loss\": 2.5, \"lr\": 0.1, \"seconds\": 0.5}\n"
                     "{\"step\": 1, \"epoch\": 0, \"pair\": \"1-2\", \"loss\": \"nan\", \"lr\": 1e-06, \"seconds\": 0.5}\n";

}  // namespace

TEST(ReliabilityMetrics, TornLastLineIsDroppedWithAWarningAndRepaired) {
  const std::string path = tmp_path("metrics") + ".jsonl";
  spit(path, std::string(kGood) + "{\"step\": 2, \"epoch\": 0, \"pair\": \"0-");  // killed mid-line: hung before
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  std::vector<vididi::StepRecord> r = vididi::read_metrics(path, warn);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1].pair, "1-2");
  EXPECT_TRUE(std::isnan(r[1].loss));
  EXPECT_EQ(r[1].lr, 1e-06);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0], "warning: " + path + ":3: dropped line (expected one JSON object {...} per line (a torn "
                         "last line of an interrupted run?)): '{\"step\": 2, \"epoch\": 0, \"pair\": \"0-'");
  vididi::truncate_metrics(path, 100, warn);
  EXPECT_EQ(slurp(path), kGood);  // repaired: the torn line is gone, every line ends in a newline
  // A line with a bad number, CRLF endings and a NUL byte.
  spit(path, std::string("{\"step\": 0x1, \"loss\": 1}\r\n{\"step\": 1, \"loss\": 1e999}\n") +
                 std::string("{\"step\": 2,\0 \"loss\": 1}\n", 24) + "{\"step\": 3, \"loss\": 4}\r\n");
  warnings.clear();
  r = vididi::read_metrics(path, warn);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].step, 3);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[0].find(":1: dropped line ('step': expected an integer"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find(":2: dropped line ('loss': "), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[2].find(":3: dropped line (a NUL byte at column 12)"), std::string::npos) << warnings[2];
  std::remove(path.c_str());
}

TEST(ReliabilityRunDir, StaleTemporariesOfDeadWritersAreRemoved) {
  const std::string dir = tmp_path("stale");
  vididi::make_dirs(dir);
  const std::string dead = dir + "/checkpoint.vdc.tmp.4194303", mine = dir + "/x.tmp." + std::to_string(::getpid());
  spit(dead, "half");
  spit(mine, "in use");
  spit(dir + "/notes.tmp.txt", "not a temporary");
  std::vector<std::string> said;
  vididi::remove_stale_temporaries(dir, [&](const std::string& l) { said.push_back(l); });
  ASSERT_EQ(said.size(), 1u);
  EXPECT_EQ(said[0], "removed stale temporary " + dead + " (left by an interrupted write)");
  EXPECT_FALSE(vididi::path_exists(dead));
  EXPECT_TRUE(vididi::path_exists(mine));
  EXPECT_TRUE(vididi::path_exists(dir + "/notes.tmp.txt"));
  std::system(("rm -rf " + dir).c_str());
}

TEST(ReliabilityFeatures, HostileFilesAreRefusedNamingTheFile) {
  const std::string path = tmp_path("feat") + ".vdf";
  eval::VideoFeatures f = small_features();
  eval::save_features(f, path);
  const std::string good = slurp(path);
  EXPECT_EQ(eval::parse_features(good, path).data, f.data);
  auto refusal = [&](const std::string& bytes) { return thrown([&] { eval::parse_features(bytes, path); }); };
  // A header promising 2^31-1 videos x 65535 clips x 2^24-1 dims.
  std::string big = good;
  const int64_t v = (int64_t(1) << 31) - 1, c = 65535, d = (int64_t(1) << 24) - 1;
  std::memcpy(&big[8], &v, 8);
  std::memcpy(&big[16], &c, 8);
  std::memcpy(&big[24], &d, 8);
  EXPECT_EQ(refusal(big), "usage: load_features: " + path + ": header says 2147483647 videos x 65535 clips x "
                          "16777215 dims (more than 2^63 bytes), the file has " + std::to_string(good.size()) +
                          " bytes; hint: the file is truncated or corrupt");
  const int64_t v2 = 1000;
  std::memcpy(&big[8], &v2, 8);
  std::memcpy(&big[16], &c, 8);
  const int64_t d2 = 1000;
  std::memcpy(&big[24], &d2, 8);
  EXPECT_EQ(refusal(big), "usage: load_features: " + path + ": header says 1000 videos x 65535 clips x 1000 dims "
                          "(244 GiB), the file has " + std::to_string(good.size()) +
                          " bytes; hint: the file is truncated or corrupt");
  // A NaN value, a label out of range, trailing bytes, a cut.
  std::string nan = good;
  const float q = NAN;
  std::memcpy(&nan[nan.size() - 8], &q, 4);
  EXPECT_EQ(refusal(nan), "usage: load_features: " + path + ": feature 1 of clip 0 of video 1 is nan; expected "
                          "finite values; hint: the encoder diverged, extract again");
  f.labels[1] = 2;
  eval::save_features(f, path);
  EXPECT_EQ(refusal(slurp(path)), "usage: load_features: " + path + ": video 1 has label 2, expected 0 <= label < 2 "
                                  "(the file's class count); hint: the file is corrupt");
  EXPECT_NE(refusal(good + "x").find("trailing bytes"), std::string::npos);
  EXPECT_NE(refusal(good.substr(0, 20)).find("the file is truncated"), std::string::npos);
  EXPECT_NE(refusal("").find("expected the magic VDFEAT01 (8 bytes) at byte 0"), std::string::npos);
  // A folder where the file is expected.
  const std::string dir = tmp_path("featdir");
  vididi::make_dirs(dir);
  EXPECT_EQ(thrown([&] { eval::load_features(dir); }),
            "usage: load_features: " + dir + ": expected a feature file, got a folder; hint: --load_features names "
            "the folder holding train.vdf and test.vdf");
  std::system(("rm -rf " + dir + " " + path).c_str());
}

TEST(ReliabilityDiskFull, EveryWriterFailsLoudly) {
  const std::string dir = tmp_path("full");
  vididi::make_dirs(dir);
  const std::string text(100000, 'x');
  EXPECT_EQ(on_full_disk(4096, [&] { vididi::write_text(dir + "/a.txt", text); }),
            "usage: cannot write " + dir + "/a.txt: File too large (disk full?)");
  EXPECT_FALSE(vididi::path_exists(dir + "/a.txt"));
  const std::string ck = on_full_disk(4096, [&] {
    Generator gen(1);
    nn::Linear big(300, 300, &gen);
    save_checkpoint(dir + "/ck.vdc", big, nullptr, {});
  });
  EXPECT_NE(ck.find("checkpoint: writing " + dir + "/ck.vdc.tmp."), std::string::npos) << ck;
  EXPECT_NE(ck.find("failed: File too large; hint: is the disk full?"), std::string::npos) << ck;
  eval::VideoFeatures f = small_features();
  f.videos = 1, f.clips = 1, f.dim = 10000;
  f.data.assign(10000, 0.5f);
  f.labels = {0};
  f.names = {"a"};
  const std::string feat = on_full_disk(4096, [&] { eval::save_features(f, dir + "/f.vdf"); });
  EXPECT_EQ(feat.rfind("usage: save_features: writing " + dir + "/f.vdf (40", 0), 0u) << feat;
  EXPECT_NE(feat.find("File too large; hint: is the disk full?"), std::string::npos) << feat;
  data::Image img(200, 200, 3);  // noise: the PNG stays far above the limit
  uint32_t x = 12345;
  for (auto& p : img.px) p = uint8_t((x = x * 1664525u + 1013904223u) >> 24);
  const std::string png = on_full_disk(4096, [&] { data::write_png(dir + "/p.png", img); });
  EXPECT_EQ(png.rfind("data: " + dir + "/p.png: writing ", 0), 0u) << png;
  EXPECT_NE(png.find("bytes failed: File too large. Hint: is the disk full?"), std::string::npos) << png;
  int files = 0;
  for (const char* n : {"/a.txt", "/ck.vdc", "/f.vdf", "/p.png"}) files += vididi::path_exists(dir + n);
  EXPECT_EQ(files, 0);  // no half files left behind
  std::system(("rm -rf " + dir).c_str());
}

TEST(ReliabilityThreads, ExportSyntheticRethrowsAWorkersError) {
  const std::string file = tmp_path("synth_file");
  spit(file, "a file, not a folder");
  data::SyntheticConfig tr, te;
  tr.height = tr.width = te.height = te.width = 16;
  tr.frames = te.frames = 2;
  tr.videos_per_class = te.videos_per_class = 1;
  te.subset = data::Subset::test;
  const std::string msg = thrown([&] { data::export_synthetic(tr, te, file + "/root", 90); });
  EXPECT_EQ(msg.rfind("data: " + file + "/root/", 0), 0u) << msg;
  EXPECT_NE(msg.find(": cannot create the frame folder: Not a directory. Hint: check that --out is a writable "
                     "folder"), std::string::npos) << msg;
  // On a full disk, the first frame's error reaches the caller too.
  const std::string dir = tmp_path("synth_full");
  const std::string full = on_full_disk(100, [&] { data::export_synthetic(tr, te, dir, 90); });
  EXPECT_EQ(full.rfind("data: " + dir + "/", 0), 0u) << full;
  EXPECT_NE(full.find("failed: File too large. Hint: is the disk full?"), std::string::npos) << full;
  std::system(("rm -rf " + dir + " " + file).c_str());
}
