// vididi/cli/common.cpp: dataset, device, encoder and run-directory helpers
// shared by the subcommands (see common.h).
#include "vididi/cli/common.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/backend.h"
#include "core/precision.h"
#include "core/random.h"
#include "layers/checkpoint.h"
#include "data/frame_folder.h"
#include "data/synthetic.h"
#include "vididi/cli/train_settings.h"
#include "vididi/models/encoder.h"
#include "vididi/run_dir.h"

namespace vd::cli {

bool parse_or_help(Settings& s, const std::vector<std::string>& args, const char* name,
                   const char* summary, std::ostream& out) {
  ParsedFlags f = parse_flags(args);
  if (f.help) {
    out << "usage: vididi " << name << " [--config FILE] [--key value | --key=value ...]\n"
        << summary << "\n\nkeys (config file: one 'key = value' per line; flags override):\n"
        << s.help_text();
    return true;
  }
  apply(s, f);
  return false;
}

// --- datasets ----------------------------------------------------------------------

void add_dataset_keys(Settings& s) {
  s.add("dataset", "synthetic", "which dataset", KeyType::Choice, {"synthetic", "ucf101", "hmdb51", "list"});
  s.add("data_root", "", "frame folders ROOT/<class>/<video>/img_00001.jpg (ucf101, hmdb51, list)", KeyType::Path);
  s.add("split_dir", "", "folder of the split files (default: data_root)", KeyType::Path);
  s.add("split", "1", "official split number (1..3)", KeyType::Int);
  s.add("train_list", "", "dataset=list: train list file (<class>/<video> per line or Kinetics CSV)", KeyType::Path);
  s.add("test_list", "", "dataset=list: test list file", KeyType::Path);
  s.add("short_side", "0", "resize frames so the short side is this (0 = as stored)", KeyType::Int);
  s.add("on_corrupt", "stop", "an unreadable frame stops the run or is skipped with a warning", KeyType::Choice, {"stop", "skip"});
  s.add("synth_size", "64", "synthetic: frame height and width", KeyType::Int);
  s.add("synth_frames", "32", "synthetic: frames per video", KeyType::Int);
  s.add("synth_train_per_class", "100", "synthetic: train videos per class", KeyType::Int);
  s.add("synth_test_per_class", "20", "synthetic: test videos per class", KeyType::Int);
  s.add("synth_seed", "0", "synthetic: seed of the generated videos", KeyType::Int);
  s.add("synth_texture", "1", "synthetic: scale of the background texture's contrast (1 = faint, 4 = as strong as the object)",
        KeyType::Float);
}

namespace {
int64_t positive(const Settings& s, const std::string& key, int64_t min = 1) {
  int64_t v = s.integer(key);
  if (v < min)
    throw UsageError("bad value for '" + key + "': expected >= " + std::to_string(min) + ", got " +
                     std::to_string(v));
  return v;
}
}  // namespace

std::shared_ptr<const data::VideoSource> open_dataset(const Settings& s, data::Subset subset) {
  const std::string kind = s.str("dataset");
  if (kind == "synthetic") {
    data::SyntheticConfig c;
    c.height = c.width = int(positive(s, "synth_size", 8));
    c.frames = int(positive(s, "synth_frames", 3));
    c.videos_per_class = int(positive(s, subset == data::Subset::train ? "synth_train_per_class" : "synth_test_per_class"));
    c.seed = uint64_t(s.integer("synth_seed"));
    c.texture = float(s.real("synth_texture"));
    if (!(c.texture >= 0)) throw UsageError("bad value for 'synth_texture': expected >= 0, got " + s.str("synth_texture"));
    c.subset = subset;
    return std::make_shared<data::SyntheticDynamics>(c);
  }
  const std::string root = s.str("data_root");
  if (root.empty())
    throw UsageError("dataset=" + kind + " needs --data_root (the folder of <class>/<video>/ frame folders)");
  if (!path_exists(root)) throw UsageError("data_root '" + root + "' does not exist; hint: prepare frames with tools/ (see docs/DATA.md)");
  std::string split_dir = s.str("split_dir").empty() ? root : s.str("split_dir");
  data::SplitList list;
  if (kind == "ucf101") {
    list = data::read_ucf101_split(split_dir, int(s.integer("split")), subset);
  } else if (kind == "hmdb51") {
    list = data::read_hmdb51_split(split_dir, int(s.integer("split")), subset);
  } else {
    std::string key = subset == data::Subset::train ? "train_list" : "test_list";
    if (s.str(key).empty()) throw UsageError("dataset=list needs --" + key);
    std::vector<std::string> classes;
    if (subset == data::Subset::test && !s.str("train_list").empty())
      classes = data::read_video_list(s.str("train_list")).classes;
    list = data::read_video_list(s.str(key), classes);
  }
  data::FrameFolderConfig fc;
  fc.root = root;
  fc.short_side = int(s.integer("short_side"));
  fc.on_corrupt = s.str("on_corrupt") == "skip" ? data::OnCorrupt::skip : data::OnCorrupt::stop;
  return std::make_shared<data::FrameFolderDataset>(list, fc);
}

std::string dataset_description(const Settings& s) {
  if (s.str("dataset") == "synthetic") {
    std::ostringstream os;
    os << "synthetic dynamics " << s.str("synth_size") << "x" << s.str("synth_size") << ", "
       << s.str("synth_frames") << " frames, " << s.str("synth_train_per_class") << "/"
       << s.str("synth_test_per_class") << " train/test videos per class, texture " << s.str("synth_texture")
       << ", seed " << s.str("synth_seed");
    return os.str();
  }
  return s.str("dataset") + " split " + s.str("split") + " at " + s.str("data_root");
}

// --- device ---------------------------------------------------------------------------

void add_device_keys(Settings& s) {
  s.add("device", "auto", "auto (a GPU when present, else the CPU), cpu, cuda or cuda:N");
  s.add("precision", "fp32", "GPU math for conv/matmul (the CPU always uses fp32)", KeyType::Choice, {"fp32", "tf32", "bf16"});
}

Device pick_device(const Settings& s) {
  set_precision(parse_precision(s.str("precision")));
  const std::string d = s.str("device");
  if (d == "auto") return cuda::is_available() ? Device::cuda(0) : Device::cpu();
  Device dev;
  try {
    dev = Device::parse(d);
  } catch (const std::exception&) {
    throw UsageError("bad value for 'device': expected auto, cpu, cuda or cuda:N, got '" + d + "'");
  }
  if (dev.is_cuda() && !cuda::is_available())
    throw UsageError("device=" + d + " but no GPU is usable (this build " +
                     std::string(cuda::device_count() == 0 ? "found none" : "cannot use it") +
                     "); hint: use --device cpu or --device auto");
  if (dev.is_cuda() && dev.index >= cuda::device_count())
    throw UsageError("device=" + d + ": only " + std::to_string(cuda::device_count()) + " GPU(s) present");
  if (dev.is_cuda()) cuda::set_device(dev.index);
  return dev;
}

// --- encoders -------------------------------------------------------------------------

void add_encoder_keys(Settings& s) {
  s.add("encoder", "r3d_18", "encoder architecture", KeyType::Choice, {"r3d_18", "r2plus1d_18", "s3d"});
  s.add("width_divisor", "1", "divide every channel width by this (8 = CPU-sized)", KeyType::Int);
  add_train_key(s, "blocks");  // pretrain's key: a checkpoint loads into the encoder it was trained as
  s.add("checkpoint", "", "encoder weights: a pretrain run directory or checkpoint file (empty = random init)", KeyType::Path);
}

std::shared_ptr<models::Encoder> build_encoder(const Settings& s, Device device, uint64_t seed,
                                               int64_t num_classes) {
  if (!s.str("checkpoint").empty()) resolve_checkpoint(s.str("checkpoint"));  // fail before building
  Generator gen(seed);
  models::EncoderOptions o;
  o.width_divisor = positive(s, "width_divisor");
  o.blocks = block_counts(s);
  o.num_classes = num_classes;
  o.gen = &gen;
  auto enc = models::make_encoder(s.str("encoder"), o);
  if (!s.str("checkpoint").empty()) load_encoder_checkpoint(*enc, s.str("checkpoint"));
  enc->to(device);
  return enc;
}

std::string resolve_checkpoint(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw UsageError("checkpoint '" + path + "' does not exist; hint: give a pretrain run directory or a .ckpt file");
  if (!S_ISDIR(st.st_mode)) return path;
  for (const char* name : {"checkpoint.vdc", "encoder.ckpt", "last.ckpt", "checkpoint.ckpt", "latest.ckpt"}) {
    std::string p = path + "/" + name;
    if (path_exists(p)) return p;
  }
  throw UsageError("checkpoint folder '" + path +
                   "' holds none of checkpoint.vdc, encoder.ckpt, last.ckpt, checkpoint.ckpt, latest.ckpt");
}

void load_encoder_checkpoint(models::Encoder& encoder, const std::string& path) {
  Checkpoint ck = read_checkpoint(resolve_checkpoint(path));
  nn::NamedTensors src;
  bool prefixed = false;
  for (const auto& [name, t] : ck.model)
    if (name.rfind("encoder.", 0) == 0) prefixed = true;
  for (const auto& [name, t] : ck.model) {
    if (!prefixed) src.emplace_back(name, t);
    else if (name.rfind("encoder.", 0) == 0) src.emplace_back(name.substr(8), t);
  }
  // Every encoder tensor but the classification head must be there with its
  // shape, and no other encoder tensor: a deeper checkpoint (more blocks per
  // stage) must not load silently into a shallower encoder.
  auto head = [](const std::string& n) { return n.rfind("fc.", 0) == 0 || n.rfind("classifier.", 0) == 0; };
  const nn::NamedTensors dst = encoder.state_dict();
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : dst) {
    const Tensor* from = nn::find_named(src, name);
    if (!from) {
      if (!head(name)) missing.push_back(name);
    } else if (from->shape() != t.shape()) {
      mismatched.push_back(name + " (encoder " + shape_str(t.shape()) + ", checkpoint " +
                           shape_str(from->shape()) + ")");
    }
  }
  for (const auto& [name, t] : src)
    if (!head(name) && !nn::find_named(dst, name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string what;
    auto list = [&](const char* title, const std::vector<std::string>& v) {
      if (v.empty()) return;
      what += "; " + std::to_string(v.size()) + " " + title + ":";
      for (size_t i = 0; i < v.size() && i < 3; ++i) what += " " + v[i];
      if (v.size() > 3) what += " ...";
    };
    list("encoder tensor(s) missing from the checkpoint", missing);
    list("checkpoint tensor(s) the encoder lacks", unexpected);
    list("shape mismatch(es)", mismatched);
    throw UsageError("checkpoint " + path + " does not match the encoder" + what +
                     "; hint: build the encoder as it was pretrained: the same --encoder, --width_divisor and "
                     "--blocks (see the run's config.txt)");
  }
  nn::load_named(dst, src, false, "load_encoder_checkpoint");
}

// --- evaluation clips ----------------------------------------------------------------

void add_clip_keys(Settings& s, int default_frames, int default_crop) {
  s.add("clips", "10", "evaluation clips per video, evenly spaced", KeyType::Int);
  s.add("frames", std::to_string(default_frames), "frames per clip (T)", KeyType::Int);
  s.add("stride", "1", "frame step within a clip", KeyType::Int);
  s.add("crop", std::to_string(default_crop), "centre crop side in pixels", KeyType::Int);
  s.add("order", "0", "derivative order the encoder sees at evaluation (0 = raw frames)", KeyType::Int);
  s.add("batch", "16", "clips per forward pass", KeyType::Int);
  s.add("workers", "0", "data loader threads (0 = one per core)", KeyType::Int);
}

eval::ExtractOptions extract_options(const Settings& s, Device device) {
  eval::ExtractOptions o;
  o.clips = int(positive(s, "clips"));
  o.frames = int(positive(s, "frames"));
  o.stride = int(positive(s, "stride"));
  o.crop = int(positive(s, "crop", 8));
  o.batch = int(positive(s, "batch"));
  o.workers = int(positive(s, "workers", 0));
  o.order = int(s.integer("order"));
  if (o.order < 0 || o.order > 2)
    throw UsageError("bad value for 'order': expected 0, 1 or 2, got " + s.str("order"));
  o.device = device;
  return o;
}

std::pair<eval::VideoFeatures, eval::VideoFeatures> extract_splits(
    const Settings& s, nn::Module& encoder, const eval::ExtractOptions& o, std::ostream& out,
    bool recalibrate_bn) {
  if (recalibrate_bn) {
    auto t0 = std::chrono::steady_clock::now();
    const int64_t batches = eval::recalibrate_batch_norm(encoder, open_dataset(s, data::Subset::train), o);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out << "  batch norm re-estimated on the train clips (order " << o.order << "): " << batches
        << " batches of " << o.batch << " in " << std::fixed << std::setprecision(1) << sec << " s\n"
        << std::flush;
  }
  auto one = [&](data::Subset subset, const char* name) {
    auto src = open_dataset(s, subset);
    auto t0 = std::chrono::steady_clock::now();
    eval::VideoFeatures f = eval::extract_features(encoder, src, o);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    out << "  " << name << ": " << f.videos << " videos x " << f.clips << " clips -> dim " << f.dim
        << " in " << std::fixed << std::setprecision(1) << sec << " s\n" << std::flush;
    return f;
  };
  auto train = one(data::Subset::train, "train");
  auto test = one(data::Subset::test, "test");
  return {std::move(train), std::move(test)};
}

// --- files ------------------------------------------------------------------------------

std::string default_run_dir(const std::string& prefix) {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + prefix + "-" + buf;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void make_dirs(const std::string& dir) {
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw UsageError("cannot create folder " + cur);
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw UsageError("'" + dir + "' exists and is not a folder");
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream os(path, std::ios::trunc);
  if (!os.good()) throw UsageError("cannot write " + path);
  os << text;
}

void write_resolved_config(const Settings& s, const std::string& dir) {
  write_text(dir + "/config.txt", s.as_config_file());
}

namespace {
std::string shell_line(const char* cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd, "r")) {
    char buf[256];
    if (std::fgets(buf, sizeof buf, p)) out = buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> build_info() {
  std::vector<std::pair<std::string, std::string>> v;
  std::string commit = shell_line("git rev-parse --short HEAD 2>/dev/null");
  std::string dirty = shell_line("git status --porcelain --untracked-files=no 2>/dev/null | head -1");
  v.emplace_back("code version", commit.empty() ? "unknown (not a git checkout)" : commit + (dirty.empty() ? "" : " (modified)"));
  v.emplace_back("compiler", "g++ " __VERSION__);
#if defined(__OPTIMIZE__)
  v.emplace_back("optimised", "yes");
#else
  v.emplace_back("optimised", "no");
#endif
#if defined(VD_CUDA)
  v.emplace_back("CUDA build", "yes");
#else
  v.emplace_back("CUDA build", "no (CUDA=0: the CPU backend only)");
#endif
#if defined(VD_OPENBLAS)
  v.emplace_back("BLAS", "OpenBLAS");
#else
  v.emplace_back("BLAS", "built-in gemm");
#endif
  int n = cuda::is_available() ? cuda::device_count() : 0;
  std::string devs = "cpu";
  for (int i = 0; i < n; ++i) devs += ", cuda:" + std::to_string(i) + " (" + cuda::device_name(i) + ")";
  v.emplace_back("devices", devs);
  v.emplace_back("CUDA / cuDNN", vididi::cuda_versions());
  v.emplace_back("precision", precision_name(precision()));
  return v;
}

}  // namespace vd::cli
