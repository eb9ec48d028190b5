// vididi/cli/eval_outputs.cpp: neighbour lists and pictures, R@k plots,
// per-class accuracy and confusion matrices for evaluation run directories
// (see eval_outputs.h).
#include "vididi/cli/eval_outputs.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "vididi/cli/report.h"
#include "vididi/draw.h"
#include "vididi/files.h"
#include "vididi/run_dir.h"

namespace vd::cli {

namespace {
// A CSV field: quoted when it holds a comma or a quote.
std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
std::string class_of(const eval::VideoFeatures& f, size_t v) {
  const int l = f.labels[v];
  return l >= 0 && size_t(l) < f.class_names.size() ? f.class_names[size_t(l)] : std::to_string(l);
}
std::string name_of(const eval::VideoFeatures& f, size_t v) {
  return v < f.names.size() && !f.names[v].empty() ? f.names[v] : "video " + std::to_string(v);
}
std::string fixed(double v, int digits) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}
// The last path component (a frame folder's video name).
std::string base(const std::string& p) {
  const size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
}  // namespace

std::string write_neighbours(const std::string& dir, const eval::VideoFeatures& train, const eval::VideoFeatures& test,
                             int k) {
  const auto nn = eval::nearest_neighbours(train, test, k);
  std::ostringstream js, cs;
  js << "{\"k\": " << k << ", \"queries\": [\n";
  cs << "query,query_name,query_class,rank,neighbour,neighbour_name,neighbour_class,similarity,same_class\n";
  for (size_t q = 0; q < nn.size(); ++q) {
    js << (q ? ",\n" : "") << " {\"query\": " << q << ", \"name\": " << vididi::json_string(name_of(test, q))
       << ", \"class\": " << vididi::json_string(class_of(test, q)) << ", \"neighbours\": [";
    for (size_t r = 0; r < nn[q].size(); ++r) {
      const size_t g = size_t(nn[q][r].index);
      const bool same = train.labels[g] == test.labels[q];
      js << (r ? ", " : "") << "{\"rank\": " << r + 1 << ", \"index\": " << g << ", \"name\": " << vididi::json_string(name_of(train, g))
         << ", \"class\": " << vididi::json_string(class_of(train, g)) << ", \"similarity\": " << fixed(nn[q][r].similarity, 6)
         << ", \"same_class\": " << (same ? "true" : "false") << "}";
      cs << q << "," << csv(name_of(test, q)) << "," << csv(class_of(test, q)) << "," << r + 1 << "," << g << ","
         << csv(name_of(train, g)) << "," << csv(class_of(train, g)) << "," << fixed(nn[q][r].similarity, 6) << ","
         << (same ? 1 : 0) << "\n";
    }
    js << "]}";
  }
  js << "\n]}\n";
  vididi::write_text(dir + "/neighbours.json", js.str());
  vididi::write_text(dir + "/neighbours.csv", cs.str());
  return "Each test video's " + std::to_string(k) +
         " nearest train videos (rank, similarity, class): `neighbours.json`, `neighbours.csv`.\n";
}

void write_recall_png(const std::string& path, const eval::RecallResult& r, const std::string& title) {
  vididi::Series s;
  s.name = "R@k";
  for (size_t i = 0; i < r.ks.size(); ++i) s.x.push_back(r.ks[i]), s.y.push_back(100 * r.recall[i]);
  write_curve(path, {s}, title, "k", "R@k (%)");
}

bool write_neighbour_picture(const std::string& path, const eval::VideoFeatures& train, const eval::VideoFeatures& test,
                             const data::VideoSource* train_frames, const data::VideoSource* test_frames, int queries,
                             int k) {
  if (!train_frames || !test_frames || train_frames->size() != size_t(train.videos) ||
      test_frames->size() != size_t(test.videos) || queries < 1 || test.videos < 1)
    return false;
  const auto nn = eval::nearest_neighbours(train, test, k);
  auto middle = [](const data::VideoSource& src, size_t v) {
    const data::Clip c = src.load(v, {src.num_frames(v) / 2});
    data::Image img(c.H, c.W, 3);
    img.px.assign(c.px.begin(), c.px.begin() + long(c.frame_size()));
    return img;
  };
  std::vector<std::vector<vididi::Tile>> rows;
  const int n = int(std::min<int64_t>(queries, test.videos));
  for (int i = 0; i < n; ++i) {
    const size_t q = size_t(int64_t(i) * test.videos / n);
    std::vector<vididi::Tile> row;
    vididi::Tile t;
    t.image = middle(*test_frames, q);
    t.caption = {"query: " + class_of(test, q), base(name_of(test, q))};
    t.bordered = true;
    row.push_back(t);
    for (size_t r = 0; r < nn[q].size(); ++r) {
      const size_t g = size_t(nn[q][r].index);
      vididi::Tile u;
      u.image = middle(*train_frames, g);
      u.caption = {"#" + std::to_string(r + 1) + " sim " + fixed(nn[q][r].similarity, 3), class_of(train, g)};
      u.bordered = true;
      const bool same = train.labels[g] == test.labels[q];
      const unsigned char green[3] = {0, 170, 0}, red[3] = {210, 0, 0};
      std::copy(same ? green : red, (same ? green : red) + 3, u.border);
      row.push_back(u);
    }
    rows.push_back(row);
  }
  vididi::write_tile_rows(path, rows, 96,
                          "queries (test, left) and their nearest train videos: green = same class, red = not");
  return true;
}

std::string write_class_outputs(const std::string& dir, const std::vector<int>& labels, const std::vector<int>& predicted,
                                const std::vector<std::string>& class_names, int64_t classes, const std::string& title) {
  const std::vector<int64_t> m = eval::confusion_matrix(labels, predicted, classes);
  const std::vector<double> acc = eval::per_class_accuracy(m, classes);
  std::vector<std::string> names;
  for (int64_t k = 0; k < classes; ++k) names.push_back(size_t(k) < class_names.size() ? class_names[size_t(k)] : std::to_string(k));
  std::ostringstream cs;
  cs << "class,name,videos,correct,accuracy\n";
  std::vector<std::vector<std::string>> rows;
  for (int64_t k = 0; k < classes; ++k) {
    int64_t n = 0;
    for (int64_t j = 0; j < classes; ++j) n += m[size_t(k * classes + j)];
    const int64_t ok = m[size_t(k * classes + k)];
    cs << k << "," << csv(names[size_t(k)]) << "," << n << "," << ok << "," << (n ? fixed(acc[size_t(k)], 6) : "") << "\n";
    rows.push_back({names[size_t(k)], std::to_string(n), std::to_string(ok), n ? fixed(100 * acc[size_t(k)], 1) : "n/a"});
  }
  vididi::write_text(dir + "/per_class.csv", cs.str());
  vididi::write_confusion_png(dir + "/confusion.png", m, names, title);
  return "Per-class video top-1 (`per_class.csv`; the confusion matrix is `confusion.png`):\n\n" +
         markdown_table({"class", "test videos", "correct", "accuracy %"}, rows);
}

void write_curve(const std::string& path, const std::vector<vididi::Series>& series, const std::string& title,
                 const std::string& xlabel, const std::string& ylabel) {
  vididi::PlotOptions o;
  o.title = title;
  o.xlabel = xlabel;
  o.ylabel = ylabel;
  vididi::write_line_plot(path, series, o);
}

}  // namespace vd::cli
