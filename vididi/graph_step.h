// vididi/graph_step.h: the training step replayed as a CUDA graph
// (cuda_graphs = true; docs/CUDA.md, "CUDA graphs"). Each distinct key (the
// step's pair set, the clips' shapes and dtype) first runs kWarmupSteps
// uncaptured steps (optimizer state, cuDNN algorithm choice and the
// allocator's cache settle), then its forward + backward are captured once
// into a graph that later steps of that key replay: the clips are copied
// into the graph's static input buffers, the graph is launched, and the
// host then reads the loss and its terms, judges the loss, and runs the
// rest of the step uncaptured (finite checks, clipping, the learning rate
// of the step, the optimizer, BYOL's target). Anything that breaks a
// capture (a host read or copy, an allocation the cache cannot serve, an
// error) makes that key uncaptured for good, with one printed line; a
// parameter, buffer or gradient found at another address before a replay
// turns graphs off for the run, with one line.
// Not here: the uncaptured step (Trainer::train_step) and the CUDA calls
// (cuda/graph.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "vididi/losses.h"
#include "vididi/run_dir.h"
#include "vididi/schedule.h"

namespace vd::cuda {
struct GraphExec;
}

namespace vd::vididi {

class Trainer;

// "0-1" or "0-1+1-2", then the clips' shapes and dtype: "0-1 [8,17,16,16,3] [8,17,16,16,3] f32".
std::string graph_key(const std::vector<OrderPair>& pairs, const Tensor& xa, const Tensor& xb);

// Which path each step of a key takes (pure host logic, tested on the CPU).
class GraphPlan {
 public:
  enum class Action { Eager, Capture, Replay };
  static constexpr int kWarmupSteps = 2;
  static constexpr size_t kMaxGraphs = 8;  // more distinct keys run uncaptured
  // The path of the next step of `key`; counts the key's uncaptured steps.
  Action next(const std::string& key);
  // The capture of `key` failed: its steps run uncaptured from now on.
  void failed(const std::string& key);
  // Graphs off for the run (every key uncaptured).
  void disable() { off_ = true; }
  bool off() const { return off_; }
  size_t graphs() const { return captured_; }

 private:
  struct State {
    int eager = 0;
    bool captured = false, failed = false;
  };
  std::map<std::string, State> keys_;
  size_t captured_ = 0;
  bool off_ = false;
};

class GraphStep {
 public:
  explicit GraphStep(Trainer& trainer);
  ~GraphStep();
  // The step through a graph, or nullopt: the caller runs it uncaptured.
  std::optional<StepRecord> step(const Tensor& xa, const Tensor& xb, int64_t step);
  const GraphPlan& plan() const { return plan_; }

 private:
  struct Entry {
    Tensor xa, xb;                         // static inputs the clips are copied into
    std::shared_ptr<cuda::GraphExec> exec;
    Tensor loss;                           // the graph's outputs, read after each replay
    std::vector<std::vector<LossPart>> parts;  // per pair
    std::string pair;
    std::vector<const void*> addresses;    // of every parameter, buffer and gradient at capture
  };
  bool capture(Entry& e, const Tensor& xa, const Tensor& xb, int64_t step, std::string* why);
  std::vector<const void*> addresses() const;
  void off(const std::string& why);  // graphs off for the run, one line

  Trainer& t_;
  GraphPlan plan_;
  std::map<std::string, Entry> entries_;
  bool said_profile_ = false;
};

}  // namespace vd::vididi
