// safetensors files (see safetensors.h): the writer (header JSON, padding,
// atomic file write) and the strict reader (bounds, schema, dtypes, overflow,
// offsets tiling the data region). The JSON subset parser is in
// safetensors_json.cpp. Not here: any model layout (torchvision_io.cpp).
#include "layers/safetensors.h"

#include "layers/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "core/ops.h"
#include "layers/safetensors_json.h"

namespace vd {

const char* safe_dtype_name(SafeDType t) {
  switch (t) {
    case SafeDType::F32: return "F32";
    case SafeDType::F64: return "F64";
    case SafeDType::BF16: return "BF16";
    case SafeDType::I64: return "I64";
  }
  return "?";
}

size_t safe_dtype_size(SafeDType t) { return t == SafeDType::BF16 ? 2 : t == SafeDType::F32 ? 4 : 8; }

namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

SafeDType safe_of(DType t) {
  return t == DType::F32 ? SafeDType::F32 : t == DType::F64 ? SafeDType::F64 : SafeDType::BF16;
}

void check_little_endian() {
  uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  VD_CHECK(b == 1, "safetensors: this host is big-endian; the format is little-endian only");
}

uint64_t le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= uint64_t(p[k]) << (8 * k);
  return v;
}

void put64(std::vector<unsigned char>& out, uint64_t v) {
  for (int k = 0; k < 8; ++k) out.push_back((unsigned char)((v >> (8 * k)) & 0xFF));
}

