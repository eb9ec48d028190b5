// data/image.cpp: image decode/encode through stb (the one translation unit
// that holds the stb_image and stb_image_write implementations) and separable
// resampling. Safe to call from many threads: stb v2.27 keeps its failure
// reason thread-local, and files are read here, not by stb.
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "data/image.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "data/error.h"

namespace vd::data {

namespace {
// stb_image 2.27 (Debian's libstb) writes past its 257-entry Huffman size
// table when a JPEG's DHT segment declares more than 256 codes
// (stbi__build_huffman; found by `make fuzz`'s image target, see
// docs/RELIABILITY.md). A valid JPEG never does (ITU T.81 B.2.4.2: at most
// 256 values per table), so such files are refused here, before stb sees
// them. Returns "" or why the file is refused.
std::string check_jpeg_huffman_tables(const uint8_t* b, size_t n) {
  // stb tries every input that is not a PNG as a JPEG (it skips fill bytes
  // before the SOI marker too), so every such input is checked.
  if (n >= 4 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "";
  auto at = [&](size_t i) -> size_t { return i < n ? b[i] : 0; };  // stb reads 0 past the end
  // Every DHT marker (FF C4) of the file: entropy-coded data stuffs FF with
  // 00, so a valid file has FF C4 only at its DHT segments (progressive files
  // have some after the first scan). Each segment is read as stb reads it:
  // tables of 1 + 16 count bytes and their codes, while the length lasts.
  for (size_t i = 0; i + 1 < n; ++i) {
    if (b[i] != 0xFF || b[i + 1] != 0xC4) continue;
    long remaining = long(at(i + 2) << 8 | at(i + 3)) - 2;
    size_t t = i + 4;
    while (remaining > 0) {
      size_t codes = 0;
      for (size_t k = 1; k <= 16; ++k) codes += at(t + k);
      if (codes > 256)
        return "a Huffman table (DHT) declares " + std::to_string(codes) + " codes; a JPEG has at most 256";
      t += 17 + codes;
      remaining -= long(17 + codes);
    }
  }
  return "";
}
}  // namespace

Image decode_image_memory(const uint8_t* bytes, size_t size, int channels,
                          const std::string& name) {
  const std::string bad = check_jpeg_huffman_tables(bytes, size);
  if (!bad.empty())
    fail(name, "cannot decode image: " + bad + " (file has " + std::to_string(size) + " bytes)",
         "the frame is corrupt; re-extract this video with tools/prepare_frames.py, or set on_corrupt = skip");
  int w = 0, h = 0, c = 0;
  uint8_t* p = stbi_load_from_memory(bytes, int(size), &w, &h, &c, channels);
  if (!p) {
    const char* why = stbi_failure_reason();
    fail(name, std::string("cannot decode image (expected a JPEG or PNG, stb_image says: ") +
                   (why ? why : "unknown") + ", file has " + std::to_string(size) + " bytes)",
         "the frame is truncated or corrupt; re-extract this video with tools/prepare_frames.py "
         "(delete its frame folder first), or set on_corrupt = skip");
  }
  Image img(h, w, channels);
  std::copy(p, p + size_t(w) * h * channels, img.px.begin());
  stbi_image_free(p);
  return img;
}

Image decode_image_file(const std::string& path, int channels) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, "cannot open image file (expected a readable JPEG/PNG frame)",
               "check that the frame folder exists and is readable");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_image_memory(bytes.data(), bytes.size(), channels, path);
}

void write_file(const std::string& path, const std::string& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail(path, std::string("cannot create the file: ") + std::strerror(errno),
               "check that the folder exists and is writable");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0;
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!ok || !closed) {
    std::remove(path.c_str());
    fail(path, "writing " + std::to_string(bytes.size()) + " bytes failed: " + std::strerror(ok ? errno : err),
         "is the disk full?");
  }
}

namespace {
// stb's encoders write through this callback into memory; the file is then
// written checked by write_file (stb's own file output ignores fwrite/fclose
// failures, so a full disk left truncated frames without an error).
void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}
}  // namespace

void write_png(const std::string& path, const Image& img) {
  std::string bytes;
  if (!stbi_write_png_to_func(append_bytes, &bytes, img.W, img.H, img.C, img.px.data(), img.W * img.C))
    fail(path, "cannot encode PNG (" + std::to_string(img.W) + "x" + std::to_string(img.H) + "x" +
                   std::to_string(img.C) + ")");
  write_file(path, bytes);
}

void write_jpeg(const std::string& path, const Image& img, int quality) {
  std::string bytes;
  if (!stbi_write_jpg_to_func(append_bytes, &bytes, img.W, img.H, img.C, img.px.data(), quality))
    fail(path, "cannot encode JPEG (" + std::to_string(img.W) + "x" + std::to_string(img.H) + "x" +
                   std::to_string(img.C) + ")");
  write_file(path, bytes);
}

