// tests/fuzz/fuzz_readers.h: the fuzz entry points of vididi's readers of
// untrusted bytes, one function each: a checkpoint (parse_checkpoint), a
// config text (TrainConfig::parse = Settings::apply_text), a split file
// (read_video_list, read_ucf101_classes), a feature file (parse_features) and
// an image (decode_image_memory). Each returns true when the input was
// accepted, false when it was refused with the reader's own error type;
// anything else (a crash, a sanitizer report, another exception) is a bug.
// `why`, when given, receives the refusal's message.
// Used by the libFuzzer mains tests/fuzz/fuzz_*.cpp (make fuzz) and by the
// corpus replay tests/test_fuzz_corpus.cpp (make test). Not a test itself.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "core/errors.h"
#include "data/error.h"
#include "data/image.h"
#include "data/splits.h"
#include "layers/checkpoint.h"
#include "vididi/config/train_config.h"
#include "vididi/eval/retrieval.h"

namespace vd::fuzz {

inline bool checkpoint(const uint8_t* data, size_t size, std::string* why = nullptr) {
  try {
    parse_checkpoint(std::vector<unsigned char>(data, data + size), "fuzz.vdc");
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

inline bool settings(const uint8_t* data, size_t size, std::string* why = nullptr) {
  try {
    vididi::TrainConfig c;
    c.parse(std::string(reinterpret_cast<const char*>(data), size), "fuzz.cfg");
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

// The split readers take a path: the bytes go to a file of this process.
// Accepted = read_ucf101_classes accepts it (read_video_list runs too).
inline bool splits(const uint8_t* data, size_t size, std::string* why = nullptr) {
  const std::string path = "/tmp/vididi_fuzz_split_" + std::to_string(::getpid()) + ".txt";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  bool ok = true;
  try {
    data::read_video_list(path);
  } catch (const data::DataError&) {
  }
  try {
    data::read_ucf101_classes(path);
  } catch (const data::DataError& e) {
    if (why) *why = std::string(e.what()).replace(0, path.size(), "fuzz.txt");
    ok = false;
  }
  std::remove(path.c_str());
  return ok;
}

inline bool features(const uint8_t* data, size_t size, std::string* why = nullptr) {
  try {
    eval::parse_features(std::string(reinterpret_cast<const char*>(data), size), "fuzz.vdf");
    return true;
  } catch (const Error& e) {
    if (why) *why = e.what();
    return false;
  }
}

inline bool image(const uint8_t* data, size_t size, std::string* why = nullptr) {
  try {
    data::decode_image_memory(data, size, 3, "fuzz.img");
    return true;
  } catch (const data::DataError& e) {
    if (why) *why = e.what();
    return false;
  }
}

}  // namespace vd::fuzz
