// The autograd tape. Every differentiable op whose inputs need gradients
// appends a Node to its output: one Edge per input (to the input's own node,
// or to a leaf that wants a gradient), a sequence number that increases in
// creation order, and a backward function written next to the forward in
// autograd/functions_*.cpp. An edge never holds a non-leaf input's storage:
// the only tensors a node keeps alive are those its backward function
// captured, and both are dropped as soon as the node has run (unless
// retain_graph).
// backward() walks nodes in reverse sequence order (a deterministic order),
// sums the gradients arriving at each node, reduces broadcast gradients to the
// input's shape, and accumulates into leaves' .grad with +=. An optional
// callback hears of each leaf once its gradient is complete for the pass
// (dist/grad_buckets.h starts its all-reduces from it).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace vd::autograd {

// grad: gradient of the loss w.r.t. the node's output. needs[i]: whether
// input i wants a gradient. Returns one tensor per input (undefined = none).
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad, const std::vector<bool>& needs)>;

struct Node;

// One input of a node: where its gradient goes, and what the engine needs to
// shape it (sum_to the input's shape, cast to its dtype); fn and leaf both
// empty for an undefined (optional) input or a leaf that wanted no gradient
// (a constant: nothing routes to it, nothing keeps it). Not the input's
// data: a non-leaf input is reached through its producer's node, so the
// activation itself can be freed once nothing else uses it.
struct Edge {
  std::shared_ptr<Node> fn;          // the input's grad_fn when it is a non-leaf
  std::shared_ptr<TensorImpl> leaf;  // the input itself when it is a leaf that
                                     // required a gradient when recorded
  Shape shape;
  DType dtype = DType::F32;
  Device device;
  // Whether the backward function is asked for this input's gradient: a
  // non-leaf always; a leaf while it still requires a gradient (read at
  // backward time, so requires_grad_(false) after the forward still stops it).
  bool needs_grad() const { return fn != nullptr || (leaf && leaf->requires_grad); }
};

struct Node {
  uint64_t seq = 0;
  const char* name = "";
  std::vector<Edge> edges;  // one per input of the op, in the op's input order
  BackwardFn backward;
  bool released = false;  // edges and saved tensors freed after a backward pass
};

// Gradient recording is on unless a NoGradGuard is alive on this thread.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when recording is on and some input requires a gradient.
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Attaches a node to `out` when any input requires a gradient (and grad mode
// is on). The backward function must not capture `out` itself (that would be
// a cycle): capture out.detach() when the output is needed. It should capture
// only what it reads, and only for the inputs that can ask for a gradient
// (input.requires_grad() at record time): everything it captures stays alive
// until the node has run.
void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn);

// Called with a leaf (a handle sharing its TensorImpl) when no further
// contribution to its .grad will come in this pass: once per leaf reached,
// right after the last node with an edge to it has run (whether or not that
// node, or any, delivered a gradient: a leaf whose every contribution was
// undefined is still reported, its .grad as before). Order: the engine's,
// reverse creation order of the nodes, the same on every run of the same
// code. The callback must not start another backward pass.
using LeafReadyFn = std::function<void(const Tensor& leaf)>;

// Runs the backward pass from `root`. grad defaults to 1 for a one-element root.
// leaf_ready (optional): see LeafReadyFn; a leaf root is reported after its
// gradient is written.
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false,
              const LeafReadyFn& leaf_ready = nullptr);

}  // namespace vd::autograd
