// vididi/files.cpp: checked folder creation and atomic text writes (see files.h).
#include "vididi/files.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/errors.h"

namespace vd::vididi {

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_dirs(const std::string& dir) {
  std::string cur = !dir.empty() && dir[0] == '/' ? "/" : "";
  std::stringstream ss(dir);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw UsageError("cannot create folder " + cur + ": " + std::strerror(errno), "out", dir);
  }
  if (!is_directory(dir))
    throw UsageError("'" + dir + "' exists and is not a folder; hint: choose another --out", "out", dir);
}

void write_text(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw UsageError("cannot write " + path + ": " + std::strerror(errno), "out", path);
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw UsageError("cannot write " + path + ": " + std::strerror(ok ? errno : err) + " (disk full?)", "out", path);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw UsageError("cannot write " + path + ": " + std::strerror(errno), "out", path);
  }
}

void remove_stale_temporaries(const std::string& dir, const std::function<void(const std::string&)>& say) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // no folder yet: nothing stale
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    const size_t k = name.rfind(".tmp.");
    if (k == std::string::npos || k == 0) continue;
    const std::string pid_text = name.substr(k + 5);
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
      continue;
    const pid_t pid = pid_t(std::stol(pid_text));  // at most 9 digits: fits
    if (pid == ::getpid() || (::kill(pid, 0) == 0 || errno == EPERM)) continue;  // its writer still runs
    stale.push_back(name);
  }
  ::closedir(d);
  for (const std::string& name : stale) {
    const std::string path = dir + "/" + name;
    if (std::remove(path.c_str()) == 0)
      say("removed stale temporary " + path + " (left by an interrupted write)");
    else
      say("warning: cannot remove stale temporary " + path + ": " + std::strerror(errno));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace vd::vididi
