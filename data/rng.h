// data/rng.h: the data layer's own counter-based random numbers. A stream is
// keyed by (seed, epoch, index, stream) and hashed with splitmix64, so any clip
// of any epoch can be re-drawn without replaying the others, in any thread,
// in any order. It is not the engine's RNG (core/random.h) and never shares
// state with it.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace vd::data {

// One splitmix64 step: advances state and returns a well-mixed 64-bit value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Streams used by the data layer, so that two purposes never share numbers.
enum Stream : uint64_t {
  kShuffle = 1,     // epoch permutation
  kSample = 2,      // clip start of view v: kSample + 16 * v
  kAugment = 3,     // augmentation of view v: kAugment + 16 * v
  kSynthetic = 4,   // synthetic video appearance and motion
  kSubstitute = 5,  // the loader's substitute for item i, attempt a: kSubstitute + 16 * a
};

class Rng {
 public:
  Rng(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t stream) {
    uint64_t s = seed;
    state_ = splitmix64(s);
    for (uint64_t key : {epoch, index, stream}) {
      s = state_ ^ key;
      state_ = splitmix64(s);
    }
  }
  uint64_t next() { return splitmix64(state_); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] inclusive; requires lo <= hi.
  int64_t integer(int64_t lo, int64_t hi) {
    uint64_t span = uint64_t(hi - lo) + 1;
    return lo + int64_t(span == 0 ? next() : next() % span);
  }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

}  // namespace vd::data
