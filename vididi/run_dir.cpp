// vididi/run_dir.cpp: run-directory files, the JSONL metrics log, the loss
// plot and the progress line (see run_dir.h).
#include "vididi/run_dir.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/backend.h"
#include "core/errors.h"
#include "vididi/plot.h"

#if VD_CUDA
#include <cuda_runtime.h>
#include <cudnn.h>
#endif

namespace vd::vididi {

namespace {

void make_dirs(const std::string& dir) {
  std::string part;
  std::stringstream ss(dir);
  std::string item;
  if (!dir.empty() && dir[0] == '/') part = "/";
  while (std::getline(ss, item, '/')) {
    if (item.empty()) continue;
    part += item + "/";
    ::mkdir(part.c_str(), 0755);
  }
  struct stat st {};
  VD_CHECK(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode),
           "run directory: could not create '" << dir << "'; hint: check permissions and the path");
}

std::string num(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "\"nan\"" : (v > 0 ? "\"inf\"" : "\"-inf\"");
  char b[40];
  std::snprintf(b, sizeof(b), "%.9g", v);
  return b;
}

std::string hms(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = long(s + 0.5);
  char b[32];
  std::snprintf(b, sizeof(b), "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return b;
}

}  // namespace

std::string code_version() {
  FILE* p = ::popen("git describe --always --dirty 2>/dev/null", "r");
  if (!p) return "unknown";
  char buf[256] = {0};
  std::string out = std::fgets(buf, sizeof(buf), p) ? buf : "";
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

std::string cuda_versions() {
#if VD_CUDA
  if (!cuda::is_available()) return "none (no CUDA device)";
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  std::ostringstream os;
  os << "cuda " << rt / 1000 << "." << (rt % 1000) / 10 << " / cudnn " << cudnnGetVersion() << " / "
     << cuda::device_name(0);
  return os.str();
#else
  return "none (built without CUDA)";
#endif
}

void write_run_files(const std::string& dir, const std::string& config_text, uint64_t seed,
                     const Device& device, const std::string& extra_json) {
  make_dirs(dir);
  {
    std::ofstream f(dir + "/config.txt");
    f << "# fully resolved configuration of this run (vididi pretraining)\n" << config_text;
    VD_CHECK(f.good(), "run directory: could not write " << dir << "/config.txt");
  }
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::ofstream f(dir + "/run.json");
  f << "{\n  \"seed\": " << seed << ",\n  \"code_version\": \"" << code_version() << "\",\n  \"device\": \""
    << device.str() << "\",\n  \"cuda\": \"" << cuda_versions() << "\",\n  \"started\": \"" << when << "\"";
  if (!extra_json.empty()) f << ",\n  " << extra_json;
  f << "\n}\n";
  VD_CHECK(f.good(), "run directory: could not write " << dir << "/run.json");
}

std::string to_json(const StepRecord& r) {
  std::ostringstream os;
  os << "{\"step\": " << r.step << ", \"epoch\": " << r.epoch << ", \"pair\": \"" << r.pair
     << "\", \"loss\": " << num(r.loss) << ", \"lr\": " << num(r.lr);
  if (r.momentum != 0) os << ", \"momentum\": " << num(r.momentum);
  for (const auto& kv : r.terms) os << ", \"" << kv.first << "\": " << num(kv.second);
  os << ", \"seconds\": " << num(r.seconds) << "}";
  return os.str();
}

std::vector<StepRecord> read_metrics(const std::string& path) {
  std::vector<StepRecord> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    StepRecord r;
    size_t i = line.find('{');
    if (i == std::string::npos) continue;
    // Flat objects of "key": number | "string" pairs, as to_json writes them.
    while ((i = line.find('"', i)) != std::string::npos) {
      size_t k1 = line.find('"', i + 1);
      if (k1 == std::string::npos) break;
      std::string key = line.substr(i + 1, k1 - i - 1);
      size_t v = line.find_first_not_of(" :", k1 + 1);
      if (v == std::string::npos) break;
      std::string val;
      if (line[v] == '"') {
        size_t e = line.find('"', v + 1);
        val = line.substr(v + 1, e - v - 1);
        i = e + 1;
      } else {
        size_t e = line.find_first_of(",}", v);
        val = line.substr(v, e - v);
        i = e;
      }
      double d = val == "nan" ? NAN : val == "inf" ? INFINITY : val == "-inf" ? -INFINITY : std::atof(val.c_str());
      if (key == "step") r.step = int64_t(d);
      else if (key == "epoch") r.epoch = int64_t(d);
      else if (key == "pair") r.pair = val;
      else if (key == "loss") r.loss = d;
      else if (key == "lr") r.lr = d;
      else if (key == "momentum") r.momentum = d;
      else if (key == "seconds") r.seconds = d;
      else r.terms.emplace_back(key, d);
    }
    out.push_back(r);
  }
  return out;
}

void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::vector<std::string> keep;
  std::string line;
  while (std::getline(in, line)) {
    size_t k = line.find("\"step\":");
    if (k != std::string::npos && std::atoll(line.c_str() + k + 7) < step) keep.push_back(line);
  }
  in.close();
  std::ofstream f(path, std::ios::trunc);
  for (const auto& l : keep) f << l << "\n";
}

void plot_losses(const std::string& path, const std::vector<StepRecord>& records) {
  if (records.empty()) return;
  std::vector<Series> series(1);
  series[0].name = "loss";
  bool positive = true;
  for (const StepRecord& r : records) {
    series[0].x.push_back(double(r.step));
    series[0].y.push_back(r.loss);
    positive = positive && r.loss > 0;
    for (const auto& kv : r.terms) {
      size_t k = 1;
      while (k < series.size() && series[k].name != kv.first) ++k;
      if (k == series.size()) series.push_back({kv.first, {}, {}});
      series[k].x.push_back(double(r.step));
      series[k].y.push_back(kv.second);
      positive = positive && kv.second > 0;
    }
  }
  PlotOptions o;
  o.title = "pretraining loss";
  o.ylabel = "value";
  o.log_y = positive;
  write_line_plot(path, series, o);
}

std::string progress_line(const StepRecord& r, int64_t total, double clips_per_s, double eta) {
  const int width = 20;
  int filled = total > 0 ? int(double(r.step + 1) / double(total) * width) : 0;
  std::ostringstream os;
  os << "step " << r.step + 1 << "/" << total << " [" << std::string(size_t(filled), '=')
     << std::string(size_t(width - filled), ' ') << "] " << (total > 0 ? (r.step + 1) * 100 / total : 0)
     << "% pair " << r.pair << " | loss " << num(r.loss);
  for (const auto& kv : r.terms) os << " " << kv.first << " " << num(kv.second);
  os << " | lr " << num(r.lr) << " | " << num(clips_per_s) << " clips/s | ETA " << hms(eta);
  return os.str();
}

}  // namespace vd::vididi
