// CUDA graph capture and replay on the device's one stream (API in
// cuda/api.h). Small on purpose: begin, end (instantiate), abort, launch.
// What is captured, when, and how a failed capture falls back is decided by
// vididi/graph_step.cpp; the memory a graph uses is the allocator's graph
// pool (cuda/allocator.cpp, cuda/graph_pool.h). Not run on a GPU yet
// (docs/CUDA.md, CUDA graphs).
#include <string>

#include "cuda/api.h"
#include "cuda/check.h"
#include "cuda/context.h"
#include "cuda/graph_pool.h"

namespace vd::cuda {

struct GraphExec {
  cudaGraphExec_t exec = nullptr;
};

namespace {
std::string describe_error(const char* call, cudaError_t e) {
  return std::string(call) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}
}  // namespace

void graph_capture_begin() {
  cudaStream_t s = stream();
  // Earlier work finishes first, so that an error it raises is not blamed on the capture.
  VD_CUDA_CHECK(cudaStreamSynchronize(s));
  graph_pool_begin();
  const cudaError_t e = cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
  if (e != cudaSuccess) {
    graph_pool_end();
    VD_CUDA_CHECK(e);
  }
}

std::shared_ptr<GraphExec> graph_capture_end(std::string* why) {
  cudaGraph_t graph = nullptr;
  cudaError_t e = cudaStreamEndCapture(stream(), &graph);
  graph_pool_end();
  if (e != cudaSuccess || !graph) {
    if (why) *why = describe_error("cudaStreamEndCapture", e);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();  // a capture error is not sticky; start clean
    graph_pool_reclaim();
    return nullptr;
  }
  cudaGraphExec_t exec = nullptr;
  e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (e != cudaSuccess) {
    if (why) *why = describe_error("cudaGraphInstantiate", e);
    cudaGetLastError();
    graph_pool_reclaim();
    return nullptr;
  }
  graph_pool_graphs(+1);
  return std::shared_ptr<GraphExec>(new GraphExec{exec}, [](GraphExec* g) {
    cudaGraphExecDestroy(g->exec);  // in a destructor: not checked
    graph_pool_graphs(-1);
    graph_pool_reclaim();
    delete g;
  });
}

void graph_capture_abort() {
  cudaStream_t s = stream();
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &status) == cudaSuccess && status != cudaStreamCaptureStatusNone) {
    cudaGraph_t graph = nullptr;
    cudaStreamEndCapture(s, &graph);  // invalidated or not, the graph is discarded
    if (graph) cudaGraphDestroy(graph);
  }
  graph_pool_end();
  cudaGetLastError();
  graph_pool_reclaim();
}

void graph_launch(const GraphExec& graph) { VD_CUDA_CHECK(cudaGraphLaunch(graph.exec, stream())); }

}  // namespace vd::cuda
