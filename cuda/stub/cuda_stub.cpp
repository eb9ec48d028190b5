// The CUDA backend when the build has no CUDA (CUDA=0 or no nvcc): every
// kernel throws "built without CUDA" and is_available() is false, so
// programs fall back to the CPU with a clear message.
#include "core/backend.h"
#include "cuda/api.h"

namespace vd::cuda {

[[noreturn]] static void no_cuda(const char* what) {
  VD_FAIL(what << ": built without CUDA; hint: rebuild with nvcc on PATH (make CUDA=1) "
               "or use device cpu");
}

bool is_available() { return false; }
int device_count() { return 0; }
std::string device_name(int) { no_cuda("device_name"); }
void set_device(int) { no_cuda("set_device"); }
void copy_host_to_device(const void*, void*, size_t) { no_cuda("copy_host_to_device"); }
void copy_device_to_host(const void*, void*, size_t) { no_cuda("copy_device_to_host"); }
void synchronize() {}

void* alloc(size_t) { no_cuda("alloc"); }
void release(void*, size_t) {}
void copy(const Tensor&, Tensor&) { no_cuda("copy"); }
void fill(Tensor&, double) { no_cuda("fill"); }
void unary(UnaryOp, const Tensor&, double, Tensor&) { no_cuda("unary"); }
void binary(BinaryOp, const Tensor&, const Tensor&, Tensor&) { no_cuda("binary"); }
void reduce(ReduceOp, const Tensor&, Tensor&) { no_cuda("reduce"); }
void gemm(const Tensor&, bool, const Tensor&, bool, Tensor&, double, double) { no_cuda("gemm"); }
void conv3d_forward(const Tensor&, const Tensor&, const Window3d&, Tensor&) { no_cuda("conv3d"); }
void conv3d_backward_data(const Tensor&, const Tensor&, const Window3d&, Tensor&) { no_cuda("conv3d"); }
void conv3d_backward_weight(const Tensor&, const Tensor&, const Window3d&, Tensor&) { no_cuda("conv3d"); }
void max_pool3d_forward(const Tensor&, const Window3d&, Tensor&) { no_cuda("max_pool3d"); }
void max_pool3d_backward(const Tensor&, const Tensor&, const Window3d&, Tensor&) { no_cuda("max_pool3d"); }
void avg_pool3d_forward(const Tensor&, const Window3d&, bool, Tensor&) { no_cuda("avg_pool3d"); }
void avg_pool3d_backward(const Tensor&, const Window3d&, bool, Tensor&) { no_cuda("avg_pool3d"); }
void batch_norm_stats(const Tensor&, double, Tensor&, Tensor&) { no_cuda("batch_norm"); }
void batch_norm_apply(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&) {
  no_cuda("batch_norm");
}
void batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                         Tensor&, Tensor&, Tensor&) {
  no_cuda("batch_norm");
}
void batch_norm_act_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                            const Tensor&, Tensor&) {
  no_cuda("batch_norm_act");
}
void batch_norm_act_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                             const Tensor&, bool, Tensor&, Tensor&, Tensor&, Tensor&) {
  no_cuda("batch_norm_act");
}
void softmax_forward(const Tensor&, bool, Tensor&) { no_cuda("softmax"); }
void softmax_backward(const Tensor&, const Tensor&, bool, Tensor&) { no_cuda("softmax"); }
void roi_align_forward(const Tensor&, const Tensor&, const RoiAlignParams&, Tensor&) { no_cuda("roi_align"); }
void roi_align_backward(const Tensor&, const Tensor&, const RoiAlignParams&, Tensor&) { no_cuda("roi_align"); }
// fused optimizer (helper fusedopt)
void fused_sgd(const Tensor&, Tensor&, const Tensor&, Tensor&, Tensor&) { no_cuda("fused_sgd"); }
void fused_lars_sumsq(const Tensor&, const Tensor&, const Tensor&, Tensor&) { no_cuda("fused_lars_sumsq"); }
void fused_lars(const Tensor&, const Tensor&, Tensor&, const Tensor&, Tensor&, Tensor&) { no_cuda("fused_lars"); }
void fused_adamw(const Tensor&, Tensor&, const Tensor&, Tensor&, Tensor&, Tensor&) { no_cuda("fused_adamw"); }
// issue 18: the compact input transfer
void normalize_frames(const uint8_t*, const FrameNorm&, Tensor&) { no_cuda("normalize_frames"); }

// cuda/api.h: statistics read as zero, settings are kept but unused.
MemoryStats memory_stats() { return {}; }
void reset_peak_memory() {}
void empty_cache() {}
size_t round_size(size_t n) { return n; }
std::function<std::shared_ptr<float>(size_t)> pinned_allocator() { no_cuda("pinned_allocator"); }
static bool g_benchmark = false, g_deterministic = true;
void set_conv_benchmark(bool on) { g_benchmark = on; }
bool conv_benchmark() { return g_benchmark; }
void set_conv_deterministic(bool on) { g_deterministic = on; }
bool conv_deterministic() { return g_deterministic; }
ConvCacheStats conv_cache_stats() { return {}; }
void conv_cache_clear() {}
std::string conv_last_choice(int) { return ""; }
std::vector<std::string> conv_choices() { return {}; }
std::vector<float> time_each_ms(const std::function<void()>&, int) { no_cuda("time_each_ms"); }

void profile_event_begin() {}
void profile_event_end(int) {}
void profile_collect(double*, size_t) {}

struct GraphExec {};
void graph_capture_begin() { no_cuda("graph_capture_begin"); }
std::shared_ptr<GraphExec> graph_capture_end(std::string*) { no_cuda("graph_capture_end"); }
void graph_capture_abort() {}
void graph_launch(const GraphExec&) { no_cuda("graph_launch"); }
// issue 18: the copy stream (cuda/copy_stream.cpp)
StreamEvent::StreamEvent() = default;
StreamEvent::~StreamEvent() = default;
void StreamEvent::record_on_copy() { no_cuda("StreamEvent"); }
void StreamEvent::record_on_compute() { no_cuda("StreamEvent"); }
void StreamEvent::copy_waits() const { no_cuda("StreamEvent"); }
void StreamEvent::compute_waits() const { no_cuda("StreamEvent"); }
void StreamEvent::synchronize() const { no_cuda("StreamEvent"); }
bool StreamEvent::done() const { no_cuda("StreamEvent"); }
void copy_host_to_device_async(const void*, void*, size_t) { no_cuda("copy_host_to_device_async"); }

}  // namespace vd::cuda
