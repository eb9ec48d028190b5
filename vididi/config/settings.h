// vididi/config/settings.h: the one configuration mechanism of vididi. A
// Settings is the declarative key table of one command: each key is bound to
// a member of a plain config struct and declared once with its name, type,
// default (the member's value when bound), range or choices, and help. Values
// come from config files ("key = value" lines) and then from flags
// (--key value), are checked once against type and range, and are written
// straight into the bound member; refusals are vd::UsageError naming the key
// and where the value came from (file:line or --flag) as fields.
// Not here: checks across keys (each config's validate()), the commands'
// tables (vididi/cli/cmd_*.cpp and the *_keys functions they call).
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace vd::config {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

enum class KeyType { Text, Path, Choice, Int, Real, Bool };

// One key: declared by Settings::add, refined by the chained setters.
class Key {
 public:
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  KeyType type() const { return type_; }
  const std::string& default_text() const { return default_; }
  const std::string& origin() const { return origin_; }  // "default", "run.cfg:3", "--lr", ...
  std::string text() const { return get_(); }             // the current value as text

  // Chained refinements (each re-checks the default):
  Key& range(double lo, double hi);                       // Int, Real: lo <= v <= hi
  Key& at_least(double lo) { return range(lo, max_); }
  Key& choices(std::vector<std::string> c);               // Text -> Choice
  Key& path();                                            // Text -> Path (quoted when needed)

 private:
  friend class Settings;
  void set(const std::string& value, const std::string& origin);
  std::string check(const std::string& value) const;  // "" or why the value is refused

  std::string name_, help_, default_, origin_ = "default";
  KeyType type_ = KeyType::Text;
  std::vector<std::string> choices_;
  double min_ = -std::numeric_limits<double>::infinity(), max_ = std::numeric_limits<double>::infinity();
  double type_min_ = 0, type_max_ = 0;  // limits of the bound integer type
  std::function<std::string()> get_;
  std::function<void(const std::string&)> put_;  // a checked value into the member
};

class Settings {
 public:
  Settings() = default;
  Settings(const Settings&) = delete;  // keys point into config structs
  Settings& operator=(const Settings&) = delete;

  // Binds `name` to `member`; the member's current value is the default.
  Key& add(const std::string& name, std::string& member, const std::string& help);
  Key& add(const std::string& name, bool& member, const std::string& help);
  Key& add(const std::string& name, double& member, const std::string& help);
  template <class I, class = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>>
  Key& add(const std::string& name, I& member, const std::string& help) {
    Key& k = declare(name, help, KeyType::Int, [&member] { return std::to_string(member); },
                     [&member](const std::string& v) { member = I(std::stoll(v)); });
    k.type_min_ = double(std::numeric_limits<I>::min());
    k.type_max_ = std::min(double(std::numeric_limits<I>::max()), double(std::numeric_limits<int64_t>::max()));
    k.min_ = k.type_min_, k.max_ = k.type_max_;
    return k;
  }
  // Moves every key of `from` but those named in `skip` into this table (a
  // command that shares most of another table, e.g. bench's of TrainConfig's).
  void adopt(Settings& from, const std::vector<std::string>& skip);
  // Changes a key's default (a command's own defaults, e.g. demo's sizes).
  void set_default(const std::string& name, const std::string& value);

  // Sets a declared key after checking the value; `origin` says where it came
  // from ("run.cfg:3", "--lr"). An unknown key suggests the closest name.
  void set(const std::string& name, const std::string& value, const std::string& origin);
  bool has(const std::string& name) const { return find(name) != nullptr; }
  const Key& key(const std::string& name) const;
  bool given(const std::string& name) const { return key(name).origin() != "default"; }

  // "key = value" lines (# comments, optional "double quotes"); `origin`
  // names the text in errors ("run.cfg" -> "run.cfg:3"). A key given twice
  // in one text is refused.
  void apply_text(const std::string& text, const std::string& origin);
  void apply_file(const std::string& path);
  // Command-line arguments: --config FILE (files first, in order), then
  // --key value / --key=value (a '-' in a key reads as '_'). Returns false
  // when --help or -h was given (nothing is applied then).
  bool apply_args(const std::vector<std::string>& args);

  const std::vector<std::unique_ptr<Key>>& keys() const { return keys_; }
  KeyValues resolved() const;          // every key with its value, in declaration order
  std::string help_text() const;       // "  --name  help [choices] (default: x)" lines
  std::string as_config_file() const;  // "# help\nkey = value": reads back unchanged

 private:
  Key& declare(const std::string& name, const std::string& help, KeyType type, std::function<std::string()> get,
               std::function<void(const std::string&)> put);
  const Key* find(const std::string& name) const;
  std::vector<std::unique_ptr<Key>> keys_;
};

// A value as a config file line holds it: quoted ("...", with \" and \\)
// when it is empty in a Path, or has a '#', a quote or outer blanks.
std::string quote_value(const std::string& v);

// Comma-separated integers ("2,2,2,2") or reals ("1,0.5,2") of a key, each
// checked; `count` > 0 requires exactly that many. Errors name `key`.
std::vector<int64_t> integer_list(const std::string& key, const std::string& text, size_t count, int64_t min,
                                  int64_t max);
std::vector<double> real_list(const std::string& key, const std::string& text, size_t count);

}  // namespace vd::config
