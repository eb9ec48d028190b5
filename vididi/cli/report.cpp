// vididi/cli/report.cpp: the report.md writer (see report.h).
#include "vididi/cli/report.h"

#include <ctime>
#include <sstream>

#include "vididi/cli/common.h"
#include "vididi/files.h"

namespace vd::cli {

std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream os;
  os << "|";
  for (const auto& h : header) os << " " << h << " |";
  os << "\n|";
  for (size_t i = 0; i < header.size(); ++i) os << (i ? "---:|" : "---|");
  os << "\n";
  for (const auto& r : rows) {
    os << "|";
    for (const auto& c : r) os << " " << c << " |";
    os << "\n";
  }
  return os.str();
}

std::string command_line(const std::string& sub, const std::vector<std::string>& args) {
  std::string s = "vididi " + sub;
  for (const auto& a : args) s += " " + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
  return s;
}

std::string write_report(const std::string& dir, const Report& r) {
  std::ostringstream os;
  std::time_t now = std::time(nullptr);
  char when[64];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  os << "# " << r.title << "\n\nWritten " << when << ".\n\n";
  if (!r.command.empty()) os << "```\n" << r.command << "\n```\n\n";
  for (const auto& [heading, body] : r.sections) os << "## " << heading << "\n\n" << body << "\n";
  if (!r.images.empty()) {
    os << "## Curves\n\n";
    for (const auto& [caption, file] : r.images) os << "![" << caption << "](" << file << ")\n\n";
  }
  os << "## Configuration\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& [k, v] : r.config) rows.push_back({"`" + k + "`", v.empty() ? "\"\"" : "`" + v + "`"});
  os << markdown_table({"key", "value"}, rows) << "\n";
  os << "The same settings as a config file: `config.txt` (`vididi <command> --config config.txt`).\n\n";
  os << "## Versions and build\n\n";
  rows.clear();
  for (const auto& [k, v] : build_info()) rows.push_back({k, v});
  os << markdown_table({"item", "value"}, rows);
  const std::string path = dir + "/report.md";
  vididi::write_text(path, os.str());
  return path;
}

}  // namespace vd::cli
