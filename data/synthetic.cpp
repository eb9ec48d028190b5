// data/synthetic.cpp: scene drawing (random appearance, class-given motion)
// and rendering of synthetic dynamics videos, the object's per-frame boxes
// (from the scene, not the pixels), further objects with other motions,
// plus their export as frame folders. Lengths are in units of L = min(height, width), times in frames.
#include "data/synthetic.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <exception>
#include <mutex>
#include <thread>

#include "data/error.h"
#include "data/image.h"
#include "data/rng.h"

namespace vd::data {
namespace {

enum Motion { kRest, kRight, kLeft, kUp, kDown, kAccelerate, kDecelerate, kOscillateH, kOscillateV, kCircle };
enum Shape { kDisc, kSquare, kDiamond, kRing, kTriangle, kNumShapes };
const double kTwoPi = 6.28318530717958647692;

struct Scene {
  std::vector<float> background;  // [H, W, 3] on 0..1
  Shape shape = kDisc;
  float radius = 0, colour[3] = {0, 0, 0};
  float cx = 0, cy = 0;                 // centre before the motion's offset
  Motion motion = kRest;
  float dir_x = 0, dir_y = 0;           // unit direction of linear motions
  float amount = 0;                     // displacement D, or amplitude/radius
  float period = 1, phase = 0, spin = 1;

