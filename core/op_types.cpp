// Names of op codes, for error messages and profiles.
#include "core/op_types.h"

#include <sstream>

namespace vd {

std::string Window3d::str() const {
  std::ostringstream os;
  auto triple = [&](const char* name, const std::array<int64_t, 3>& v) {
    os << name << " (" << v[0] << "," << v[1] << "," << v[2] << ")";
  };
  triple("kernel", kernel);
  triple(" stride", stride);
  triple(" padding", padding);
  triple(" dilation", dilation);
  return os.str();
}

std::string RoiAlignParams::str() const {
  std::ostringstream os;
  os << "bins " << pooled_h << "x" << pooled_w << " scale " << spatial_scale << " sampling "
     << sampling_ratio << (aligned ? " aligned" : " unaligned");
  return os.str();
}

const char* unary_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Neg: return "neg";
    case UnaryOp::Exp: return "exp";
    case UnaryOp::Log: return "log";
    case UnaryOp::Sqrt: return "sqrt";
    case UnaryOp::Rsqrt: return "rsqrt";
    case UnaryOp::Relu: return "relu";
    case UnaryOp::Abs: return "abs";
    case UnaryOp::Square: return "square";
    case UnaryOp::Sign: return "sign";
    case UnaryOp::AddScalar: return "add_scalar";
    case UnaryOp::MulScalar: return "mul_scalar";
    case UnaryOp::PowScalar: return "pow_scalar";
    case UnaryOp::RsubScalar: return "rsub_scalar";
    case UnaryOp::RdivScalar: return "rdiv_scalar";
    case UnaryOp::GtScalar: return "gt_scalar";
  }
  return "?";
}

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
    case BinaryOp::Maximum: return "maximum";
    case BinaryOp::Minimum: return "minimum";
    case BinaryOp::Pow: return "pow";
    case BinaryOp::Gt: return "gt";
    case BinaryOp::Ge: return "ge";
    case BinaryOp::Eq: return "eq";
    case BinaryOp::ReluGrad: return "relu_grad";
  }
  return "?";
}

}  // namespace vd
