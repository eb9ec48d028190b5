// vididi/cli/settings.h: the command line's configuration glue. A Settings
// object declares every key a subcommand accepts (type, default, one-line
// help); values come from a config file ("key = value" lines, '#' comments)
// and then from flags (--key value or --key=value), flags winning. An unknown
// key or a value of the wrong type is refused with a UsageError naming it.
// This file knows no subcommand; vididi/cli/commands_*.cpp declare their keys.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace vd::cli {

// A mistake by the user (bad flag, key, value, missing file): printed as one
// line without a source location. Derives from vd::Error so callers that
// catch the engine's errors catch it too.
class UsageError : public vd::Error {
 public:
  explicit UsageError(const std::string& what) : vd::Error(what) {}
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

enum class KeyType { String, Int, Float, Bool, Choice, Path };

struct KeyInfo {
  std::string name, value, help;  // value: the current (initially default) value
  KeyType type = KeyType::String;
  std::vector<std::string> choices;  // for Choice
  std::string origin = "default";     // "default", "file.cfg:3" or "--flag"
};

class Settings {
 public:
  // Declares a key; the default is checked like any value.
  Settings& add(const std::string& name, const std::string& default_value, const std::string& help,
                KeyType type = KeyType::String, std::vector<std::string> choices = {});
  // Sets a declared key after checking the value's type; `origin` says where
  // it came from, for messages ("run.cfg:3", "--lr").
  void set(const std::string& name, const std::string& value, const std::string& origin);
  bool has(const std::string& name) const;

  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool flag(const std::string& name) const;
  // Whether the value was given (file or flag) rather than defaulted.
  bool given(const std::string& name) const;

  const std::vector<KeyInfo>& keys() const { return keys_; }
  KeyValues resolved() const;  // every key with its value, in declaration order
  // "  --name VALUE   help (default: x)" lines, for --help.
  std::string help_text() const;
  // The resolved configuration as a config file that `--config` accepts.
  std::string as_config_file() const;

 private:
  const KeyInfo& find(const std::string& name) const;
  KeyInfo* lookup(const std::string& name);
  std::vector<KeyInfo> keys_;
};

// One "key = value" line of a config file; origin is "path:line".
struct ConfigEntry {
  std::string key, value, origin;
};
// Reads "key = value" lines; blank lines and lines starting with '#' are
// skipped, and " # ..." after a value is a comment. A line without '=' is
// refused naming "path:line".
std::vector<ConfigEntry> read_config_file(const std::string& path);

// Flags of one subcommand: --key value, --key=value, --config FILE (may be
// repeated; files apply in order, before all flags), --help / -h. A
// positional argument is refused.
struct ParsedFlags {
  std::vector<std::string> config_files;
  KeyValues flags;  // in command-line order
  bool help = false;
};
ParsedFlags parse_flags(const std::vector<std::string>& args);

// Applies config files then flags to `s`. Flags are spelled with '_' or '-'
// (--batch-size = --batch_size).
void apply(Settings& s, const ParsedFlags& flags);

// Checkers shared by subcommands (throw UsageError naming the key).
bool parse_bool(const std::string& key, const std::string& value);
int64_t parse_int(const std::string& key, const std::string& value);
double parse_float(const std::string& key, const std::string& value);

}  // namespace vd::cli