  // Offset of the object's centre at frame t of a video with n frames.
  void offset(double t, int n, double& ox, double& oy) const {
    const double Tn = std::max(1, n - 1);
    double s = 0;  // distance along (dir_x, dir_y)
    switch (motion) {
      case kRest: break;
      case kRight: case kLeft: case kUp: case kDown: s = amount * t / Tn; break;
      case kAccelerate: s = amount * (t / Tn) * (t / Tn); break;        // speed grows from 0
      case kDecelerate: s = amount * (2 * t / Tn - (t / Tn) * (t / Tn)); break;  // stops at the end
      case kOscillateH: case kOscillateV: s = amount * std::sin(kTwoPi * t / period + phase); break;
      case kCircle: {
        const double a = spin * kTwoPi * t / period + phase;
        ox = amount * std::cos(a);
        oy = amount * std::sin(a);
        return;
      }
    }
    ox = s * dir_x;
    oy = s * dir_y;
  }
};

// Signed distance (pixels, negative inside) from a point at (dx, dy) relative
// to the centre to the outline of a shape of size r.
float shape_sdf(Shape s, float dx, float dy, float r) {
  switch (s) {
    case kDisc: return std::hypot(dx, dy) - r;
    case kSquare: return std::max(std::fabs(dx), std::fabs(dy)) - 0.85f * r;
    case kDiamond: return (std::fabs(dx) + std::fabs(dy) - 1.2f * r) * 0.7071f;
    case kRing: return std::fabs(std::hypot(dx, dy) - 0.75f * r) - 0.3f * r;
    case kTriangle: {  // equilateral, circumradius 1.2 r: the farthest of three edges
      float d = -1e9f;
      for (int k = 0; k < 3; ++k) {
        const double a = kTwoPi / 4 + kTwoPi * k / 3;
        d = std::max(d, float(std::cos(a) * dx + std::sin(a) * dy));
      }
      return d - 0.6f * r;
    }
    default: return 0;
  }
}

// Object `object` of a video: 0 is the video's own object (the draws of the
// one-object set); further objects draw from their own streams (epoch
// field = object) and their backgrounds go unused.
Scene make_scene(const SyntheticConfig& c, size_t video, Motion motion, uint64_t object = 0) {
  Rng rng(c.seed, object, video, kSynthetic + 16 * uint64_t(c.subset == Subset::test));
  const int H = c.height, W = c.width;
  const double L = std::min(H, W);
  Scene s;
  // Background: a base colour and three luminance gratings, by default faint
  // (at most +-0.12 together, well below the object's contrast, so that the
  // moving object, not the texture, dominates a frame's structure); `texture`
  // scales their amplitudes.
  float base[3];
  for (float& b : base) b = float(rng.uniform(0.2, 0.8));
  double fx[3], fy[3], ph[3], amp[3];
  for (int k = 0; k < 3; ++k) {
    fx[k] = rng.uniform(-4, 4) * kTwoPi / L;
    fy[k] = rng.uniform(-4, 4) * kTwoPi / L;
    ph[k] = rng.uniform(0, kTwoPi);
    amp[k] = rng.uniform(0.01, 0.04) * c.texture;
  }
  s.background.resize(size_t(H) * W * 3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double tex = 0;
      for (int k = 0; k < 3; ++k) tex += amp[k] * std::sin(fx[k] * x + fy[k] * y + ph[k]);
      for (int ch = 0; ch < 3; ++ch)
        s.background[(size_t(y) * W + x) * 3 + ch] = float(std::min(1.0, std::max(0.0, base[ch] + tex)));
    }
  // Object.
  s.shape = Shape(rng.integer(0, kNumShapes - 1));
  s.radius = float(rng.uniform(0.1, 0.16) * L);
  // Colour: uniform, redrawn (at most 16 times) until it differs from the
  // background's base colour by at least 0.3 on average over the channels.
  for (int tries = 0; tries < 16; ++tries) {
    double dist = 0;
    for (int ch = 0; ch < 3; ++ch) dist += std::fabs((s.colour[ch] = float(rng.uniform())) - base[ch]) / 3;
    if (dist >= 0.3) break;
  }
  // Motion: the class fixes the pattern, the rest is random.
  s.motion = motion;
  const double angle = rng.uniform(0, kTwoPi);
  const double dirs[4][2] = {{1, 0}, {-1, 0}, {0, -1}, {0, 1}};  // right, left, up, down (y grows down)
  if (motion >= kRight && motion <= kDown) {
    s.dir_x = float(dirs[motion - kRight][0]);
    s.dir_y = float(dirs[motion - kRight][1]);
  } else {
    s.dir_x = float(motion == kOscillateV ? 0 : motion == kOscillateH ? 1 : std::cos(angle));
    s.dir_y = float(motion == kOscillateV ? 1 : motion == kOscillateH ? 0 : std::sin(angle));
  }
  // Amount: linear paths (constant velocity, acceleration, deceleration)
  // cover 55-85% of the room the object has to travel across the frame over
  // the video (at 32x32 and 12 frames: about 1-1.7 px per frame); periodic
  // motions have an amplitude or radius of 0.15-0.25 L.
  const bool periodic = motion == kOscillateH || motion == kOscillateV || motion == kCircle;
  const double room = std::max(0.0, L - 2 * (s.radius + 1));
  s.amount = float(periodic ? rng.uniform(0.15, 0.25) * L : rng.uniform(0.55, 0.85) * room);
  s.period = float(motion == kCircle ? rng.uniform(10, 20) : rng.uniform(8, 16));
  s.phase = float(rng.uniform(0, kTwoPi));
  s.spin = rng.bernoulli(0.5) ? 1.f : -1.f;
  // Start: uniform among the positions that keep the whole path inside.
  double lo_x = 1e9, hi_x = -1e9, lo_y = 1e9, hi_y = -1e9;
  for (int t = 0; t < c.frames; ++t) {
    double ox = 0, oy = 0;
    s.offset(t, c.frames, ox, oy);
    lo_x = std::min(lo_x, ox), hi_x = std::max(hi_x, ox);
    lo_y = std::min(lo_y, oy), hi_y = std::max(hi_y, oy);
  }
  auto place = [&](double lo, double hi, int size) {
    const double a = s.radius + 1 - lo, b = size - s.radius - 1 - hi;
    return float(a <= b ? rng.uniform(a, b) : (a + b) / 2);
  };
  s.cx = place(lo_x, hi_x, W);
  s.cy = place(lo_y, hi_y, H);
  return s;
}

// Composites the object of `s` at frame t onto img [H, W, 3] (0..1).
void draw_object(const Scene& s, int t, const SyntheticConfig& c, std::vector<float>& img) {
  const int H = c.height, W = c.width;
  double ox = 0, oy = 0;
  s.offset(t, c.frames, ox, oy);
  const float px = float(s.cx + ox), py = float(s.cy + oy), reach = 1.3f * s.radius + 2;
  const int x0 = std::max(0, int(px - reach)), x1 = std::min(W - 1, int(px + reach));
  const int y0 = std::max(0, int(py - reach)), y1 = std::min(H - 1, int(py + reach));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const float cover = std::min(1.f, std::max(0.f, 0.5f - shape_sdf(s.shape, x - px, y - py, s.radius)));
      float* p = img.data() + (size_t(y) * W + x) * 3;
      for (int ch = 0; ch < 3; ++ch) p[ch] += cover * (s.colour[ch] - p[ch]);
    }
}

// Frame t: the first scene's background with every object composited at
// its anti-aliased outline, in order (later objects on top).
void draw_frame(const std::vector<Scene>& scenes, int t, const SyntheticConfig& c, uint8_t* out /* [H, W, 3] */) {
  std::vector<float> img(scenes[0].background);
  for (const Scene& s : scenes) draw_object(s, t, c, img);
  for (size_t i = 0; i < img.size(); ++i) out[i] = uint8_t(std::lround(img[i] * 255.f));
}

// The motion of every object of a video: the class, then for each further
// object one of the classes not taken yet, drawn from its own stream.
std::vector<Motion> object_motions(const SyntheticConfig& c, size_t video, int label) {
  std::vector<Motion> m{Motion(label)};
  for (int j = 1; j < c.objects; ++j) {
    Rng rng(c.seed, uint64_t(j), video, kSynthetic + 8 + 16 * uint64_t(c.subset == Subset::test));
    std::vector<Motion> free;
    for (int k = 0; k < 10; ++k)
      if (std::find(m.begin(), m.end(), Motion(k)) == m.end()) free.push_back(Motion(k));
    m.push_back(free[size_t(rng.integer(0, int64_t(free.size()) - 1))]);
  }
  return m;
}

std::vector<Scene> make_scenes(const SyntheticConfig& c, size_t video, int label) {
  const std::vector<Motion> m = object_motions(c, video, label);
  std::vector<Scene> s;
  for (size_t j = 0; j < m.size(); ++j) s.push_back(make_scene(c, video, m[j], j));
  return s;
}

// Half extents of the footprint where draw_frame's cover 0.5 - sdf > 0,
// i.e. sdf < 0.5, of a shape of size r about its centre: left/right (ex)
// and up/down (ey_up, ey_down; y grows down).
void footprint(Shape s, float r, double& ex, double& ey_up, double& ey_down) {
  switch (s) {
    case kDisc: ex = ey_up = ey_down = r + 0.5; return;
    case kSquare: ex = ey_up = ey_down = 0.85 * r + 0.5; return;
    case kDiamond: ex = ey_up = ey_down = 1.2 * r + 0.5 / 0.7071; return;
    case kRing: ex = ey_up = ey_down = 1.05 * r + 0.5; return;
    case kTriangle: {
      // Edges n . d < h (h = 0.6 r + 0.5) with normals at 90, 210 and 330
      // degrees: the bottom edge at dy = h, the apex at dy = -2h, the base
      // corners at dx = +-sqrt(3) h.
      const double h = 0.6 * r + 0.5;
      ex = std::sqrt(3.0) * h, ey_up = 2 * h, ey_down = h;
      return;
    }
    default: ex = ey_up = ey_down = 0; return;
  }
}

// The object's box at frame t: draw_frame samples pixel x at x (its centre
// is x + 0.5 in box coordinates), hence the + 0.5.
Box object_box(const Scene& s, int t, const SyntheticConfig& c) {
  double ox = 0, oy = 0;
  s.offset(t, c.frames, ox, oy);
  const double px = double(float(s.cx + ox)), py = double(float(s.cy + oy));  // as draw_frame
  double ex, up, down;
  footprint(s.shape, s.radius, ex, up, down);
  auto clamp = [](double v, int hi) { return std::min(double(hi), std::max(0.0, v)); };
  return {clamp(px - ex + 0.5, c.width), clamp(py - up + 0.5, c.height), clamp(px + ex + 0.5, c.width),
          clamp(py + down + 0.5, c.height)};
}

}  // namespace

