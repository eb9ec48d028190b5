// The backward pass (see node.h): collect the nodes reachable from the root,
// run them in reverse creation order, route gradients along the edges, and
// (when asked) report each leaf once its last incoming edge has been run.
#include <algorithm>
#include <atomic>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "autograd/node.h"
#include "core/ops.h"

namespace vd::autograd {

static thread_local bool g_grad_enabled = true;
static std::atomic<uint64_t> g_next_seq{1};

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn) {
  if (!any_requires_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->seq = g_next_seq++;
  node->name = name;
  node->edges.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    Edge e;
    if (in.defined()) {
      e.shape = in.shape();
      e.dtype = in.dtype();
      e.device = in.device();
      if (!in.is_leaf())
        e.fn = in.grad_fn();
      else if (in.requires_grad())
        e.leaf = in.impl_ptr();  // a parameter or a user's tensor: alive anyway
    }
    node->edges.push_back(std::move(e));
  }
  node->backward = std::move(fn);
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
}

// A leaf's gradient is its own storage (cloned on first arrival), then
// grows with += so that optimizers may update it in place.
static void accumulate_leaf(std::shared_ptr<TensorImpl>& slot, const Tensor& g) {
  if (!slot) {
    slot = ops::clone(g).impl_ptr();
    return;
  }
  Tensor acc(slot);
  ops::binary_(BinaryOp::Add, acc, g);
}

// "[2, 3] f32 cpu", as describe() writes a tensor's.
static std::string describe_edge(const Edge& e) {
  std::ostringstream os;
  os << shape_str(e.shape) << " " << e.dtype << " " << e.device;
  return os.str();
}

// Gradients flowing between nodes may alias each other (add hands the same
// tensor to both inputs), so they are summed out of place.
static void accumulate_edge(std::shared_ptr<TensorImpl>& slot, const Tensor& g) {
  slot = slot ? ops::binary(BinaryOp::Add, Tensor(slot), g).impl_ptr() : g.impl_ptr();
}

void backward(const Tensor& root, const Tensor& grad, bool retain_graph, const LeafReadyFn& leaf_ready) {
  VD_CHECK(root.requires_grad(),
           "backward: the tensor does not require grad (" << describe(root)
                                                          << "); hint: no input of the "
                                                             "computation had requires_grad");
  Tensor g = grad;
  if (!g.defined()) {
    VD_CHECK(root.numel() == 1, "backward: implicit gradient only for one-element outputs, got "
                                    << describe(root) << "; hint: pass a gradient tensor");
    g = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  VD_CHECK(g.shape() == root.shape(),
           "backward: gradient " << describe(g) << " for output " << describe(root));
  if (root.is_leaf()) {
    accumulate_leaf(root.impl().grad, g);
    if (leaf_ready) leaf_ready(root);
    return;
  }

  // Collect reachable nodes.
  std::vector<Node*> order;
  std::vector<std::shared_ptr<Node>> alive;  // owns every collected node until the pass ends
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack{root.grad_fn().get()};
  seen.insert(stack.back());
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    VD_CHECK(!n->released, "backward: the graph through '"
                               << n->name << "' was already freed; hint: pass "
                                             "retain_graph=true to the first backward");
    order.push_back(n);
    for (const Edge& e : n->edges) {
      Node* p = e.fn.get();
      if (p && seen.insert(p).second) {
        stack.push_back(p);
        alive.push_back(e.fn);  // releasing a node's edges must not free p
      }
    }
  }
  std::sort(order.begin(), order.end(), [](Node* a, Node* b) { return a->seq > b->seq; });

  // Edges still to run into each leaf that wants a gradient (only counted
  // when someone listens). A node's edges count as run when the node runs or
  // is skipped for want of an incoming gradient.
  std::unordered_map<TensorImpl*, int64_t> pending;
  auto wants_leaf = [](const Edge& e) { return e.leaf && e.leaf->requires_grad; };
  if (leaf_ready)
    for (Node* n : order)
      for (const Edge& e : n->edges)
        if (wants_leaf(e)) ++pending[e.leaf.get()];
  auto edges_done = [&](const std::vector<Edge>& edges) {
    for (const Edge& e : edges)
      if (wants_leaf(e) && --pending[e.leaf.get()] == 0) leaf_ready(Tensor(e.leaf));
  };

  std::unordered_map<Node*, std::shared_ptr<TensorImpl>> grads;
  grads[root.grad_fn().get()] = g.impl_ptr();
  for (Node* n : order) {
    auto it = grads.find(n);
    if (it == grads.end()) {
      if (leaf_ready) edges_done(n->edges);
      continue;
    }
    Tensor gout(it->second);
    grads.erase(it);
    std::vector<bool> needs(n->edges.size());
    for (size_t i = 0; i < needs.size(); ++i) needs[i] = n->edges[i].needs_grad();
    std::vector<Tensor> gin = n->backward(gout, needs);
    gout = Tensor();  // the incoming gradient is no longer needed
    VD_CHECK(gin.size() == n->edges.size(), "backward of '" << n->name << "' returned "
                                                            << gin.size() << " gradients for "
                                                            << n->edges.size() << " inputs");
    for (size_t i = 0; i < gin.size(); ++i) {
      if (!needs[i] || !gin[i].defined()) continue;
      const Edge& e = n->edges[i];
      Tensor gi = ops::sum_to(gin[i], e.shape);
      VD_CHECK(gi.shape() == e.shape, "backward of '" << n->name << "': gradient "
                                                      << describe(gi) << " for input " << i
                                                      << " of shape " << describe_edge(e));
      if (gi.dtype() != e.dtype) gi = ops::to_dtype(gi, e.dtype);
      if (e.leaf)
        accumulate_leaf(e.leaf->grad, gi);
      else
        accumulate_edge(grads[e.fn.get()], gi);
    }
    gin.clear();
    // The saved tensors go before the leaves are reported, so that what a
    // listener starts (an all-reduce) already has their memory.
    if (!retain_graph) n->backward = nullptr;
    if (leaf_ready) edges_done(n->edges);
    if (!retain_graph) {
      n->edges.clear();
      n->released = true;
    }
  }
}

}  // namespace vd::autograd