std::string ints_json(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

SafetensorsEntry safe_entry(const std::string& name, const Tensor& t) {
  VD_CHECK(t.defined(), "safetensors: entry '" << name << "' has no tensor");
  return SafetensorsEntry{name, t, safe_of(t.dtype())};
}

SafetensorsEntry safe_entry_i64(const std::string& name, const Tensor& t) {
  VD_CHECK(t.defined(), "safetensors: entry '" << name << "' has no tensor");
  return SafetensorsEntry{name, t, SafeDType::I64};
}

const SafetensorsEntry* find_safe_entry(const SafetensorsFile& f, const std::string& name) {
  for (const auto& e : f.tensors)
    if (e.name == name) return &e;
  return nullptr;
}

// ------------------------------------------------------------------ writer

std::vector<unsigned char> serialize_safetensors(const SafetensorsFile& f, const std::string& what) {
  check_little_endian();
  std::string header = "{";
  std::set<std::string> names;
  std::vector<std::vector<unsigned char>> blobs;
  uint64_t offset = 0;
  if (!f.metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : f.metadata) {
      header += (first ? "" : ",") + stjson::quote(k, "metadata key '" + k + "' of " + what) + ":" +
                stjson::quote(v, "metadata value of '" + k + "' in " + what);
      first = false;
    }
    header += "}";
  }
  for (const SafetensorsEntry& e : f.tensors) {
    VD_CHECK(!e.name.empty() && e.name != "__metadata__" && names.insert(e.name).second,
             "safetensors " << what << ": tensor name '" << e.name
                            << "' is empty, reserved (__metadata__) or repeated");
    VD_CHECK(e.tensor.defined(), "safetensors " << what << ": entry '" << e.name << "' has no tensor");
    const Shape& shape = e.tensor.shape();
    VD_CHECK(shape.size() <= kMaxSafetensorsRank, "safetensors " << what << ": entry '" << e.name << "' has rank "
                                                                 << shape.size() << ", at most "
                                                                 << kMaxSafetensorsRank << " is supported");
    Tensor h = ops::contiguous(ops::to_device(e.tensor, Device::cpu()));
    const uint64_t numel = uint64_t(h.numel());
    std::vector<unsigned char> blob(size_t(numel * safe_dtype_size(e.stored)));
    if (e.stored == SafeDType::I64) {
      VD_CHECK(h.dtype() != DType::BF16 && numel <= kMaxI64Elements,
               "safetensors " << what << ": entry '" << e.name << "' to be stored as I64 must be an f32/f64 tensor of at most "
                              << kMaxI64Elements << " elements, got " << dtype_name(h.dtype()) << " "
                              << shape_str(shape));
      std::vector<double> v = h.to_vector();
      for (size_t i = 0; i < v.size(); ++i) {
        VD_CHECK(std::nearbyint(v[i]) == v[i] && std::fabs(v[i]) <= kMaxExactInteger,
                 "safetensors " << what << ": entry '" << e.name << "' to be stored as I64 holds " << v[i]
                                << " at element " << i << ", expected an integer with |v| <= 2^53");
        int64_t x = int64_t(v[i]);
        std::memcpy(blob.data() + 8 * i, &x, 8);
      }
    } else {
      VD_CHECK(safe_of(h.dtype()) == e.stored,
               "safetensors " << what << ": entry '" << e.name << "' is " << dtype_name(h.dtype())
                              << " but was to be stored as " << safe_dtype_name(e.stored)
                              << "; hint: cast it first (ops::to_dtype)");
      if (!blob.empty()) std::memcpy(blob.data(), h.data_ptr(), blob.size());
    }
    std::vector<uint64_t> dims(shape.begin(), shape.end());
    header += std::string(header.size() > 1 ? "," : "") + stjson::quote(e.name, "tensor name of " + what) +
              ":{\"dtype\":\"" + safe_dtype_name(e.stored) + "\",\"shape\":" + ints_json(dims) +
              ",\"data_offsets\":" + ints_json({offset, offset + blob.size()}) + "}";
    offset += blob.size();
    blobs.push_back(std::move(blob));
  }
  header += "}";
  while ((8 + header.size()) % 8 != 0) header += ' ';
  VD_CHECK(header.size() <= kMaxSafetensorsHeader,
           "safetensors " << what << ": header of " << header.size() << " bytes exceeds the reader's limit of "
                          << kMaxSafetensorsHeader);
  std::vector<unsigned char> out;
  out.reserve(size_t(8 + header.size() + offset));
  put64(out, header.size());
  out.insert(out.end(), header.begin(), header.end());
  for (const auto& b : blobs) out.insert(out.end(), b.begin(), b.end());
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& f) {
  std::vector<unsigned char> bytes = serialize_safetensors(f, path);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  VD_CHECK(fd >= 0, "safetensors: cannot create " << tmp << ": " << std::strerror(errno)
                                                  << "; hint: does the folder exist and is it writable?");
  try {
    write_all(fd, bytes.data(), bytes.size(), tmp, "safetensors");
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  publish_file(fd, tmp, path, "safetensors");
}

// ------------------------------------------------------------------ reader

namespace {

struct Range {
  uint64_t begin, end;
  size_t index;
};

SafeDType parse_dtype(const std::string& s, const std::string& path, const std::string& name) {
  if (s == "F32") return SafeDType::F32;
  if (s == "F64") return SafeDType::F64;
  if (s == "BF16") return SafeDType::BF16;
  if (s == "I64") return SafeDType::I64;
  VD_FAIL("safetensors " << path << ": tensor '" << name << "' has dtype \"" << s
                         << "\", expected F32, F64, BF16 or I64; hint: convert it in Python first "
                            "(e.g. {k: v.float() for k, v in state.items()})");
}

const stjson::Value& member(const stjson::Value& obj, const char* key, stjson::Value::Kind kind,
                            const std::string& path, const std::string& name) {
  for (size_t i = 0; i < obj.keys.size(); ++i)
    if (obj.keys[i] == key) {
      VD_CHECK(obj.values[i].kind == kind, "safetensors " << path << ": tensor '" << name << "': \"" << key
                                                          << "\" is " << stjson::kind_name(obj.values[i].kind)
                                                          << ", expected " << stjson::kind_name(kind));
      return obj.values[i];
    }
  VD_FAIL("safetensors " << path << ": tensor '" << name << "' has no \"" << key
                         << "\"; expected \"dtype\", \"shape\" and \"data_offsets\"");
}

}  // namespace

SafetensorsFile parse_safetensors(const std::vector<unsigned char>& bytes, const std::string& path) {
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

SafetensorsFile parse_safetensors(const unsigned char* data, size_t size, const std::string& path) {
  check_little_endian();
  VD_CHECK(size >= 8, "safetensors " << path << ": truncated: " << size
                                     << " bytes, the header length alone needs 8; hint: not a safetensors file");
  const uint64_t n = le64(data);
  VD_CHECK(n <= kMaxSafetensorsHeader, "safetensors " << path << ": header length " << n << " exceeds the limit of "
                                                      << kMaxSafetensorsHeader
                                                      << " bytes; hint: not a safetensors file, or damaged");
  VD_CHECK(n <= size - 8, "safetensors " << path << ": header length " << n << " but only " << size - 8
                                         << " bytes follow; hint: the file is truncated");
  VD_CHECK(n >= 2 && data[8] == '{', "safetensors " << path << ": expected the header to start with '{' (a JSON "
                                                    << "object), header length " << n
                                                    << "; hint: not a safetensors file");
  stjson::Value root = stjson::parse(reinterpret_cast<const char*>(data + 8), size_t(n), path, 8);
  const unsigned char* region = data + 8 + n;
  const uint64_t region_size = size - 8 - n;

  SafetensorsFile out;
  std::vector<Range> ranges;
  std::vector<uint64_t> numels;
  std::vector<Shape> shapes;
  for (size_t k = 0; k < root.keys.size(); ++k) {
    const std::string& name = root.keys[k];
    const stjson::Value& v = root.values[k];
    VD_CHECK(v.kind == stjson::Value::Kind::Object, "safetensors " << path << ": entry '" << name << "' is "
                                                                   << stjson::kind_name(v.kind)
                                                                   << ", expected an object");
    if (name == "__metadata__") {
      for (size_t i = 0; i < v.keys.size(); ++i) {
        VD_CHECK(v.values[i].kind == stjson::Value::Kind::String,
                 "safetensors " << path << ": metadata value of '" << v.keys[i] << "' is "
                                << stjson::kind_name(v.values[i].kind) << ", expected a string (metadata maps "
                                << "strings to strings)");
        out.metadata[v.keys[i]] = v.values[i].str;
      }
      continue;
    }
    VD_CHECK(!name.empty(), "safetensors " << path << ": a tensor has an empty name");
    for (const std::string& key : v.keys)
      VD_CHECK(key == "dtype" || key == "shape" || key == "data_offsets",
               "safetensors " << path << ": tensor '" << name << "' has an unknown field \"" << key
                              << "\"; expected only \"dtype\", \"shape\" and \"data_offsets\"");
    SafeDType dt = parse_dtype(member(v, "dtype", stjson::Value::Kind::String, path, name).str, path, name);
    const auto& dims = member(v, "shape", stjson::Value::Kind::IntArray, path, name).ints;
    const auto& offs = member(v, "data_offsets", stjson::Value::Kind::IntArray, path, name).ints;
    VD_CHECK(dims.size() <= kMaxSafetensorsRank, "safetensors " << path << ": tensor '" << name << "' has rank "
                                                                << dims.size() << ", at most "
                                                                << kMaxSafetensorsRank << " is supported");
    uint64_t numel = 1;
    Shape shape;
    for (uint64_t d : dims) {
      VD_CHECK(d <= uint64_t(INT64_MAX) && (d == 0 || numel <= UINT64_MAX / d),
               "safetensors " << path << ": tensor '" << name << "' has shape " << ints_json(dims)
                              << " whose element count overflows 64 bits");
      numel *= d;
      shape.push_back(int64_t(d));
    }
    const uint64_t elem = safe_dtype_size(dt);
    VD_CHECK(numel <= UINT64_MAX / elem && numel * elem <= region_size,
             "safetensors " << path << ": tensor '" << name << "' of shape " << ints_json(dims) << " and dtype "
                            << safe_dtype_name(dt) << " needs more bytes than the " << region_size
                            << " of the data region; hint: the file is truncated or damaged");
    VD_CHECK(dt != SafeDType::I64 || numel <= kMaxI64Elements,
             "safetensors " << path << ": tensor '" << name << "' is I64 with " << numel << " elements, expected at most "
                            << kMaxI64Elements << " (I64 is read for counters like num_batches_tracked only)");
    VD_CHECK(offs.size() == 2, "safetensors " << path << ": tensor '" << name << "' has data_offsets "
                                              << ints_json(offs) << ", expected [begin, end]");
    VD_CHECK(offs[0] <= offs[1] && offs[1] <= region_size,
             "safetensors " << path << ": tensor '" << name << "' has data_offsets " << ints_json(offs)
                            << ", expected 0 <= begin <= end <= " << region_size
                            << " (the data region's size); hint: the file is truncated or damaged");
    VD_CHECK(offs[1] - offs[0] == numel * elem,
             "safetensors " << path << ": tensor '" << name << "' of shape " << ints_json(dims) << " and dtype "
                            << safe_dtype_name(dt) << " needs " << numel * elem << " bytes, its data_offsets "
                            << ints_json(offs) << " span " << offs[1] - offs[0]);
    ranges.push_back(Range{offs[0], offs[1], out.tensors.size()});
    numels.push_back(numel);
    shapes.push_back(shape);
    out.tensors.push_back(SafetensorsEntry{name, Tensor(), dt});
  }

  // The ranges must tile the data region exactly: no overlap, no gap, no tail.
  std::vector<Range> sorted = ranges;
  std::sort(sorted.begin(), sorted.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end < b.end : a.index < b.index;
  });
  uint64_t pos = 0;
  std::string prev = "the start of the data region";
  for (const Range& r : sorted) {
    const std::string& name = out.tensors[r.index].name;
    VD_CHECK(r.begin >= pos, "safetensors " << path << ": tensor '" << name << "' (bytes [" << r.begin << ", "
                                            << r.end << ")) overlaps '" << prev << "' (which ends at " << pos
                                            << "); hint: the file is damaged or hand-made");
    VD_CHECK(r.begin == pos, "safetensors " << path << ": bytes [" << pos << ", " << r.begin << ") of the data region "
                                            << "belong to no tensor (gap before '" << name
                                            << "'); the format requires the data to be fully covered");
    pos = r.end;
    prev = name;
  }
  VD_CHECK(pos == region_size, "safetensors " << path << ": bytes [" << pos << ", " << region_size
                                              << ") at the end of the data region belong to no tensor; the format "
                                              << "requires the data to be fully covered; hint: trailing garbage?");

  // Allocated only now: the tiling bounds the total by the file's size.
  for (size_t i = 0; i < out.tensors.size(); ++i) {
    SafetensorsEntry& e = out.tensors[i];
    e.tensor = Tensor::empty(shapes[i], e.stored == SafeDType::F32    ? DType::F32
                                        : e.stored == SafeDType::BF16 ? DType::BF16
                                                                      : DType::F64);
    const unsigned char* src = region + ranges[i].begin;
    if (e.stored != SafeDType::I64) {
      if (ranges[i].end > ranges[i].begin) std::memcpy(e.tensor.data_ptr(), src, size_t(ranges[i].end - ranges[i].begin));
      continue;
    }
    double* dst = e.tensor.data<double>();
    for (uint64_t j = 0; j < numels[i]; ++j) {
      int64_t x;
      std::memcpy(&x, src + 8 * j, 8);
      VD_CHECK(x >= -int64_t(1LL << 53) && x <= int64_t(1LL << 53),
               "safetensors " << path << ": tensor '" << e.name << "' (I64) holds " << x << " at element " << j
                              << ", expected |v| <= 2^53 (read exactly into f64)");
      dst[j] = double(x);
    }
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  VD_CHECK(f.good(), "safetensors: cannot open " << path << "; hint: check the path");
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  VD_CHECK(size >= 0, "safetensors: cannot read " << path << " (is it a folder?)");
  f.seekg(0, std::ios::beg);
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  if (size > 0) f.read(reinterpret_cast<char*>(bytes.data()), size);
  VD_CHECK(f.good() || size == 0, "safetensors: reading " << path << " failed");
  return parse_safetensors(bytes, path);
}

}  // namespace vd
