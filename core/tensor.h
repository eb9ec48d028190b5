// Tensor: a strided view (shape, strides, offset, dtype) of reference-counted
// storage on one device, plus the autograd slots (requires_grad, grad, grad_fn).
// Copying a Tensor copies the handle, not the data. Activations are
// channels-last: video [N, T, H, W, C], Conv3d weights [Cout, kT, kH, kW, Cin].
//
// The creation functions and inspection live in core/tensor.cpp. The methods
// marked "differentiable" are defined in autograd/tensor_methods.cpp: they
// record on the autograd tape. Raw, tape-free versions are in core/ops.h.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/errors.h"
#include "core/shape.h"

namespace vd {

namespace autograd {
struct Node;
}
class Generator;

// A process-wide unique number, never 0. Every Storage takes one when it is
// made and a new one on every in-place write (mark_written), so two equal
// stamps mean "the same block, not written since".
uint64_t next_stamp();

// A block of memory on one device. CUDA blocks come from the caching allocator.
struct Storage {
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  uint64_t stamp = next_stamp();  // re-drawn by mark_written
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;
  // Autograd: a leaf has no grad_fn; its gradient accumulates into `grad`.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  // Writes through this impl by the raw in-place ops (ops::copy_, fill_,
  // binary_; not through other views of the storage). The fused optimizer
  // (layers/optim/flat.h) reads it to tell which flat gradients were written
  // since zero_grad.
  uint64_t version = 0;
  // A cast of this tensor that its owner keeps current: the fused optimizer's
  // bf16 working copy (layers/optim/flat.h). Differentiable to_dtype returns
  // it instead of casting while storage->stamp == cast_stamp, i.e. while
  // nothing has written the storage (through any view) since the cast.
  std::shared_ptr<TensorImpl> cast;
  uint64_t cast_stamp = 0;
};

// Records an in-place write into t's storage: bumps t's version and gives the
// storage a new stamp. Called by every op that writes into an existing tensor
// (ops::copy_, fill_, binary_, the fused optimizer kernels, the in-place
// collectives of dist/); code that writes through data_ptr() must call it too.
void mark_written(TensorImpl& t);

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::F32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::F64; };

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- creation -----------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::cpu());
  static Tensor arange(int64_t n, DType dtype = DType::F32, Device device = Device::cpu());
  // Drawn on the host from `gen` (the default generator when null), then moved.
  static Tensor randn(const Shape& shape, Generator* gen = nullptr, DType dtype = DType::F32,
                      Device device = Device::cpu());
  static Tensor uniform(const Shape& shape, double lo, double hi, Generator* gen = nullptr,
                        DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor from_vector(const std::vector<float>& v, const Shape& shape,
                            Device device = Device::cpu());
  static Tensor from_vector(const std::vector<double>& v, const Shape& shape,
                            Device device = Device::cpu());
  // A view with explicit geometry over this tensor's storage (no checks beyond bounds).
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;

  // --- inspection ---------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t offset() const { return impl().offset; }
  int dim() const { return int(impl().shape.size()); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  bool is_contiguous() const;
  bool is_cuda() const { return device().is_cuda(); }
  void* data_ptr() const;  // address of element 0 (a device address for CUDA)
  template <class T> T* data() const {
    VD_CHECK(dtype() == dtype_of<T>::value,
             "data<T>: tensor holds " << dtype() << ", asked for " << dtype_of<T>::value);
    return static_cast<T*>(data_ptr());
  }
  double item() const;                    // the single element, from any device
  std::vector<double> to_vector() const;  // all elements in row-major order, on the host
  std::string str() const;                // shape, dtype, device and (some) values
  bool same_storage(const Tensor& o) const { return impl().storage == o.impl().storage; }

  // --- autograd -----------------------------------------------------------
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  Tensor grad() const;  // undefined until a backward pass reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();     // drops the gradient (the next backward writes a fresh one)
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl().grad_fn; }
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no history, requires_grad false

  // --- differentiable methods (autograd/tensor_methods.cpp) ----------------
  Tensor reshape(const Shape& shape) const;  // one dim may be -1
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor sum(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;

  TensorImpl& impl() const {
    VD_CHECK(impl_, "use of an undefined Tensor; hint: it was default-constructed or moved from");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);
// "[2, 3] f32 cpu": used in error messages.
std::string describe(const Tensor& t);

}  // namespace vd
