// Seeded random numbers: a counter-based generator (splitmix64 over a key and a
// counter), so that a stream is reproducible from (seed, offset) alone and a
// checkpoint needs to store only two integers. Not cryptographic.
#pragma once
#include <cstdint>

namespace vd {

uint64_t splitmix64(uint64_t x);

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t seed) { seed_ = seed; counter_ = 0; }
  uint64_t seed() const { return seed_; }
  uint64_t counter() const { return counter_; }
  void set_state(uint64_t seed, uint64_t counter) { seed_ = seed; counter_ = counter; }

  uint64_t next_u64();
  double uniform();                  // [0, 1) with 53 random bits
  double normal();                   // standard normal (Box-Muller, one value per call)
  int64_t randint(int64_t n);        // [0, n)

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

// The process-wide default generator, used when an op is given none.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace vd
