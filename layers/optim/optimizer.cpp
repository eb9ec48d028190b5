// Optimizer base (see optimizer.h): groups, eager state, the step loop,
// state export/import, the fused step (enable_fused: flat buffers of
// flat.h, one table row per parameter, the rule's kernel), and the in-place
// helpers shared by the update rules (tensor expressions of
// autograd/functions.h under a NoGradGuard, which record nothing and cost
// what the raw ops cost).
#include "layers/optim/optimizer.h"

#include <cmath>
#include <set>
#include <sstream>

#include "autograd/functions.h"
#include "core/ops.h"

namespace vd::optim {

double ParamGroup::option(const std::string& key) const {
  auto it = options.find(key);
  VD_CHECK(it != options.end(), "optimizer group: no option '" << key << "'");
  return it->second;
}

ParamGroup make_group(const NamedTensors& params, double lr, double weight_decay, bool exclude) {
  ParamGroup g;
  g.params = params;
  g.lr = lr;
  g.weight_decay = weight_decay;
  g.exclude = exclude;
  return g;
}

ParamGroup make_group(const std::vector<Tensor>& params, double lr, double weight_decay,
                      bool exclude) {
  NamedTensors named;
  for (const Tensor& t : params) named.emplace_back("", t);  // named by the Optimizer
  return make_group(named, lr, weight_decay, exclude);
}

std::vector<ParamGroup> split_decay_groups(const NamedTensors& params, double lr, double weight_decay) {
  NamedTensors decay, plain;
  for (const auto& [n, t] : params) (t.dim() >= 2 ? decay : plain).emplace_back(n, t);
  std::vector<ParamGroup> groups{make_group(decay, lr, weight_decay, false)};
  if (!plain.empty()) groups.push_back(make_group(plain, lr, 0.0, true));
  return groups;
}

std::vector<ParamGroup> split_decay_groups(const nn::Module& m, double lr, double weight_decay) {
  return split_decay_groups(m.named_parameters(), lr, weight_decay);
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, const std::map<std::string, double>& defaults,
                     const char* name)
    : name_(name), groups_(std::move(groups)) {
  std::set<std::string> names;
  std::set<TensorImpl*> seen;
  size_t flat = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& grp = groups_[g];
    VD_CHECK(grp.lr >= 0 && grp.weight_decay >= 0,
             name_ << ": group " << g << " expects lr >= 0 and weight_decay >= 0, got lr " << grp.lr
                   << ", weight_decay " << grp.weight_decay);
    for (const auto& [key, v] : grp.options) {
      std::ostringstream known;
      for (const auto& [k, d] : defaults) known << " " << k;
      VD_CHECK(defaults.count(key), name_ << ": group " << g << " has unknown option '" << key
                                          << "'; known options:" << known.str());
    }
    for (const auto& [k, d] : defaults) grp.options.emplace(k, d);  // keeps given values
    offsets_.push_back(flat);
    for (auto& [pname, p] : grp.params) {
      if (pname.empty()) pname = "param" + std::to_string(flat);
      VD_CHECK(p.defined() && p.is_leaf(), name_ << ": parameter '" << pname
                                                 << "' must be a defined leaf tensor");
      VD_CHECK(names.insert(pname).second,
               name_ << ": parameter name '" << pname << "' appears twice in the groups");
      VD_CHECK(seen.insert(p.impl_ptr().get()).second,
               name_ << ": parameter '" << pname << "' appears in two groups");
      ++flat;
    }
  }
  state_.resize(flat);
  counts_.assign(flat, 0);
}

void Optimizer::add_slot(const std::string& slot_name) {
  slots_.push_back(slot_name);
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      const Tensor& p = groups_[g].params[i].second;
      state_[index_of(g, i)][slot_name] = Tensor::zeros(p.shape(), p.dtype(), p.device());
    }
}

Tensor& Optimizer::slot(size_t g, size_t i, const std::string& slot_name) {
  auto& m = state_[index_of(g, i)];
  auto it = m.find(slot_name);
  VD_CHECK(it != m.end(), name_ << ": no state slot '" << slot_name << "'");
  return it->second;
}

void Optimizer::step() {
  if (flat_) return fused_step();
  autograd::NoGradGuard guard;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& grp = groups_[g];
    for (size_t i = 0; i < grp.params.size(); ++i) {
      Tensor p = grp.params[i].second;
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      VD_CHECK(grad.shape() == p.shape() && grad.dtype() == p.dtype() &&
                   grad.device() == p.device(),
               name_ << ": gradient " << describe(grad) << " does not match parameter '"
                     << grp.params[i].first << "' " << describe(p)
                     << "; hint: create the optimizer after moving the module");
      ++param_step(g, i);
      update(grp, g, i, p, grad);
    }
  }
  ++steps_;
}