std::vector<Box> SyntheticDynamics::boxes(size_t video) const {
  if (video >= size())
    fail("SyntheticDynamics", "expected a video index below " + std::to_string(size()) + ", got " +
                                  std::to_string(video));
  const Scene s = make_scene(config_, video, Motion(label(video)));
  std::vector<Box> out;
  for (int t = 0; t < config_.frames; ++t) out.push_back(object_box(s, t, config_));
  return out;
}

std::vector<std::vector<Box>> SyntheticDynamics::object_boxes(size_t video) const {
  if (video >= size())
    fail("SyntheticDynamics", "expected a video index below " + std::to_string(size()) + ", got " +
                                  std::to_string(video));
  std::vector<std::vector<Box>> out;
  for (const Scene& s : make_scenes(config_, video, label(video))) {
    out.emplace_back();
    for (int t = 0; t < config_.frames; ++t) out.back().push_back(object_box(s, t, config_));
  }
  return out;
}

std::vector<int> SyntheticDynamics::object_labels(size_t video) const {
  std::vector<int> l;
  for (Motion m : object_motions(config_, video, label(video))) l.push_back(int(m));
  return l;
}

Clip SyntheticDynamics::background(size_t video) const {
  if (video >= size())
    fail("SyntheticDynamics", "expected a video index below " + std::to_string(size()) + ", got " +
                                  std::to_string(video));
  const Scene s = make_scene(config_, video, Motion(label(video)));
  Clip clip(1, config_.height, config_.width, 3);
  for (size_t i = 0; i < s.background.size(); ++i) clip.frame(0)[i] = uint8_t(std::lround(s.background[i] * 255.f));
  return clip;
}

