// vididi/cli/settings.cpp: declared keys, typed values, config files and
// flag parsing for the vididi command. See settings.h.
#include "vididi/cli/settings.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vd::cli {

namespace {
std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n"), b = s.find_last_not_of(" \t\r\n");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

const char* type_name(KeyType t) {
  switch (t) {
    case KeyType::Int: return "an integer";
    case KeyType::Float: return "a number";
    case KeyType::Bool: return "true or false";
    default: return "a string";
  }
}
}  // namespace

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw UsageError("bad value for " + key + ": expected true or false, got '" + v + "'");
}

int64_t parse_int(const std::string& key, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0)
    throw UsageError("bad value for " + key + ": expected an integer, got '" + v + "'");
  return x;
}

double parse_float(const std::string& key, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0)
    throw UsageError("bad value for " + key + ": expected a number, got '" + v + "'");
  return x;
}

Settings& Settings::add(const std::string& name, const std::string& default_value,
                        const std::string& help, KeyType type, std::vector<std::string> choices) {
  VD_CHECK(!has(name), "Settings::add: key " << name << " declared twice");
  KeyInfo k;
  k.name = name;
  k.help = help;
  k.type = type;
  k.choices = std::move(choices);
  keys_.push_back(k);
  set(name, default_value, "default");
  return *this;
}

bool Settings::has(const std::string& name) const {
  for (const auto& k : keys_)
    if (k.name == name) return true;
  return false;
}

KeyInfo* Settings::lookup(const std::string& name) {
  for (auto& k : keys_)
    if (k.name == name) return &k;
  return nullptr;
}

const KeyInfo& Settings::find(const std::string& name) const {
  for (const auto& k : keys_)
    if (k.name == name) return k;
  VD_FAIL("Settings: key " << name << " was never declared; hint: a bug in the subcommand");
}

void Settings::set(const std::string& name, const std::string& raw, const std::string& origin) {
  KeyInfo* k = lookup(name);
  if (!k) {
    std::string best;
    size_t best_d = std::max<size_t>(1, name.size() / 3) + 1;  // suggest only close spellings
    for (const auto& o : keys_) {
      size_t d = edit_distance(name, o.name);
      if (d < best_d) best_d = d, best = o.name;
    }
    std::string where = origin.rfind("--", 0) == 0 ? "" : " (" + origin + ")";
    throw UsageError("unknown key '" + name + "'" + where +
                     (best.empty() ? "; see --help for the keys" : "; did you mean '" + best + "'?"));
  }
  const std::string v = trim(raw);
  const std::string what = "'" + name + "'" + (origin == "default" ? "" : " (" + origin + ")");
  switch (k->type) {
    case KeyType::Int: parse_int(what, v); break;
    case KeyType::Float: parse_float(what, v); break;
    case KeyType::Bool: parse_bool(what, v); break;
    case KeyType::Choice:
      if (std::find(k->choices.begin(), k->choices.end(), v) == k->choices.end()) {
        std::string list;
        for (const auto& c : k->choices) list += (list.empty() ? "" : ", ") + c;
        throw UsageError("bad value for " + what + ": expected one of " + list + ", got '" + v + "'");
      }
      break;
    default: break;
  }
  k->value = v;
  k->origin = origin;
}

std::string Settings::str(const std::string& name) const { return find(name).value; }
int64_t Settings::integer(const std::string& name) const { return parse_int(name, find(name).value); }
double Settings::real(const std::string& name) const { return parse_float(name, find(name).value); }
bool Settings::flag(const std::string& name) const { return parse_bool(name, find(name).value); }
bool Settings::given(const std::string& name) const { return find(name).origin != "default"; }

KeyValues Settings::resolved() const {
  KeyValues out;
  for (const auto& k : keys_) out.emplace_back(k.name, k.value);
  return out;
}

std::string Settings::help_text() const {
  std::ostringstream os;
  size_t w = 0;
  for (const auto& k : keys_) w = std::max(w, k.name.size());
  for (const auto& k : keys_) {
    os << "  --" << k.name << std::string(w - k.name.size() + 2, ' ') << k.help;
    if (k.type == KeyType::Choice) {
      os << " [";
      for (size_t i = 0; i < k.choices.size(); ++i) os << (i ? "|" : "") << k.choices[i];
      os << "]";
    } else if (k.type != KeyType::String && k.type != KeyType::Path) {
      os << " (" << type_name(k.type) << ")";
    }
    os << " (default: " << (k.value.empty() ? "\"\"" : k.value) << ")\n";
  }
  return os.str();
}

std::string Settings::as_config_file() const {
  std::ostringstream os;
  for (const auto& k : keys_) os << "# " << k.help << "\n" << k.name << " = " << k.value << "\n";
  return os.str();
}

std::vector<ConfigEntry> read_config_file(const std::string& path) {
  std::ifstream is(path);
  if (!is.good()) throw UsageError("cannot open config file " + path);
  std::vector<ConfigEntry> out;
  std::string line;
  int n = 0;
  while (std::getline(is, line)) {
    ++n;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos)
      throw UsageError(path + ":" + std::to_string(n) + ": expected 'key = value', got '" + t + "'");
    std::string key = trim(t.substr(0, eq)), value = trim(t.substr(eq + 1));
    size_t hash = value.find(" #");
    if (hash != std::string::npos) value = trim(value.substr(0, hash));
    if (key.empty())
      throw UsageError(path + ":" + std::to_string(n) + ": expected a key before '=', got '" + t + "'");
    out.push_back({key, value, path + ":" + std::to_string(n)});
  }
  return out;
}

namespace {
std::string key_of_flag(const std::string& flag) {
  std::string k = flag.substr(2);
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}
}  // namespace

ParsedFlags parse_flags(const std::vector<std::string>& args) {
  ParsedFlags p;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      p.help = true;
      continue;
    }
    if (a.size() < 3 || a.compare(0, 2, "--") != 0)
      throw UsageError("unexpected argument '" + a + "': expected --key value or --key=value");
    std::string key, value;
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      key = key_of_flag(a.substr(0, eq));
      value = a.substr(eq + 1);
    } else {
      key = key_of_flag(a);
      if (i + 1 >= args.size()) throw UsageError("flag --" + key + " needs a value");
      value = args[++i];
    }
    if (key == "config")
      p.config_files.push_back(value);
    else
      p.flags.emplace_back(key, value);
  }
  return p;
}

void apply(Settings& s, const ParsedFlags& flags) {
  for (const auto& file : flags.config_files)
    for (const auto& e : read_config_file(file)) s.set(e.key, e.value, e.origin);
  for (const auto& [k, v] : flags.flags) s.set(k, v, "--" + k);
}

}  // namespace vd::cli
