// vididi/cli/report.h: report.md for a run directory: what ran (command,
// resolved configuration), with which code and build (build_info), the
// curves (PNG files in the same folder) and the results (markdown tables).
// Every subcommand that writes a run directory calls write_report last.
// Not here: drawing the PNGs (vididi/plot.h) or computing results.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "vididi/config/settings.h"

namespace vd::cli {

struct Report {
  std::string title;    // "vididi retrieve"
  std::string command;  // the command line that produced the run
  config::KeyValues config;  // resolved settings
  std::vector<std::pair<std::string, std::string>> sections;  // (heading, markdown)
  std::vector<std::pair<std::string, std::string>> images;    // (caption, file name in the folder)
};

// Writes dir/report.md; returns its path.
std::string write_report(const std::string& dir, const Report& r);

// A markdown table from a header and rows of cells.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows);

// "vididi retrieve --k v ..." from argv-like pieces (for reports).
std::string command_line(const std::string& sub, const std::vector<std::string>& args);

}  // namespace vd::cli
