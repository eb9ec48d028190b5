// Shape helpers (see shape.h).
#include "core/shape.h"

#include <sstream>

#include "core/errors.h"

namespace vd {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    VD_CHECK(da == db || da == 1 || db == 1,
             op << ": shapes " << shape_str(a) << " and " << shape_str(b)
                << " do not broadcast (dim " << i << ": " << da << " vs " << db
                << "); hint: sizes must match or be 1, aligned from the right");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int wrap_dim(int64_t dim, int ndim, const char* op) {
  VD_CHECK(dim >= -ndim && dim < ndim,
           op << ": dim " << dim << " out of range for a tensor of " << ndim
              << " dims; expected a value in [" << -ndim << ", " << ndim - 1 << "]");
  return int(dim < 0 ? dim + ndim : dim);
}

}  // namespace vd
