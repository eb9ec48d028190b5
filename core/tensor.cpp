// Tensor creation, inspection and printing (see tensor.h). The differentiable
// methods are in autograd/tensor_methods.cpp.
#include "core/tensor.h"

#include <atomic>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "core/backend.h"
#include "core/ops.h"
#include "core/random.h"

namespace vd {

// --- storage -------------------------------------------------------------------

uint64_t next_stamp() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

void mark_written(TensorImpl& t) {
  ++t.version;
  t.storage->stamp = next_stamp();
}

Storage::Storage(size_t n, Device dev) : nbytes(n), device(dev) {
  if (n == 0) return;
  data = dev.is_cuda() ? cuda::alloc(n) : cpu::alloc(n);
  profile::storage_created(n);  // live bytes, always counted (core/profile.h)
}

Storage::~Storage() {
  if (!data) return;
  profile::storage_freed(nbytes);
  if (device.is_cuda())
    cuda::release(data, nbytes);
  else
    cpu::release(data, nbytes);
}

// --- creation ------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    VD_CHECK(d >= 0, "empty: negative size in shape " << shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  ops::fill_(t, value);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}

// Fills a host f64 buffer with `draw()` and converts it to the requested tensor.
template <class F>
static Tensor host_filled(const Shape& shape, DType dtype, Device device, F draw) {
  std::vector<double> v(size_t(shape_numel(shape)));
  for (double& x : v) x = draw();
  Tensor t = Tensor::from_vector(v, shape);
  if (dtype != DType::F64) t = ops::to_dtype(t, dtype);
  return device.is_cpu() ? t : ops::to_device(t, device);
}

Tensor Tensor::arange(int64_t n, DType dtype, Device device) {
  int64_t i = 0;
  return host_filled({n}, dtype, device, [&] { return double(i++); });
}

Tensor Tensor::randn(const Shape& shape, Generator* gen, DType dtype, Device device) {
  Generator& g = gen ? *gen : default_generator();
  return host_filled(shape, dtype, device, [&] { return g.normal(); });
}

Tensor Tensor::uniform(const Shape& shape, double lo, double hi, Generator* gen, DType dtype,
                       Device device) {
  Generator& g = gen ? *gen : default_generator();
  return host_filled(shape, dtype, device, [&] { return lo + (hi - lo) * g.uniform(); });
}

template <class T>
static Tensor from_host(const std::vector<T>& v, const Shape& shape, Device device) {
  VD_CHECK(int64_t(v.size()) == shape_numel(shape),
           "from_vector: " << v.size() << " values do not fill shape " << shape_str(shape)
                           << " (" << shape_numel(shape) << " elements)");
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  std::copy(v.begin(), v.end(), t.data<T>());
  return device.is_cpu() ? t : ops::to_device(t, device);
}

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s, Device d) {
  return from_host(v, s, d);
}
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s, Device d) {
  return from_host(v, s, d);
}

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset) const {
  VD_CHECK(shape.size() == strides.size(),
           "as_strided: shape " << shape_str(shape) << " and strides " << shape_str(strides)
                                << " differ in rank");
  int64_t last = offset;
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 0) last += (shape[i] - 1) * strides[i];
  int64_t capacity = int64_t(impl().storage->nbytes / dtype_size(dtype()));
  VD_CHECK(offset >= 0 && (shape_numel(shape) == 0 || last < capacity),
           "as_strided: view " << shape_str(shape) << " strides " << shape_str(strides)
                               << " offset " << offset << " reaches element " << last
                               << " of a storage holding " << capacity);
  auto v = std::make_shared<TensorImpl>();
  v->storage = impl().storage;
  v->shape = shape;
  v->strides = strides;
  v->offset = offset;
  v->dtype = dtype();
  return Tensor(std::move(v));
}

// --- inspection ----------------------------------------------------------------

int64_t Tensor::size(int64_t d) const { return shape()[wrap_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape()[i] != 1 && strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  return static_cast<char*>(impl().storage->data) + offset() * int64_t(dtype_size(dtype()));
}

std::vector<double> Tensor::to_vector() const {
  Tensor h = ops::contiguous(ops::to_dtype(ops::to_device(*this, Device::cpu()), DType::F64));
  const double* p = h.data<double>();
  return std::vector<double>(p, p + h.numel());
}

double Tensor::item() const {
  VD_CHECK(numel() == 1, "item: expected a tensor of one element, got shape " << shape_str(shape()));
  return to_vector()[0];
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "(undefined tensor)";
  std::ostringstream os;
  os << shape_str(t.shape()) << " " << t.dtype() << " " << t.device();
  return os.str();
}

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(" << describe(*this);
  if (requires_grad()) os << ", requires_grad";
  os << ")";
  const int64_t n = numel(), shown = 6;
  std::vector<double> v = to_vector();
  os << " {";
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * shown && i == shown) {
      os << " ...";
      i = n - shown;
    }
    os << (i ? " " : "") << std::setprecision(6) << v[size_t(i)];
  }
  os << "}";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// --- autograd slots ------------------------------------------------------------

Tensor& Tensor::requires_grad_(bool on) {
  VD_CHECK(is_leaf() || on,
           "requires_grad_(false) on a non-leaf tensor; hint: use detach() instead");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(impl().grad); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined())
    VD_CHECK(g.shape() == shape(), "set_grad: gradient " << describe(g) << " for tensor "
                                                           << describe(*this));
  impl().grad = g.impl_ptr();
}

void Tensor::zero_grad() { impl().grad.reset(); }

Tensor Tensor::detach() const { return as_strided(shape(), strides(), offset()); }

}  // namespace vd
