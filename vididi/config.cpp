// vididi/config.cpp: the key table of TrainConfig (names, defaults, help,
// text conversions) and the up-front validation (see config.h).
#include "vididi/config.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "core/errors.h"
#include "vididi/heads.h"
#include "vididi/models/encoder.h"
#include "vididi/schedule.h"

namespace vd::vididi {

namespace {

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

int64_t to_int(const std::string& key, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  VD_CHECK(!v.empty() && *end == '\0' && errno == 0,
           "config: " << key << " expects an integer, got '" << v << "'; hint: " << key << " = 16");
  return x;
}

double to_double(const std::string& key, const std::string& v) {
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  VD_CHECK(!v.empty() && *end == '\0', "config: " << key << " expects a number, got '" << v
                                                  << "'; hint: " << key << " = 0.1");
  return x;
}

bool to_bool(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  VD_FAIL("config: " << key << " expects true or false, got '" << v << "'");
}

struct Field {
  const char* name;
  const char* type;  // "string" | "int" | "real" | "bool"
  const char* help;
  std::function<std::string(const TrainConfig&)> get;
  std::function<void(TrainConfig&, const std::string&)> set;
};

#define VD_STR(m, help) \
  Field{#m, "string", help, [](const TrainConfig& c) { return c.m; }, [](TrainConfig& c, const std::string& v) { c.m = v; }}
#define VD_INT(m, help)                                                             \
  Field{#m, "int", help, [](const TrainConfig& c) { return std::to_string(c.m); },        \
        [](TrainConfig& c, const std::string& v) { c.m = decltype(c.m)(to_int(#m, v)); }}
#define VD_REAL(m, help)                                                  \
  Field{#m, "real", help, [](const TrainConfig& c) { return fmt(c.m); },         \
        [](TrainConfig& c, const std::string& v) { c.m = to_double(#m, v); }}
#define VD_BOOL(m, help)                                                             \
  Field{#m, "bool", help, [](const TrainConfig& c) { return std::string(c.m ? "true" : "false"); }, \
        [](TrainConfig& c, const std::string& v) { c.m = to_bool(#m, v); }}

const std::vector<Field>& fields() {
  static const std::vector<Field> f = {
      VD_STR(framework, "vicreg | byol | simclr"),
      VD_STR(pairs, "derivative-order pairs (clip A order - clip B order), e.g. 0-1,1-2,2-0; 0-0 = frames only"),
      VD_STR(schedule, "alternate (one pair per step, in turn) | sum (all pairs every step, losses summed) | random"),
      VD_STR(gain, "gain of the views of order 0,1,2 (ablation)"),
      VD_BOOL(standardize, "standardise each clip of a derivative view to zero mean, unit variance (ablation)"),
      VD_STR(encoder, "r3d_18 | r2plus1d_18 | s3d"),
      VD_INT(width_divisor, "divide every encoder width by this (8 for CPU-sized runs)"),
      VD_STR(blocks, "VideoResNet blocks per stage (2,2,2,2 = torchvision)"),
      VD_INT(projector_dim, "VICReg projector width (Linear-BN-ReLU x2 + Linear)"),
      VD_INT(byol_hidden, "BYOL projector/predictor hidden width"),
      VD_INT(byol_dim, "BYOL projection width"),
      VD_INT(simclr_hidden, "SimCLR projector hidden width"),
      VD_INT(simclr_dim, "SimCLR projection width"),
      VD_REAL(temperature, "SimCLR NT-Xent temperature"),
      VD_REAL(byol_momentum, "BYOL target momentum at step 0 (cosine to 1 at the end)"),
      VD_REAL(vicreg_inv, "VICReg invariance weight"),
      VD_REAL(vicreg_var, "VICReg variance weight"),
      VD_REAL(vicreg_cov, "VICReg covariance weight"),
      VD_INT(frames, "T: frames per view (clips are sampled with T + k frames, k = highest order)"),
      VD_INT(stride, "frame step within a clip"),
      VD_INT(crop, "random-resized-crop output size (square)"),
      VD_BOOL(same_clip, "both clips of a video start at the same frame (augmentation still differs)"),
      VD_REAL(scale_min, "random resized crop: smallest crop area, as a fraction of the frame (up to 1)"),
      VD_REAL(flip_p, "horizontal flip probability per clip (0 when the class is a direction, e.g. synthetic)"),
      VD_REAL(jitter_p, "colour jitter probability per clip (brightness, contrast, saturation 0.4, hue 0.1)"),
      VD_REAL(grayscale_p, "grayscale probability per clip"),
      VD_INT(workers, "data loader threads (0 = one per hardware thread)"),
      VD_INT(epochs, "passes over the dataset (used when steps = 0)"),
      VD_INT(steps, "optimizer steps (wins over epochs when > 0)"),
      VD_INT(batch, "videos per step (two clips each); >= 2 for batch norm"),
      VD_STR(optimizer, "lars | sgd | adamw"),
      VD_REAL(lr, "peak learning rate after warm-up"),
      VD_REAL(final_lr, "learning rate at the end of the cosine"),
      VD_REAL(weight_decay, "weight decay"),
      VD_REAL(momentum, "LARS/SGD momentum"),
      VD_REAL(lars_eta, "LARS trust coefficient"),
      VD_REAL(beta1, "AdamW beta1"),
      VD_REAL(beta2, "AdamW beta2"),
      VD_INT(warmup_steps, "linear warm-up steps from 0"),
      VD_BOOL(exclude_bias_bn, "no weight decay / LARS adaptation for biases and BN parameters"),
      VD_REAL(grad_clip, "clip the global gradient norm to this (0 = off)"),
      VD_STR(device, "auto (cuda when available, else cpu) | cpu | cuda | cuda:N"),
      VD_STR(precision, "fp32 | tf32 | bf16 (the last two on the GPU only)"),
      VD_INT(seed, "seed of initialisation, data sampling, augmentation and the random schedule"),
      VD_STR(out, "run directory (empty = write nothing)"),
      VD_INT(log_every, "progress line every this many steps"),
      VD_INT(checkpoint_every, "steps between checkpoints (0 = only at the end)"),
      VD_STR(resume, "checkpoint to resume from, or auto (<out>/checkpoint.vdc when present)"),
      VD_INT(stop_after, "stop after this many steps in total, saving a checkpoint (0 = run to the end)"),
      VD_BOOL(quiet, "no progress lines"),
  };
  return f;
}

const Field& field(const std::string& key) {
  for (const Field& f : fields())
    if (key == f.name) return f;
  std::ostringstream known;
  for (const Field& f : fields()) known << " " << f.name;
  VD_FAIL("config: unknown key '" << key << "'; known keys:" << known.str());
}

}  // namespace

const std::vector<TrainConfig::Key>& TrainConfig::keys() {
  static const std::vector<Key> k = [] {
    std::vector<Key> out;
    TrainConfig defaults;
    for (const Field& f : fields()) out.push_back({f.name, f.get(defaults), f.help, f.type});
    return out;
  }();
  return k;
}

void TrainConfig::set(const std::string& key, const std::string& value) {
  field(key).set(*this, trim(value));
}

std::string TrainConfig::get(const std::string& key) const { return field(key).get(*this); }

void TrainConfig::parse(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string t = trim(line.substr(0, line.find('#')));
    if (t.empty()) continue;
    size_t eq = t.find('=');
    VD_CHECK(eq != std::string::npos, origin << ":" << n << ": expected 'key = value', got '" << t << "'");
    try {
      set(trim(t.substr(0, eq)), t.substr(eq + 1));
    } catch (const Error& e) {
      VD_FAIL(origin << ":" << n << ": " << e.what());
    }
  }
}

void TrainConfig::load_file(const std::string& path) {
  std::ifstream f(path);
  VD_CHECK(f, "config: cannot read '" << path << "'; hint: check the path");
  std::stringstream ss;
  ss << f.rdbuf();
  parse(ss.str(), path);
}

std::string TrainConfig::to_text() const {
  std::ostringstream os;
  for (const Field& f : fields()) os << f.name << " = " << f.get(*this) << "\n";
  return os.str();
}

std::vector<double> TrainConfig::gains() const {
  std::vector<double> g;
  std::stringstream ss(gain);
  std::string item;
  while (std::getline(ss, item, ',')) g.push_back(to_double("gain", trim(item)));
  VD_CHECK(g.size() == 3, "config: gain expects three numbers (orders 0,1,2), got '" << gain
                                                                                    << "'; hint: gain = 1,1,1");
  return g;
}

std::vector<int64_t> TrainConfig::block_counts() const {
  std::vector<int64_t> b;
  std::stringstream ss(blocks);
  std::string item;
  while (std::getline(ss, item, ',')) b.push_back(to_int("blocks", trim(item)));
  VD_CHECK(b.size() == 4, "config: blocks expects four counts, got '" << blocks << "'; hint: blocks = 2,2,2,2");
  return b;
}

int TrainConfig::max_order() const { return PairSchedule(ScheduleKind::Sum, parse_pairs(pairs)).max_order(); }

void TrainConfig::validate(const data::VideoSource* source) const {
  parse_framework(framework);
  parse_schedule_kind(schedule);
  parse_pairs(pairs);
  gains();
  block_counts();
  models::canonical_encoder_name(encoder);
  VD_CHECK(optimizer == "lars" || optimizer == "sgd" || optimizer == "adamw",
           "config: optimizer expects lars, sgd or adamw, got '" << optimizer << "'");
  VD_CHECK(batch >= 2, "config: batch = " << batch << " cannot work: batch norm (encoder and projector) and "
                       "the losses' batch statistics need at least 2 videos per step; hint: batch = 32");
  VD_CHECK(frames >= 1 && stride >= 1 && crop >= 8,
           "config: expected frames >= 1, stride >= 1, crop >= 8, got frames = " << frames << ", stride = "
                                                                               << stride << ", crop = " << crop);
  VD_CHECK(steps > 0 || epochs > 0, "config: set steps or epochs (both are 0); hint: steps = 1000");
  VD_CHECK(steps >= 0 && epochs >= 0 && warmup_steps >= 0 && stop_after >= 0 && checkpoint_every >= 0,
           "config: steps, epochs, warmup_steps, stop_after and checkpoint_every must be >= 0");
  VD_CHECK(log_every >= 1, "config: log_every expects >= 1, got " << log_every);
  VD_CHECK(steps == 0 || warmup_steps < steps, "config: warmup_steps = " << warmup_steps << " must be below steps = "
                                                << steps << " (the cosine needs a step after the warm-up); hint: "
                                                << "warmup_steps = " << steps / 10);
  VD_CHECK(width_divisor >= 1, "config: width_divisor expects >= 1, got " << width_divisor);
  VD_CHECK(scale_min > 0 && scale_min <= 1, "config: scale_min expects a crop area fraction in (0, 1], got "
                                                << scale_min << "; hint: scale_min = 0.3");
  for (const auto& [name, p] : {std::pair<const char*, double>{"flip_p", flip_p}, {"jitter_p", jitter_p},
                                {"grayscale_p", grayscale_p}})
    VD_CHECK(p >= 0 && p <= 1, "config: " << name << " expects a probability in [0, 1], got " << p
                                          << "; hint: " << name << " = 0");
  VD_CHECK(lr >= 0 && weight_decay >= 0 && grad_clip >= 0, "config: lr, weight_decay and grad_clip must be >= 0");
  VD_CHECK(temperature > 0, "config: temperature expects > 0, got " << temperature);
  VD_CHECK(byol_momentum >= 0 && byol_momentum <= 1, "config: byol_momentum expects 0..1, got " << byol_momentum);
  VD_CHECK(precision == "fp32" || precision == "tf32" || precision == "bf16",
           "config: precision expects fp32, tf32 or bf16, got '" << precision << "'");
  VD_CHECK(device == "auto" || device == "cpu" || device.rfind("cuda", 0) == 0,
           "config: device expects auto, cpu, cuda or cuda:N, got '" << device << "'");
  VD_CHECK(!(device == "cpu" && precision != "fp32"),
           "config: precision = " << precision << " needs the GPU, device is cpu; hint: precision = fp32");
  if (!source) return;
  VD_CHECK(source->size() >= size_t(batch),
           "config: batch = " << batch << " but the dataset has only " << source->size() << " videos");
  const int64_t total = steps > 0 ? steps : epochs * int64_t(source->size() / size_t(batch));
  VD_CHECK(warmup_steps < total, "config: warmup_steps = " << warmup_steps << " must be below the run's " << total
                                 << " steps (" << epochs << " epochs of " << source->size() / size_t(batch)
                                 << " batches); hint: warmup_steps = " << total / 10);
  // A clip spans (T + k - 1) * stride + 1 frames; if no video is that long,
  // every clip would end in repeated frames whose derivatives are zero.
  const int64_t k = max_order(), span = (frames + k - 1) * stride + 1;
  int64_t longest = 0;
  for (size_t v = 0; v < source->size(); ++v) longest = std::max<int64_t>(longest, source->num_frames(v));
  VD_CHECK(longest >= span, "config: clips of frames + k = " << frames << " + " << k << " at stride " << stride
                            << " span " << span << " frames, but the longest video has " << longest
                            << "; hint: lower frames or stride, or drop order-" << k << " pairs");
}

}  // namespace vd::vididi
