// Optimizer base: parameter groups, named per-parameter state, and the shared
// step loop. Update rules are tensor expressions (the operators of
// autograd/functions.h) run inside step()'s autograd::NoGradGuard, so they
// record no graph; they write parameters in place and work on any device.
// This file holds no update rule: SGD, AdamW and LARS are in their own files,
// gradient clipping in clip_grad.h.
//
// Groups: each has params (with names, for state export), lr, weight_decay,
// an `exclude` flag (no weight decay and, for LARS, no trust-ratio adaptation:
// biases and BN parameters) and per-optimizer options by name ("momentum",
// "beta1", ...). Options missing from a group take the optimizer's defaults;
// an unknown option name is an error. Not here: the update rules (sgd.h,
// lars.h, adamw.h), gradient clipping (clip_grad.h), schedules (schedule.h).
//
// State: created eagerly at construction (zeros on each parameter's device)
// so that export and strict import see the same names. Names are
// "<param name>.<slot>" for tensors (e.g. "layer1.0.conv1.0.weight.momentum_buffer")
// and "<param name>.step" (0-dim f64) for per-parameter step counts.
// Rule: move the module to its device (and dtype) before creating the optimizer.
//
// Fused step (enable_fused(), layers/optim/flat.h, docs/OPTIMIZER.md): the
// parameters, gradients and state move into flat buffers (same tensors and
// names, now views) and step() runs one fused kernel per rule over them; the
// tensor-expression update() stays the reference. state_dict names, shapes
// and values are the same either way.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"
#include "layers/optim/flat.h"

namespace vd::optim {

using nn::NamedTensors;

struct ParamGroup {
  NamedTensors params;  // (name, parameter); names must be unique over all groups
  double lr = 0.0;
  double weight_decay = 0.0;
  bool exclude = false;  // no weight decay, no LARS adaptation (biases, BN)
  // set_lr(lr) gives this group lr * lr_scale (e.g. BYOL's faster predictor).
  double lr_scale = 1.0;
  std::map<std::string, double> options;
  double option(const std::string& key) const;  // error when absent
};

// Unnamed parameters get names "param<i>" (i over all groups).
ParamGroup make_group(const std::vector<Tensor>& params, double lr, double weight_decay = 0.0,
                      bool exclude = false);
ParamGroup make_group(const NamedTensors& params, double lr, double weight_decay = 0.0,
                      bool exclude = false);

// Splits parameters as VICReg/BYOL do for LARS: tensors of rank >= 2 into a
// decayed group (weight_decay, exclude = false), rank <= 1 (biases, BN weight
// and bias) into a group with weight_decay 0 and exclude = true (no LARS
// adaptation), left out when there are none. Both get `lr`; order is kept.
std::vector<ParamGroup> split_decay_groups(const NamedTensors& params, double lr, double weight_decay);
// The same over m.named_parameters().
std::vector<ParamGroup> split_decay_groups(const nn::Module& m, double lr, double weight_decay);

class Optimizer {
 public:
  Optimizer(std::vector<ParamGroup> groups, const std::map<std::string, double>& defaults,
            const char* name);
  virtual ~Optimizer() = default;

  // One update of every parameter that has a gradient; others are skipped.
  void step();
  // Drops every parameter's gradient; fused: zeroes the flat gradients, each
  // .grad a view into them (a parameter whose view is not written before
  // step() counts as having none: flat.h).
  void zero_grad();
  void set_lr(double lr);  // every group: lr times the group's lr_scale
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  int64_t steps_taken() const { return steps_; }

  // Per-parameter state by name, plus "step" (0-dim f64): optimizer steps taken.
  NamedTensors state_dict() const;
  // Strict: one error names every missing, unexpected and mis-shaped entry.
  void load_state_dict(const NamedTensors& state);
  const char* name() const { return name_; }

  // --- fused step (helper fusedopt) ---------------------------------------
  // Moves parameters, gradients and state into flat buffers and makes step()
  // one fused kernel (CPU reference or CUDA). Every parameter must be f32 on
  // one device; the rule must have a fused kernel (SGD, LARS, AdamW).
  // working_copy: each step also writes a bf16 copy of the new parameters,
  // which the forward's to_dtype(parameter, bf16) then reads instead of
  // casting while it is current (flat.h, docs/OPTIMIZER.md).
  // Once, after construction; state loaded before or after is kept.
  void enable_fused(bool working_copy = false);
  bool fused() const { return flat_ != nullptr; }
  bool has_fused_rule() const { return fused_rule_; }
  FlatParams* flat() const { return flat_.get(); }  // null unless fused
  // The working copy of the parameter at (group g, index i); undefined without one.
  Tensor working_copy(size_t g, size_t i) const;
  // Recasts the working copy if a parameter was written outside step() since
  // it was last current (before a captured forward, which cannot check).
  void refresh_working_copy();

 protected:
  // Adds a state tensor slot named `slot` (zeros like the parameter) to every
  // parameter; call in the derived constructor.
  void add_slot(const std::string& slot);
  // State tensor `slot` of the parameter at (group g, index i).
  Tensor& slot(size_t g, size_t i, const std::string& slot_name);
  // Per-parameter count of updates (the `step` of torch's state).
  int64_t& param_step(size_t g, size_t i) { return counts_[index_of(g, i)]; }
  // The update rule for one parameter p with gradient grad (same shape).
  virtual void update(const ParamGroup& group, size_t g, size_t i, Tensor& p,
                      const Tensor& grad) = 0;
  // Fused rules: set fused_rule_ in the constructor, fill the rule's columns
  // of the parameter's table row (the base fills Offset, Numel, Active, Lr,
  // WeightDecay (effective), Exclude, ChunkBegin, and counts the step
  // first), and run the kernel(s) on the flat buffers.
  virtual void fused_row(const ParamGroup& group, size_t g, size_t i, double* row) {}
  virtual void fused_update(const Tensor& table) {}
  bool fused_rule_ = false;

 private:
  size_t index_of(size_t g, size_t i) const { return offsets_[g] + i; }
  void fused_step();

  const char* name_;
  std::vector<ParamGroup> groups_;
  std::vector<size_t> offsets_;  // first flat index of each group
  std::vector<std::string> slots_;
  std::vector<std::map<std::string, Tensor>> state_;  // flat index -> slot -> tensor
  std::vector<int64_t> counts_;
  int64_t steps_ = 0;
  std::unique_ptr<FlatParams> flat_;
};

// --- in-place helpers for update rules (raw ops, any device) ----------------
// a = a * s + b * t   (b broadcast to a)
void axpby_(Tensor& a, double s, const Tensor& b, double t);
// ||x||_2 as a 0-dim tensor on x's device (no host sync).
Tensor norm2(const Tensor& x);

}  // namespace vd::optim
