// Checkpoint files (see checkpoint.h; byte format in docs/CHECKPOINT.md):
// CRC-32, the writer (atomic: temp file, fsync, rename), the bounds-checked
// reader, and the module/optimizer glue.
#include "layers/checkpoint.h"

#include "layers/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "autograd/node.h"
#include "core/ops.h"
#include "layers/optim/optimizer.h"

namespace vd {

// --- CRC-32 (reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF) ---

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

namespace {

constexpr char kMagic[8] = {'V', 'I', 'D', 'I', 'D', 'I', 'C', 'K'};
constexpr size_t kHeaderBytes = 48;
constexpr int kMaxDims = 8;
constexpr size_t kMaxName = 4096;
enum Code : uint8_t { kF32 = 0, kF64 = 1, kBF16 = 2, kI64 = 3, kText = 4 };

uint8_t code_of(DType t) { return t == DType::F32 ? kF32 : t == DType::F64 ? kF64 : kBF16; }
DType dtype_of_code(uint8_t c) { return c == kF32 ? DType::F32 : c == kF64 ? DType::F64 : DType::BF16; }
uint64_t code_size(uint8_t c) { return c == kF32 ? 4 : c == kBF16 ? 2 : c == kText ? 1 : 8; }

void check_little_endian() {
  uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  VD_CHECK(b == 1, "checkpoint: this host is big-endian; the format is little-endian only");
}

void put(std::string& s, uint64_t v, int nbytes) {
  for (int k = 0; k < nbytes; ++k) s.push_back(char((v >> (8 * k)) & 0xFF));
}

// One table entry: a tensor, an i64 scalar or a text.
struct Item {
  std::string name;
  uint8_t code = kF32;
  Shape shape;
  Tensor tensor;     // kF32 / kF64 / kBF16
  std::string bytes;  // kI64 (8 bytes) and kText
  uint64_t offset = 0, nbytes = 0;
};

Item tensor_item(const std::string& name, const Tensor& t) {
  Item it;
  it.name = name;
  it.code = code_of(t.dtype());
  it.shape = t.shape();
  it.tensor = t;
  it.nbytes = uint64_t(t.numel()) * code_size(it.code);
  return it;
}

Item bytes_item(const std::string& name, uint8_t code, std::string bytes) {
  Item it;
  it.name = name;
  it.code = code;
  if (code == kText) it.shape = {int64_t(bytes.size())};
  it.nbytes = bytes.size();
  it.bytes = std::move(bytes);
  return it;
}

std::string i64_bytes(uint64_t v) {
  std::string s;
  put(s, v, 8);
  return s;
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& ck) {
  check_little_endian();
  std::vector<Item> items;
  for (const auto& [n, t] : ck.model) items.push_back(tensor_item("model/" + n, t));
  for (const auto& [n, t] : ck.optimizer) items.push_back(tensor_item("optim/" + n, t));
  items.push_back(bytes_item("meta/step", kI64, i64_bytes(uint64_t(ck.meta.step))));
  items.push_back(bytes_item("meta/seed", kI64, i64_bytes(ck.meta.seed)));
  items.push_back(bytes_item("meta/config", kText, ck.meta.config));
  for (const auto& [k, v] : ck.meta.extra) items.push_back(bytes_item("meta/extra/" + k, kText, v));

  std::string table;
  uint64_t payload = 0;
  std::set<std::string> names;
  for (Item& it : items) {
    VD_CHECK(!it.name.empty() && it.name.size() <= kMaxName && names.insert(it.name).second,
             "checkpoint: entry name '" << it.name << "' is empty, longer than " << kMaxName
                                        << " bytes or repeated");
    VD_CHECK(it.shape.size() <= size_t(kMaxDims),
             "checkpoint: entry '" << it.name << "' has rank " << it.shape.size() << ", at most "
                                   << kMaxDims << " is supported");
    it.offset = payload;
    payload += (it.nbytes + 7) / 8 * 8;  // entries start on 8-byte boundaries
    put(table, it.name.size(), 2);
    table += it.name;
    put(table, it.code, 1);
    put(table, it.shape.size(), 1);
    for (int64_t d : it.shape) put(table, uint64_t(d), 8);
    put(table, it.offset, 8);
    put(table, it.nbytes, 8);
  }

  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  VD_CHECK(fd >= 0, "checkpoint: cannot create " << tmp << ": " << std::strerror(errno)
                                                 << "; hint: does the folder exist and is it writable?");
  try {
    std::string header(kHeaderBytes, '\0');
    write_all(fd, header.data(), header.size(), tmp, "checkpoint");
    write_all(fd, table.data(), table.size(), tmp, "checkpoint");
    uint32_t payload_crc = 0;
    const char zeros[8] = {};
    for (const Item& it : items) {
      const void* data = it.bytes.data();
      Tensor h;
      if (it.tensor.defined()) {
        h = ops::contiguous(ops::to_device(it.tensor, Device::cpu()));
        data = h.data_ptr();
      }
      write_all(fd, data, it.nbytes, tmp, "checkpoint");
      payload_crc = crc32(data, it.nbytes, payload_crc);
      size_t pad = size_t((8 - it.nbytes % 8) % 8);
      write_all(fd, zeros, pad, tmp, "checkpoint");
      payload_crc = crc32(zeros, pad, payload_crc);
    }
    header.clear();
    header.append(kMagic, 8);
    put(header, kCheckpointVersion, 4);
    put(header, items.size(), 4);
    put(header, table.size(), 8);
    put(header, payload, 8);
    put(header, crc32(table.data(), table.size()), 4);
    put(header, payload_crc, 4);
    put(header, 0, 4);  // reserved
    put(header, crc32(header.data(), header.size()), 4);
    VD_CHECK(::pwrite(fd, header.data(), header.size(), 0) == ssize_t(header.size()),
             "checkpoint: writing the header of " << tmp << " failed: " << std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  publish_file(fd, tmp, path, "checkpoint");
}

namespace {

// Bounds-checked little-endian cursor over the file's bytes.
class Reader {
 public:
  Reader(const std::string& path, const std::vector<unsigned char>& bytes, size_t pos, size_t end)
      : path_(path), bytes_(bytes), pos_(pos), end_(end) {}
  uint64_t uint(int nbytes, const char* what) {
    need(size_t(nbytes), what);
    uint64_t v = 0;
    for (int k = 0; k < nbytes; ++k) v |= uint64_t(bytes_[pos_ + size_t(k)]) << (8 * k);
    pos_ += size_t(nbytes);
    return v;
  }
  std::string text(size_t n, const char* what) {
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }

 private:
  void need(size_t n, const char* what) const {
    VD_CHECK(end_ - pos_ >= n, "checkpoint " << path_ << ": corrupt table: expected " << what
                                             << " at byte " << pos_ << ", but the table ends at byte "
                                             << end_);
  }
  const std::string& path_;
  const std::vector<unsigned char>& bytes_;
  size_t pos_, end_;
};

std::vector<unsigned char> read_file(const std::string& path) {
  struct stat st {};
  VD_CHECK(::stat(path.c_str(), &st) == 0, "checkpoint: cannot open " << path << ": " << std::strerror(errno)
                                                                      << "; hint: check the path");
  if (S_ISDIR(st.st_mode))
    throw UsageError("checkpoint " + path + ": expected a file, got a folder; hint: name the checkpoint file "
                     "inside it, e.g. " + path + "/checkpoint.vdc");
  std::ifstream f(path, std::ios::binary);
  VD_CHECK(f.good(), "checkpoint: cannot open " << path << "; hint: check the path");
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  VD_CHECK(size >= 0, "checkpoint: cannot read " << path << " (is it a folder?)");
  f.seekg(0, std::ios::beg);
  std::vector<unsigned char> bytes(static_cast<size_t>(size));
  if (size > 0) f.read(reinterpret_cast<char*>(bytes.data()), size);
  VD_CHECK(f.good() || size == 0, "checkpoint: reading " << path << " failed");
  return bytes;
}

// Index of the first NaN or infinity among `n` values of dtype `code` at
// `src`, or -1 when all are finite.
int64_t first_non_finite(const unsigned char* src, uint64_t n, uint8_t code) {
  for (uint64_t i = 0; i < n; ++i) {
    bool finite;
    if (code == kF32) {
      float v;
      std::memcpy(&v, src + 4 * i, 4);
      finite = std::isfinite(v);
    } else if (code == kF64) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      finite = std::isfinite(v);
    } else {  // bf16: the exponent bits all set is inf or NaN
      const unsigned hi = src[2 * i + 1], lo = src[2 * i];
      finite = ((hi << 8 | lo) & 0x7F80u) != 0x7F80u;
    }
    if (!finite) return int64_t(i);
  }
  return -1;
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path) { return parse_checkpoint(read_file(path), path); }

Checkpoint parse_checkpoint(const std::vector<unsigned char>& bytes, const std::string& path) {
  check_little_endian();
  const uint64_t size = bytes.size();
  VD_CHECK(size >= kHeaderBytes, "checkpoint " << path << ": truncated: " << size
                                               << " bytes, the header alone needs " << kHeaderBytes);
  VD_CHECK(std::memcmp(bytes.data(), kMagic, 8) == 0,
           "checkpoint " << path << ": expected magic \"VIDIDICK\"; hint: not a vididi checkpoint");
  Reader h(path, bytes, 8, kHeaderBytes);
  uint64_t version = h.uint(4, "version"), count = h.uint(4, "entry count");
  uint64_t table_bytes = h.uint(8, "table size"), payload_bytes = h.uint(8, "payload size");
  uint32_t table_crc = uint32_t(h.uint(4, "table CRC")), payload_crc = uint32_t(h.uint(4, "payload CRC"));
  h.uint(4, "reserved");
  uint32_t header_crc = uint32_t(h.uint(4, "header CRC"));
  VD_CHECK(crc32(bytes.data(), kHeaderBytes - 4) == header_crc,
           "checkpoint " << path << ": corrupt header (CRC mismatch)");
  VD_CHECK(version == kCheckpointVersion, "checkpoint " << path << ": expected format version "
                                                        << kCheckpointVersion << ", got " << version
                                                        << "; hint: written by another release");
  VD_CHECK(table_bytes <= size && payload_bytes <= size &&
               kHeaderBytes + table_bytes + payload_bytes == size,
           "checkpoint " << path << ": expected " << kHeaderBytes << " + " << table_bytes << " + "
                         << payload_bytes << " bytes (header + table + payload), the file has "
                         << size << "; hint: the file is truncated or was not fully written");
  const unsigned char* table = bytes.data() + kHeaderBytes;
  const unsigned char* payload = table + table_bytes;
  VD_CHECK(crc32(table, table_bytes) == table_crc,
           "checkpoint " << path << ": corrupt table (CRC mismatch)");
  VD_CHECK(crc32(payload, payload_bytes) == payload_crc,
           "checkpoint " << path << ": corrupt payload (CRC mismatch); hint: the file was damaged");

  Checkpoint ck;
  bool has_step = false, has_seed = false, has_config = false;
  std::set<std::string> names;
  Reader r(path, bytes, kHeaderBytes, kHeaderBytes + table_bytes);
  for (uint64_t e = 0; e < count; ++e) {
    size_t name_len = size_t(r.uint(2, "name length"));
    std::string name = r.text(name_len, "entry name");
    uint8_t code = uint8_t(r.uint(1, "dtype"));
    int ndim = int(r.uint(1, "rank"));
    VD_CHECK(!name.empty() && names.insert(name).second && code <= kText && ndim <= kMaxDims,
             "checkpoint " << path << ": corrupt entry " << e << " ('" << name << "', dtype " << int(code)
                           << ", rank " << ndim << ")");
    Shape shape;
    uint64_t numel = 1;
    for (int d = 0; d < ndim; ++d) {
      uint64_t dim = r.uint(8, "dimension");
      VD_CHECK(dim < (uint64_t(1) << 48) && (dim == 0 || numel <= (uint64_t(1) << 62) / dim),
               "checkpoint " << path << ": entry '" << name << "' has an impossible dimension " << dim);
      shape.push_back(int64_t(dim));
      numel *= dim;
    }
    uint64_t offset = r.uint(8, "offset"), nbytes = r.uint(8, "byte count");
    VD_CHECK(nbytes == numel * code_size(code) && offset <= payload_bytes &&
                 nbytes <= payload_bytes - offset && (code != kI64 || ndim == 0),
             "checkpoint " << path << ": entry '" << name << "' (shape " << shape_str(shape)
                           << ") claims bytes [" << offset << ", +" << nbytes
                           << ") of a payload of " << payload_bytes);
    const unsigned char* src = payload + offset;
    auto section = [&](const std::string& prefix) {
      return name.compare(0, prefix.size(), prefix) == 0 ? name.substr(prefix.size()) : std::string();
    };
    if (code <= kBF16) {
      const int64_t bad = first_non_finite(src, numel, code);
      if (bad >= 0)
        throw UsageError("checkpoint " + path + ": tensor '" + name + "' (shape " + shape_str(shape) +
                         ") holds NaN or inf at element " + std::to_string(bad) +
                         "; expected finite values; hint: the run that wrote it diverged, use an earlier "
                         "checkpoint");
      Tensor t = Tensor::empty(shape, dtype_of_code(code));
      if (nbytes) std::memcpy(t.data_ptr(), src, nbytes);
      std::string key;
      if (!(key = section("model/")).empty())
        ck.model.emplace_back(key, t);
      else if (!(key = section("optim/")).empty())
        ck.optimizer.emplace_back(key, t);
      else
        VD_FAIL("checkpoint " << path << ": unexpected tensor entry '" << name << "'");
      continue;
    }
    std::string value(reinterpret_cast<const char*>(src), size_t(nbytes));
    uint64_t v = 0;
    if (code == kI64)
      for (int k = 0; k < 8; ++k) v |= uint64_t(src[k]) << (8 * k);
    if (name == "meta/step" && code == kI64) {
      // Steps are counted in int64 and logged as JSON numbers: beyond 2^53 a
      // step is no longer exact, and a negative one is a damaged file.
      if (v >= (uint64_t(1) << 53))
        throw UsageError("checkpoint " + path + ": meta/step is " + std::to_string(int64_t(v)) +
                         "; expected a step in [0, 2^53); hint: the file is damaged");
      ck.meta.step = int64_t(v), has_step = true;
    } else if (name == "meta/seed" && code == kI64) {
      ck.meta.seed = v, has_seed = true;
    } else if (name == "meta/config" && code == kText) {
      ck.meta.config = value, has_config = true;
    } else if (!section("meta/extra/").empty() && code == kText) {
      ck.meta.extra[section("meta/extra/")] = value;
    } else {
      VD_FAIL("checkpoint " << path << ": unexpected entry '" << name << "' of dtype code "
                            << int(code));
    }
  }
  VD_CHECK(r.pos() == kHeaderBytes + table_bytes,
           "checkpoint " << path << ": corrupt table: " << count << " entries end at byte " << r.pos()
                         << ", the table at byte " << kHeaderBytes + table_bytes);
  VD_CHECK(has_step && has_seed && has_config,
           "checkpoint " << path << ": missing metadata (meta/step, meta/seed, meta/config)");
  return ck;
}

void save_checkpoint(const std::string& path, const nn::Module& model,
                     const optim::Optimizer* optimizer, const CheckpointMeta& meta) {
  Checkpoint ck;
  ck.model = model.state_dict();
  if (optimizer) ck.optimizer = optimizer->state_dict();
  ck.meta = meta;
  write_checkpoint(path, ck);
}

CheckpointMeta load_checkpoint(const std::string& path, nn::Module& model,
                               optim::Optimizer* optimizer) {
  Checkpoint ck = read_checkpoint(path);
  autograd::NoGradGuard guard;
  nn::load_named(model.state_dict(), ck.model, true, ("load_checkpoint " + path + " (model)").c_str());
  if (optimizer) {
    try {
      optimizer->load_state_dict(ck.optimizer);
    } catch (const Error& e) {
      VD_FAIL("load_checkpoint " << path << " (optimizer): " << e.what());
    }
  }
  return ck.meta;
}

}  // namespace vd
