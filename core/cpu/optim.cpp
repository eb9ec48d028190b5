// CPU reference kernels of the fused optimizer step (core/kernel_list.inc,
// block "fused optimizer"): SGD, LARS (with its segmented norms) and AdamW
// over flat f32 buffers, segment by segment as the table says. Each element
// follows the tensor-expression rule (layers/optim/sgd.cpp, lars.cpp,
// adamw.cpp) operation by operation in f32, scalars rounded to f32 as the
// elementwise kernels round them (core/cpu/elementwise.cpp), so that the
// results are bit for bit those of the reference rule. Single-threaded and
// plain on purpose: this is the reference the CUDA kernels are tested against.
// Not here: checks and the table (core/ops_optim.cpp), the flat buffers
// (layers/optim/flat.cpp).
#include <cmath>

#include "core/backend.h"
#include "core/bf16.h"

namespace vd::cpu {

namespace {

namespace C = fused_col;

struct Rows {
  const double* t;
  int64_t count;
  const double* row(int64_t s) const { return t + s * C::Count; }
};

Rows rows_of(const Tensor& table) { return {table.data<double>(), table.shape()[0]}; }

float* f32(const Tensor& t) { return static_cast<float*>(t.data_ptr()); }
bf16* bf16_or_null(const Tensor& t) {
  return t.defined() ? static_cast<bf16*>(t.data_ptr()) : nullptr;
}

// d = g + p * wd (as grad + p * wd: MulScalar, then Add), or g when wd is 0.
inline float decayed(float g, float p, double wd, float fwd) { return wd != 0 ? g + p * fwd : g; }

}  // namespace

void fused_sgd(const Tensor& table, Tensor& p, const Tensor& g, Tensor& buf, Tensor& work) {
  const Rows r = rows_of(table);
  float *P = f32(p), *B = f32(buf);
  const float* G = f32(g);
  bf16* W = bf16_or_null(work);
  for (int64_t s = 0; s < r.count; ++s) {
    const double* row = r.row(s);
    if (row[C::Active] == 0) continue;
    const int64_t o = int64_t(row[C::Offset]), n = int64_t(row[C::Numel]);
    const double wd = row[C::WeightDecay], mu = row[C::Momentum];
    const float fwd = float(wd), fmu = float(mu), fdamp = float(1.0 - row[C::Dampening]),
                neg_lr = float(-row[C::Lr]);
    const bool first = row[C::First] != 0, nesterov = row[C::Nesterov] != 0;
    for (int64_t i = o; i < o + n; ++i) {
      float d = decayed(G[i], P[i], wd, fwd);
      if (mu != 0) {
        B[i] = first ? d : B[i] * fmu + d * fdamp;
        d = nesterov ? d + B[i] * fmu : B[i];
      }
      P[i] = P[i] + d * neg_lr;
      if (W) W[i] = float_to_bf16(P[i]);
    }
  }
}

void fused_lars_sumsq(const Tensor& table, const Tensor& p, const Tensor& g, Tensor& sums) {
  const Rows r = rows_of(table);
  const float *P = f32(p), *G = f32(g);
  double* S = sums.data<double>();
  for (int64_t s = 0; s < r.count; ++s) {
    const double* row = r.row(s);
    double sp = 0, sd = 0;
    if (row[C::Active] != 0 && row[C::Exclude] == 0) {
      const int64_t o = int64_t(row[C::Offset]), n = int64_t(row[C::Numel]);
      const double wd = row[C::WeightDecay];
      const float fwd = float(wd);
      for (int64_t i = o; i < o + n; ++i) {
        const float d = decayed(G[i], P[i], wd, fwd);
        sp += double(P[i] * P[i]);
        sd += double(d * d);
      }
    }
    S[2 * s] = sp;
    S[2 * s + 1] = sd;
  }
}

void fused_lars(const Tensor& table, const Tensor& sums, Tensor& p, const Tensor& g, Tensor& mu,
                Tensor& work) {
  const Rows r = rows_of(table);
  float *P = f32(p), *M = f32(mu);
  const float* G = f32(g);
  const double* S = sums.data<double>();
  bf16* W = bf16_or_null(work);
  for (int64_t s = 0; s < r.count; ++s) {
    const double* row = r.row(s);
    if (row[C::Active] == 0) continue;
    const int64_t o = int64_t(row[C::Offset]), n = int64_t(row[C::Numel]);
    const bool exclude = row[C::Exclude] != 0;
    const double wd = exclude ? 0.0 : row[C::WeightDecay];
    const float fwd = float(wd), fmom = float(row[C::Momentum]), neg_lr = float(-row[C::Lr]);
    // Trust ratio as lars.cpp: norms rounded to f32 (the sum's output), sqrt in f32.
    float q = 1.0f;
    if (!exclude) {
      const float pn = std::sqrt(float(S[2 * s])), dn = std::sqrt(float(S[2 * s + 1]));
      const float ok = (pn > 0.0f ? 1.0f : 0.0f) * (dn > 0.0f ? 1.0f : 0.0f), not_ok = 1.0f - ok;
      q = ok * ((pn * float(row[C::Eta])) / (dn + not_ok)) + not_ok;
    }
    for (int64_t i = o; i < o + n; ++i) {
      float d = decayed(G[i], P[i], wd, fwd);
      if (!exclude) d = d * q;
      M[i] = M[i] * fmom + d;
      P[i] = P[i] + M[i] * neg_lr;
      if (W) W[i] = float_to_bf16(P[i]);
    }
  }
}

void fused_adamw(const Tensor& table, Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& work) {
  const Rows r = rows_of(table);
  float *P = f32(p), *Mm = f32(m), *V = f32(v);
  const float* G = f32(g);
  bf16* W = bf16_or_null(work);
  for (int64_t s = 0; s < r.count; ++s) {
    const double* row = r.row(s);
    if (row[C::Active] == 0) continue;
    const int64_t o = int64_t(row[C::Offset]), n = int64_t(row[C::Numel]);
    const double lr = row[C::Lr], wd = row[C::WeightDecay], b1 = row[C::Beta1], b2 = row[C::Beta2];
    const float decay = float(1.0 - lr * wd), fb1 = float(b1), fc1 = float(1.0 - b1), fb2 = float(b2),
                fc2 = float(1.0 - b2), inv_sqrt_bc2 = float(1.0 / std::sqrt(row[C::Bc2])),
                feps = float(row[C::Eps]), step = float(-lr / row[C::Bc1]);
    for (int64_t i = o; i < o + n; ++i) {
      if (wd != 0) P[i] = P[i] * decay;
      Mm[i] = Mm[i] * fb1 + G[i] * fc1;
      V[i] = V[i] * fb2 + (G[i] * G[i]) * fc2;
      const float denom = std::sqrt(V[i]) * inv_sqrt_bc2 + feps;
      P[i] = P[i] + (Mm[i] / denom) * step;
      if (W) W[i] = float_to_bf16(P[i]);
    }
  }
}

}  // namespace vd::cpu