void Optimizer::zero_grad() {
  if (flat_) return flat_->zero_grad();
  for (auto& grp : groups_)
    for (auto& [n, p] : grp.params) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  for (auto& grp : groups_) grp.lr = lr * grp.lr_scale;
}

// --- fused step -------------------------------------------------------------------

void Optimizer::enable_fused(bool working_copy) {
  VD_CHECK(fused_rule_, name_ << ": no fused step for this rule; hint: fused_optimizer = off");
  VD_CHECK(!flat_, name_ << ": enable_fused() called twice");
  std::vector<Tensor> params;
  std::vector<std::string> names;
  for (const auto& grp : groups_)
    for (const auto& [n, p] : grp.params) {
      params.push_back(p);
      names.push_back(n);
    }
  autograd::NoGradGuard guard;
  flat_ = std::make_unique<FlatParams>(params, names, working_copy, name_);
  for (const auto& s : slots_) {
    std::vector<Tensor*> state;
    for (auto& m : state_) state.push_back(&m.at(s));
    flat_->adopt_slot(s, state);
  }
}

void Optimizer::refresh_working_copy() {
  if (flat_) flat_->refresh_working_copy();  // raw ops only: nothing to keep off the tape
}

Tensor Optimizer::working_copy(size_t g, size_t i) const {
  return flat_ ? flat_->working_copy(index_of(g, i)) : Tensor();
}

// One row per parameter (flat index order = buffer order); see fused_col.
void Optimizer::fused_step() {
  autograd::NoGradGuard guard;
  const std::vector<char> active = flat_->collect_grads();
  Tensor table = Tensor::zeros({int64_t(active.size()), fused_col::Count}, DType::F64);
  double* t = table.data<double>();
  int64_t chunks = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& grp = groups_[g];
    for (size_t i = 0; i < grp.params.size(); ++i) {
      const size_t k = index_of(g, i);
      const int64_t n = grp.params[i].second.numel();
      double* row = t + k * fused_col::Count;
      row[fused_col::Offset] = double(flat_->offset(k));
      row[fused_col::Numel] = double(n);
      row[fused_col::Active] = active[k] ? 1.0 : 0.0;
      row[fused_col::Lr] = grp.lr;
      row[fused_col::WeightDecay] = grp.exclude ? 0.0 : grp.weight_decay;
      row[fused_col::Exclude] = grp.exclude ? 1.0 : 0.0;
      row[fused_col::ChunkBegin] = double(chunks);
      chunks += (n + kFusedNormChunk - 1) / kFusedNormChunk;
      if (active[k]) ++counts_[k];
      fused_row(grp, g, i, row);
    }
  }
  flat_->refresh_working_copy();  // written outside the step since the last one?
  fused_update(ops::to_device(table, flat_->device()));
  flat_->record_working_copy();  // the kernels wrote parameters and copy together
  ++steps_;
}

static Tensor scalar_f64(double v) { return Tensor::full({}, v, DType::F64); }

NamedTensors Optimizer::state_dict() const {
  NamedTensors out{{"step", scalar_f64(double(steps_))}};
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      const std::string& pname = groups_[g].params[i].first;
      out.emplace_back(pname + ".step", scalar_f64(double(counts_[index_of(g, i)])));
      for (const auto& s : slots_) out.emplace_back(pname + "." + s, state_[index_of(g, i)].at(s));
    }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  autograd::NoGradGuard guard;
  NamedTensors dst = state_dict();  // live slot tensors; fresh step scalars
  nn::load_named(dst, state, true, (std::string(name_) + ".load_state_dict").c_str());
  steps_ = int64_t(dst[0].second.item());
  size_t k = 1;
  for (size_t g = 0; g < groups_.size(); ++g)
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      counts_[index_of(g, i)] = int64_t(dst[k].second.item());
      k += 1 + slots_.size();
    }
}

void axpby_(Tensor& a, double s, const Tensor& b, double t) {
  autograd::NoGradGuard no_grad;
  const Tensor bt = t == 1.0 ? b : b * t;
  if (s == 1.0)
    ops::binary_(BinaryOp::Add, a, bt);  // a += bt, in place
  else
    ops::copy_(a, a * s + bt);
}

Tensor norm2(const Tensor& x) {
  autograd::NoGradGuard no_grad;
  return sqrt(sum(square(x)));
}

}  // namespace vd::optim