const std::vector<std::string>& SyntheticDynamics::motion_classes() {
  static const std::vector<std::string> names = {
      "Rest",       "MoveRight",  "MoveLeft",            "MoveUp",            "MoveDown",
      "Accelerate", "Decelerate", "OscillateHorizontal", "OscillateVertical", "Circle"};
  return names;
}

SyntheticDynamics::SyntheticDynamics(SyntheticConfig config) : config_(config) {
  if (config_.height < 8 || config_.width < 8 || config_.frames < 1 || config_.videos_per_class < 1 ||
      !(config_.texture >= 0) || config_.objects < 1 || config_.objects > 10)
    fail("SyntheticConfig", "expected height, width >= 8, frames >= 1, videos_per_class >= 1, texture >= 0, "
                            "objects in 1..10, got " +
                                std::to_string(config_.height) + "x" + std::to_string(config_.width) +
                                ", " + std::to_string(config_.frames) + ", " +
                                std::to_string(config_.videos_per_class) + ", " + std::to_string(config_.texture) +
                                ", " + std::to_string(config_.objects));
}

std::string SyntheticDynamics::video_path(size_t video) const {
  const std::string& cls = motion_classes()[size_t(label(video))];
  char num[24];
  std::snprintf(num, sizeof num, "%04zu", video % size_t(config_.videos_per_class));
  return cls + "/v_" + cls + (config_.subset == Subset::train ? "_train_" : "_test_") + num;
}

std::string SyntheticDynamics::name(size_t video) const { return "synthetic:" + video_path(video); }

Clip SyntheticDynamics::load(size_t video, const std::vector<int>& frames) const {
  if (video >= size())
    fail("SyntheticDynamics", "expected a video index below " + std::to_string(size()) + ", got " +
                                  std::to_string(video));
  const std::vector<Scene> s = make_scenes(config_, video, label(video));
  Clip clip(int(frames.size()), config_.height, config_.width, 3);
  for (size_t i = 0; i < frames.size(); ++i) draw_frame(s, frames[i], config_, clip.frame(int(i)));
  return clip;
}

Clip SyntheticDynamics::render(size_t video) const {
  std::vector<int> all(size_t(config_.frames));
  for (int t = 0; t < config_.frames; ++t) all[size_t(t)] = t;
  return load(video, all);
}

size_t export_synthetic(const SyntheticConfig& train, const SyntheticConfig& test,
                        const std::string& root, int jpeg_quality) {
  if (train.subset != Subset::train || test.subset != Subset::test)
    fail("export_synthetic", "expected a train config and a test config (subset fields)");
  namespace fs = std::filesystem;
  const SyntheticDynamics sets[2] = {SyntheticDynamics(train), SyntheticDynamics(test)};
  std::atomic<size_t> written{0};
  // A worker's exception must not escape its thread (std::terminate): the
  // first one is kept, the other workers stop at their next video, and the
  // caller rethrows it after the join.
  std::mutex error_mutex;
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  for (const SyntheticDynamics& set : sets) {
    std::atomic<size_t> next{0};
    auto work = [&] {
      try {
        for (size_t v; !failed && (v = next++) < set.size();) {
          const std::string dir = root + "/" + set.video_path(v);
          std::error_code ec;
          fs::create_directories(dir, ec);
          if (ec) fail(dir, "cannot create the frame folder: " + ec.message(), "check that --out is a writable folder");
          const Clip clip = set.render(v);
          Image frame(clip.H, clip.W, 3);
          for (int t = 0; t < clip.T; ++t) {
            std::copy(clip.frame(t), clip.frame(t) + clip.frame_size(), frame.px.begin());
            char name[32];
            std::snprintf(name, sizeof name, "/img_%05d.jpg", t + 1);
            write_jpeg(dir + name, frame, jpeg_quality);
            ++written;
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        failed = true;
      }
    };
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < std::max(1u, std::thread::hardware_concurrency()); ++i) pool.emplace_back(work);
    for (std::thread& th : pool) th.join();
    if (error) std::rethrow_exception(error);
  }
  const auto& classes = SyntheticDynamics::motion_classes();
  std::string ind, tr, te;
  for (size_t i = 0; i < classes.size(); ++i) ind += std::to_string(i + 1) + " " + classes[i] + "\n";
  for (size_t v = 0; v < sets[0].size(); ++v)
    tr += sets[0].video_path(v) + ".avi " + std::to_string(sets[0].label(v) + 1) + "\n";
  for (size_t v = 0; v < sets[1].size(); ++v) te += sets[1].video_path(v) + ".avi\n";
  write_file(root + "/classInd.txt", ind);
  write_file(root + "/trainlist01.txt", tr);
  write_file(root + "/testlist01.txt", te);
  return written;
}

}  // namespace vd::data
