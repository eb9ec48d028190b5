// vididi/schedule.h: which pair of derivative orders a training step uses.
// A pair (a, b) gives order a to the first clip of each video and order b to
// the second. Schedules: `alternate` cycles through the listed pairs one per
// step (default pairs 0-1,1-2,2-0: every order appears equally often in each
// role), `sum` uses all listed pairs in every step (losses summed), `random`
// picks one listed pair per step. The pairs a step uses are a pure function
// of (schedule, seed, step), so resuming needs no schedule state.
// `pairs = 0-0` with any schedule is the plain framework (frames only).
// Not here: the views of an order (derivatives.h), the losses (losses.h).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vd::vididi {

using OrderPair = std::pair<int, int>;

enum class ScheduleKind { Alternate, Sum, Random };

// "alternate" | "sum" | "random"; anything else is refused naming the choices.
ScheduleKind parse_schedule_kind(const std::string& s);
const char* schedule_kind_name(ScheduleKind k);

// "0-1,1-2,2-0" -> {(0,1),(1,2),(2,0)}; orders 0..2; spaces allowed; at least
// one pair; a malformed item is refused naming it.
std::vector<OrderPair> parse_pairs(const std::string& s);
std::string pairs_str(const std::vector<OrderPair>& pairs);  // "0-1,1-2,2-0"

class PairSchedule {
 public:
  PairSchedule(ScheduleKind kind = ScheduleKind::Alternate,
               std::vector<OrderPair> pairs = {{0, 1}, {1, 2}, {2, 0}}, uint64_t seed = 0);

  // The pairs step `step` (0-based) trains on: one pair, or all for `sum`.
  std::vector<OrderPair> pairs_at(int64_t step) const;
  // Encoder passes per video in one step: 2 for one pair; for `sum`, the
  // number of distinct (clip, order) views (each encoded once).
  int encoder_passes_per_video() const;
  int max_order() const;  // k: clips must have T + k frames
  ScheduleKind kind() const { return kind_; }
  const std::vector<OrderPair>& pairs() const { return pairs_; }
  std::string str() const;  // "alternate 0-1,1-2,2-0"

 private:
  ScheduleKind kind_;
  std::vector<OrderPair> pairs_;
  uint64_t seed_;
};

}  // namespace vd::vididi
