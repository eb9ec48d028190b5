// vididi/schedule.cpp: parsing of schedules and pair lists, and the per-step
// choice (see schedule.h).
#include "vididi/schedule.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "core/errors.h"
#include "core/random.h"

namespace vd::vididi {

ScheduleKind parse_schedule_kind(const std::string& s) {
  if (s == "alternate") return ScheduleKind::Alternate;
  if (s == "sum") return ScheduleKind::Sum;
  if (s == "random") return ScheduleKind::Random;
  VD_FAIL("schedule: expected alternate, sum or random, got '" << s
                                                                << "'; hint: schedule = alternate");
}

const char* schedule_kind_name(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::Alternate: return "alternate";
    case ScheduleKind::Sum: return "sum";
    case ScheduleKind::Random: return "random";
  }
  return "?";
}

std::vector<OrderPair> parse_pairs(const std::string& s) {
  std::vector<OrderPair> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::string t;
    for (char c : item)
      if (!std::isspace(static_cast<unsigned char>(c))) t += c;
    bool ok = t.size() == 3 && t[1] == '-' && t[0] >= '0' && t[0] <= '2' && t[2] >= '0' && t[2] <= '2';
    if (!ok)
      throw UsageError("bad value for 'pairs': expected items like 0-1 with orders 0, 1 or 2, got '" + item +
                           "' in '" + s + "'; hint: pairs = 0-1,1-2,2-0 (or 0-0 for frames only)",
                       "pairs");
    out.emplace_back(t[0] - '0', t[2] - '0');
  }
  if (out.empty())
    throw UsageError("bad value for 'pairs': expected at least one pair, got '" + s + "'; hint: pairs = 0-1,1-2,2-0",
                     "pairs");
  return out;
}

std::string pairs_str(const std::vector<OrderPair>& pairs) {
  std::ostringstream os;
  for (size_t i = 0; i < pairs.size(); ++i)
    os << (i ? "," : "") << pairs[i].first << "-" << pairs[i].second;
  return os.str();
}

PairSchedule::PairSchedule(ScheduleKind kind, std::vector<OrderPair> pairs, uint64_t seed)
    : kind_(kind), pairs_(std::move(pairs)), seed_(seed) {
  VD_CHECK(!pairs_.empty(), "PairSchedule: expected at least one pair, got none; hint: pairs = 0-1,1-2,2-0");
  for (const auto& p : pairs_)
    VD_CHECK(p.first >= 0 && p.first <= 2 && p.second >= 0 && p.second <= 2,
             "PairSchedule: expected orders in 0..2, got " << p.first << "-" << p.second
                                                           << "; hint: ViDiDi uses orders 0, 1, 2");
}

std::vector<OrderPair> PairSchedule::pairs_at(int64_t step) const {
  VD_CHECK(step >= 0, "PairSchedule: expected a step >= 0, got " << step << "; hint: steps count from 0");
  const auto n = int64_t(pairs_.size());
  switch (kind_) {
    case ScheduleKind::Alternate: return {pairs_[size_t(step % n)]};
    case ScheduleKind::Sum: return pairs_;
    case ScheduleKind::Random: {
      // A stateless draw keyed by (seed, step): resuming replays it exactly.
      uint64_t h = splitmix64(splitmix64(seed_ ^ 0x5C4EDu) ^ uint64_t(step));
      return {pairs_[size_t(h % uint64_t(n))]};
    }
  }
  return {};
}

int PairSchedule::encoder_passes_per_video() const {
  if (kind_ != ScheduleKind::Sum) return 2;
  // Each distinct (clip, order) is encoded once and shared among the pairs.
  std::vector<OrderPair> distinct;  // (clip 0|1, order)
  for (const auto& p : pairs_)
    for (OrderPair v : {OrderPair{0, p.first}, OrderPair{1, p.second}})
      if (std::find(distinct.begin(), distinct.end(), v) == distinct.end()) distinct.push_back(v);
  return int(distinct.size());
}

int PairSchedule::max_order() const {
  int k = 0;
  for (const auto& p : pairs_) k = std::max({k, p.first, p.second});
  return k;
}

std::string PairSchedule::str() const {
  return std::string(schedule_kind_name(kind_)) + " " + pairs_str(pairs_);
}

}  // namespace vd::vididi
