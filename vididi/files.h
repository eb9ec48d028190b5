// vididi/files.h: the few file-system operations vididi's run directories
// need, each checked: folders created with every error reported, text files
// written to a temporary name, flushed, closed and renamed, so that a reader
// never sees half a file and a full disk is an error, not an empty file.
// Errors are vd::UsageError naming the path. Not here: checkpoints
// (layers/checkpoint.h has its own atomic writer) and datasets.
#pragma once
#include <functional>
#include <string>

namespace vd::vididi {

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);
// Creates `dir` and its parents; refuses a path that exists as a file.
void make_dirs(const std::string& dir);
// Writes `text` to `path` atomically (temporary file in the same folder, then rename).
void write_text(const std::string& path, const std::string& text);
// Removes the temporaries "NAME.tmp.PID" in `dir` (left by a writer killed
// between its write and its rename) whose process PID is gone, telling
// `say` one line for each ("removed stale temporary ...").
void remove_stale_temporaries(const std::string& dir, const std::function<void(const std::string&)>& say);
// The whole file, or "" when it cannot be read.
std::string read_text(const std::string& path);

}  // namespace vd::vididi
