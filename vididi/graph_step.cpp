// vididi/graph_step.cpp: the captured training step (see graph_step.h).
//
// What a graph holds and why it stays right:
// - Captured: the in-place zeroing of the gradients, the forward (views,
//   encoder, heads, losses with their terms left on the device) and the
//   backward. Not captured: the host reads (loss, terms, finite checks), the
//   learning rate (a host number of the step, so the optimizer runs
//   uncaptured and reads it as today; one graph serves every step of its
//   key), the optimizer, BYOL's target update.
// - Every tensor the graph reads or writes outside itself keeps its address:
//   parameters, buffers (batch-norm statistics, updated in place) and
//   optimizer state are updated in place; gradients are zeroed in place
//   (Trainer::zero_grads) instead of being dropped, from the first step on,
//   so that backward adds into the storage the graph knows. addresses() is
//   compared before every replay; a difference turns graphs off.
// - The graph's own temporaries live in the allocator's graph pool
//   (cuda/allocator.cpp): a block the capture used is never handed to
//   uncaptured work, and the capture never calls cudaMalloc.
// - One graph per key (pair set, shapes, dtype): the alternating schedule
//   changes the pair set each step, and each set has a different forward.
#include "vididi/graph_step.h"

#include <iostream>
#include <sstream>

#include "core/ops.h"
#include "core/profile.h"
#include "cuda/api.h"
#include "vididi/trainer.h"

namespace vd::vididi {

namespace {
std::string shape_str(const Tensor& t) {
  std::ostringstream o;
  o << "[";
  for (int64_t i = 0; i < t.dim(); ++i) o << (i ? "," : "") << t.size(i);
  o << "]";
  return o.str();
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

std::string graph_key(const std::vector<OrderPair>& pairs, const Tensor& xa, const Tensor& xb) {
  std::string k;
  for (const OrderPair& p : pairs)
    k += (k.empty() ? "" : "+") + std::to_string(p.first) + "-" + std::to_string(p.second);
  return k + " " + shape_str(xa) + " " + shape_str(xb) + " " + dtype_name(xa.dtype());
}

// --- GraphPlan ----------------------------------------------------------------------

GraphPlan::Action GraphPlan::next(const std::string& key) {
  if (off_) return Action::Eager;
  State& s = keys_[key];
  if (s.captured) return Action::Replay;
  if (s.failed || s.eager < kWarmupSteps || captured_ >= kMaxGraphs) {
    ++s.eager;
    return Action::Eager;
  }
  s.captured = true;
  ++captured_;
  return Action::Capture;
}

void GraphPlan::failed(const std::string& key) {
  State& s = keys_[key];
  if (s.captured) --captured_;
  s.captured = false;
  s.failed = true;
}

// --- GraphStep ----------------------------------------------------------------------

GraphStep::GraphStep(Trainer& trainer) : t_(trainer) {}
GraphStep::~GraphStep() = default;

// Printed whether or not the run is quiet: a step that runs otherwise than
// asked is never silent.
static void line(const Trainer& t, const std::string& s) {
  if (!t.is_root()) return;
  std::cerr << s << "\n";
}

void GraphStep::off(const std::string& why) {
  plan_.disable();
  entries_.clear();
  line(t_, "cuda_graphs: off for the rest of the run: " + why + "; steps run uncaptured");
}

std::vector<const void*> GraphStep::addresses() const {
  std::vector<const void*> a;
  for (const auto& [name, t] : t_.model_->state_dict()) a.push_back(t.defined() ? t.data_ptr() : nullptr);
  for (const auto& [name, p] : t_.model_->trainable_parameters()) {
    const Tensor g = p.grad();
    a.push_back(g.defined() ? g.data_ptr() : nullptr);
  }
  return a;
}

bool GraphStep::capture(Entry& e, const Tensor& xa, const Tensor& xb, int64_t step, std::string* why) {
  for (const auto& [name, p] : t_.model_->trainable_parameters())
    if (!p.grad().defined()) {
      *why = "parameter '" + name + "' has no gradient after the warm-up steps";
      return false;
    }
  e.xa = Tensor::empty(xa.shape(), xa.dtype(), xa.device());
  e.xb = Tensor::empty(xb.shape(), xb.dtype(), xb.device());
  ops::copy_(e.xa, xa);
  ops::copy_(e.xb, xb);
  try {
    cuda::graph_capture_begin();
    {
      DeferLossTerms defer;  // the terms stay on the device: no host read in the capture
      t_.model_->train();
      t_.zero_grads();
      Trainer::StepForward f = t_.forward_pairs(e.xa, e.xb, step);
      f.loss.backward();
      e.loss = f.loss.detach();
      for (const LossResult& r : f.pairs) e.parts.push_back(r.parts);
      e.pair = f.pair;
    }  // the step's temporaries return to the graph pool here, inside the capture
    e.exec = cuda::graph_capture_end(why);
  } catch (const std::exception& ex) {
    cuda::graph_capture_abort();
    *why = first_line(ex.what());
    e.exec.reset();
  }
  if (!e.exec) {
    e = Entry();
    return false;
  }
  e.addresses = addresses();
  return true;
}

std::optional<StepRecord> GraphStep::step(const Tensor& xa, const Tensor& xb, int64_t step) {
  if (plan_.off()) return std::nullopt;
  if (profile::enabled()) {  // the profiler's events cannot be timed inside a graph
    if (!said_profile_) line(t_, "cuda_graphs: the op profiler is on; steps run uncaptured while it is");
    said_profile_ = true;
    return std::nullopt;
  }
  const std::string key = graph_key(t_.schedule_.pairs_at(step), xa, xb);
  switch (plan_.next(key)) {
    case GraphPlan::Action::Eager:
      return std::nullopt;
    case GraphPlan::Action::Capture: {
      Entry e;
      std::string why;
      if (!capture(e, xa, xb, step, &why)) {
        plan_.failed(key);
        line(t_, "cuda_graphs: the step of " + key + " could not be captured (" + why +
                     "); its steps run uncaptured");
        return std::nullopt;
      }
      entries_[key] = std::move(e);
      t_.say("cuda_graphs: captured the step of " + key);
      break;  // the capture ran nothing: this step is the first replay
    }
    case GraphPlan::Action::Replay:
      break;
  }
  Entry& e = entries_.at(key);
  if (addresses() != e.addresses) {
    off("a parameter, buffer or gradient is no longer where the graph of " + key + " was captured");
    return std::nullopt;
  }
  if (e.xa.data_ptr() != xa.data_ptr()) ops::copy_(e.xa, xa);
  if (e.xb.data_ptr() != xb.data_ptr()) ops::copy_(e.xb, xb);
  cuda::graph_launch(*e.exec);
  StepRecord rec;
  rec.step = step;
  rec.pair = e.pair;
  for (const auto& parts : e.parts) add_terms(rec, read_terms(parts));
  rec.loss = e.loss.item();
  t_.judge_loss(rec, step);
  return t_.finish_step(std::move(rec), step);
}

}  // namespace vd::vididi