AxisResampler make_resampler(double start, double length, int src_n, int dst_n, bool reverse) {
  if (dst_n <= 0 || src_n <= 0 || !(length > 0))
    fail("make_resampler", "expected positive sizes, got src " + std::to_string(src_n) + ", dst " +
                               std::to_string(dst_n) + ", window " + std::to_string(length));
  AxisResampler r;
  r.out = dst_n;
  r.first.resize(dst_n);
  r.count.resize(dst_n);
  const double scale = length / dst_n;  // source pixels per output pixel
  auto clamp = [&](long i) { return int(std::min<long>(std::max<long>(i, 0), src_n - 1)); };
  for (int o = 0; o < dst_n; ++o) {
    r.first[o] = int(r.index.size());
    if (scale > 1.0) {  // area: overlap of [lo, hi) with each source pixel
      const double lo = start + o * scale, hi = lo + scale;
      for (long i = long(std::floor(lo)); i < long(std::ceil(hi)); ++i) {
        double overlap = std::min<double>(hi, i + 1) - std::max<double>(lo, i);
        if (overlap <= 1e-9) continue;
        r.index.push_back(clamp(i));
        r.weight.push_back(float(overlap / scale));
      }
    } else {  // bilinear, half-pixel centres
      const double c = start + (o + 0.5) * scale - 0.5;
      const long i0 = long(std::floor(c));
      const double f = c - i0;
      r.index.push_back(clamp(i0));
      r.weight.push_back(float(1.0 - f));
      if (f > 1e-9) {
        r.index.push_back(clamp(i0 + 1));
        r.weight.push_back(float(f));
      }
    }
    r.count[o] = int(r.index.size()) - r.first[o];
  }
  if (reverse) {
    std::reverse(r.first.begin(), r.first.end());
    std::reverse(r.count.begin(), r.count.end());
  }
  return r;
}

namespace {

// Horizontal pass for rows y_lo..y_hi into rows [y_hi - y_lo + 1, rx.out, C];
// C is a template parameter so the channel loop unrolls.
template <int C>
void resample_rows(const uint8_t* src, int W, int y_lo, int y_hi, const AxisResampler& rx, float* rows) {
  const int OW = rx.out;
  for (int y = y_lo; y <= y_hi; ++y) {
    const uint8_t* s = src + size_t(y) * W * C;
    float* d = rows + size_t(y - y_lo) * OW * C;
    for (int o = 0; o < OW; ++o) {
      float acc[C] = {};
      const int end = rx.first[o] + rx.count[o];
      for (int k = rx.first[o]; k < end; ++k) {
        const uint8_t* p = s + size_t(rx.index[k]) * C;
        const float w = rx.weight[k];
        for (int c = 0; c < C; ++c) acc[c] += w * p[c];
      }
      for (int c = 0; c < C; ++c) d[size_t(o) * C + c] = acc[c];
    }
  }
}

}  // namespace

void resample(const uint8_t* src, int H, int W, int C, const AxisResampler& ry,
              const AxisResampler& rx, float* dst) {
  // Rows of the source that the vertical pass reads.
  const int y_lo = *std::min_element(ry.index.begin(), ry.index.end());
  const int y_hi = *std::max_element(ry.index.begin(), ry.index.end());
  const size_t row_len = size_t(rx.out) * C;
  std::vector<float> rows(size_t(y_hi - y_lo + 1) * row_len);  // [rows, rx.out, C]
  switch (C) {
    case 1: resample_rows<1>(src, W, y_lo, y_hi, rx, rows.data()); break;
    case 2: resample_rows<2>(src, W, y_lo, y_hi, rx, rows.data()); break;
    case 3: resample_rows<3>(src, W, y_lo, y_hi, rx, rows.data()); break;
    case 4: resample_rows<4>(src, W, y_lo, y_hi, rx, rows.data()); break;
    default: fail("resample", "expected 1 to 4 channels, got " + std::to_string(C));
  }
  // Vertical pass in blocks of 8 with fixed-length inner loops, which the
  // compiler vectorises at -O2 (a plain loop over j is left scalar there).
  constexpr size_t B = 8;
  for (int o = 0; o < ry.out; ++o) {
    float* d = dst + size_t(o) * row_len;
    const int k0 = ry.first[o], k1 = ry.first[o] + ry.count[o];
    size_t j = 0;
    for (; j + B <= row_len; j += B) {
      float acc[B] = {};
      for (int k = k0; k < k1; ++k) {
        const float w = ry.weight[k];
        const float* s = rows.data() + size_t(ry.index[k] - y_lo) * row_len + j;
        for (size_t u = 0; u < B; ++u) acc[u] += w * s[u];
      }
      for (size_t u = 0; u < B; ++u) d[j + u] = acc[u];
    }
    for (; j < row_len; ++j) {
      float acc = 0;
      for (int k = k0; k < k1; ++k) acc += ry.weight[k] * rows[size_t(ry.index[k] - y_lo) * row_len + j];
      d[j] = acc;
    }
  }
}

Image resize(const Image& src, int h, int w) {
  AxisResampler ry = make_resampler(0, src.H, src.H, h), rx = make_resampler(0, src.W, src.W, w);
  std::vector<float> f(size_t(h) * w * src.C);
  resample(src.px.data(), src.H, src.W, src.C, ry, rx, f.data());
  Image out(h, w, src.C);
  for (size_t i = 0; i < f.size(); ++i)
    out.px[i] = uint8_t(std::min(255.f, std::max(0.f, std::round(f[i]))));
  return out;
}

Image resize_short_side(const Image& src, int short_side) {
  if (std::min(src.H, src.W) == short_side) return src;
  int h, w;
  if (src.H <= src.W) {
    h = short_side;
    w = std::max(1, int(std::lround(double(src.W) * short_side / src.H)));
  } else {
    w = short_side;
    h = std::max(1, int(std::lround(double(src.H) * short_side / src.W)));
  }
  return resize(src, h, w);
}

}  // namespace vd::data
