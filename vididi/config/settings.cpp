// vididi/config/settings.cpp: declared keys, checked values, the config-file
// and flag parser (see settings.h).
#include "vididi/config/settings.h"

#include <fstream>
#include <sstream>

#include "core/parse.h"

namespace vd::config {

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

// A double bound as an int64 (the bounds of uint64_t and int64_t round up to
// 2^63 as doubles, which does not fit).
int64_t int_bound(double v) {
  if (v >= 9.2233720368547e18) return std::numeric_limits<int64_t>::max();
  if (v <= -9.2233720368547e18) return std::numeric_limits<int64_t>::min();
  return int64_t(v);
}

std::string where_text(const std::string& origin) { return origin == "default" ? "" : " (" + origin + ")"; }

// A config line's value: a "quoted string" (then only a comment may follow)
// or plain text up to " #". Returns false on an unterminated quote.
bool unquote(const std::string& raw, std::string* value) {
  if (raw.empty() || raw[0] != '"') {
    size_t hash = raw.find(" #");
    *value = trim(hash == std::string::npos ? raw : raw.substr(0, hash));
    return true;
  }
  std::string v;
  size_t i = 1;
  for (; i < raw.size() && raw[i] != '"'; ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
    v += raw[i];
  }
  if (i == raw.size()) return false;
  const std::string rest = trim(raw.substr(i + 1));
  if (!rest.empty() && rest[0] != '#') return false;
  *value = v;
  return true;
}
}  // namespace

std::string quote_value(const std::string& v) {
  const bool plain = v.find_first_of("#\"\\") == std::string::npos && v == trim(v) && !v.empty();
  if (plain) return v;
  std::string q = "\"";
  for (char c : v) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
}

// --- Key ---------------------------------------------------------------------------

std::string Key::check(const std::string& v) const {
  switch (type_) {
    case KeyType::Int: {
      int64_t x;
      return parse_integer(v, int_bound(std::max(min_, type_min_)), int_bound(std::min(max_, type_max_)), &x);
    }
    case KeyType::Real: {
      double x;
      return parse_real(v, min_, max_, &x);
    }
    case KeyType::Bool: {
      bool b;
      return parse_bool(v, &b);
    }
    case KeyType::Choice:
      for (const auto& c : choices_)
        if (c == v) return "";
      {
        std::string list;
        for (const auto& c : choices_) list += (list.empty() ? "" : ", ") + c;
        return "expected one of " + list + ", got '" + v + "'";
      }
    default:
      if (v.find('\n') != std::string::npos || v.find('\0') != std::string::npos)
        return "expected one line of text, got a line break or NUL byte";
      return "";
  }
}

void Key::set(const std::string& value, const std::string& origin) {
  const std::string v = type_ == KeyType::Text || type_ == KeyType::Path ? value : trim(value);
  const std::string why = check(v);
  if (!why.empty()) {
    // A number out of range also says what the key is for ("... batch norm needs >= 2").
    const std::string what = type_ == KeyType::Int || type_ == KeyType::Real ? " (" + name_ + ": " + help_ + ")" : "";
    throw UsageError("bad value for '" + name_ + "'" + where_text(origin) + ": " + why + what, name_, origin);
  }
  if (type_ == KeyType::Bool) {
    bool b = false;
    parse_bool(v, &b);
    put_(b ? "true" : "false");
  } else {
    put_(v);
  }
  origin_ = origin;
}

Key& Key::range(double lo, double hi) {
  min_ = lo, max_ = hi;
  VD_CHECK(check(get_()).empty(), "Settings: the default of " << name_ << " is outside its range: " << check(get_()));
  return *this;
}

Key& Key::choices(std::vector<std::string> c) {
  type_ = KeyType::Choice;
  choices_ = std::move(c);
  VD_CHECK(check(get_()).empty(), "Settings: the default of " << name_ << ": " << check(get_()));
  return *this;
}

Key& Key::path() {
  type_ = KeyType::Path;
  return *this;
}

// --- Settings ----------------------------------------------------------------------

Key& Settings::declare(const std::string& name, const std::string& help, KeyType type,
                       std::function<std::string()> get, std::function<void(const std::string&)> put) {
  VD_CHECK(!has(name), "Settings::add: key " << name << " declared twice");
  auto k = std::make_unique<Key>();
  k->name_ = name, k->help_ = help, k->type_ = type;
  k->get_ = std::move(get), k->put_ = std::move(put);
  k->default_ = k->get_();
  keys_.push_back(std::move(k));
  return *keys_.back();
}

Key& Settings::add(const std::string& name, std::string& member, const std::string& help) {
  return declare(name, help, KeyType::Text, [&member] { return member; },
                 [&member](const std::string& v) { member = v; });
}

Key& Settings::add(const std::string& name, bool& member, const std::string& help) {
  return declare(name, help, KeyType::Bool, [&member] { return std::string(member ? "true" : "false"); },
                 [&member](const std::string& v) { member = v == "true"; });
}

Key& Settings::add(const std::string& name, double& member, const std::string& help) {
  return declare(name, help, KeyType::Real, [&member] { return format_real(member); },
                 [&member](const std::string& v) { member = std::stod(v); });
}

const Key* Settings::find(const std::string& name) const {
  for (const auto& k : keys_)
    if (k->name() == name) return k.get();
  return nullptr;
}

const Key& Settings::key(const std::string& name) const {
  const Key* k = find(name);
  VD_CHECK(k, "Settings: key " << name << " was never declared; hint: a bug in the command");
  return *k;
}

void Settings::adopt(Settings& from, const std::vector<std::string>& skip) {
  for (auto& k : from.keys_) {
    if (std::find(skip.begin(), skip.end(), k->name()) != skip.end()) continue;
    VD_CHECK(!has(k->name()), "Settings::adopt: key " << k->name() << " declared twice");
    keys_.push_back(std::move(k));
  }
  from.keys_.clear();
}

void Settings::set_default(const std::string& name, const std::string& value) {
  Key& k = const_cast<Key&>(key(name));
  k.set(value, "default");
  k.default_ = k.get_();
}

void Settings::set(const std::string& name, const std::string& value, const std::string& origin) {
  Key* k = const_cast<Key*>(find(name));
  if (!k) {
    std::string best;
    size_t best_d = std::max<size_t>(1, name.size() / 3) + 1;  // suggest only close spellings
    for (const auto& o : keys_) {
      size_t d = edit_distance(name, o->name());
      if (d < best_d) best_d = d, best = o->name();
    }
    throw UsageError("unknown key '" + name + "'" + (origin.rfind("--", 0) == 0 ? "" : where_text(origin)) +
                         (best.empty() ? "; see --help for the keys" : "; did you mean '" + best + "'?"),
                     name, origin);
  }
  k->set(value, origin);
}

void Settings::apply_text(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  std::vector<std::pair<std::string, std::string>> seen;  // key, where
  for (int n = 1; std::getline(in, line); ++n) {
    if (n == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line = line.substr(3);  // a UTF-8 byte-order mark
    const std::string where = origin + ":" + std::to_string(n), t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const size_t eq = t.find('=');
    if (eq == std::string::npos)
      throw UsageError(where + ": expected 'key = value', got '" + t + "'", "", where);
    const std::string name = trim(t.substr(0, eq));
    if (name.empty()) throw UsageError(where + ": expected a key before '=', got '" + t + "'", "", where);
    for (const auto& [k, w] : seen)
      if (k == name) throw UsageError("key '" + name + "' given twice (" + w + " and " + where + ")", name, where);
    seen.emplace_back(name, where);
    std::string value;
    if (!unquote(trim(t.substr(eq + 1)), &value))
      throw UsageError(where + ": unterminated or trailing text after the quoted value of '" + name + "'", name,
                       where);
    set(name, value, where);
  }
}

void Settings::apply_file(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  if (!is.good()) throw UsageError("cannot open config file " + path + "; hint: check the path", "config", path);
  std::stringstream ss;
  ss << is.rdbuf();
  apply_text(ss.str(), path);
}

bool Settings::apply_args(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  KeyValues flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") return false;
    if (a.size() < 3 || a.compare(0, 2, "--") != 0)
      throw UsageError("unexpected argument '" + a + "': expected --key value or --key=value", "", a);
    const size_t eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2), value;
    std::replace(name.begin(), name.end(), '-', '_');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) throw UsageError("flag --" + name + " needs a value", name, "--" + name);
      value = args[++i];
    }
    if (name == "config") files.push_back(value);
    else flags.emplace_back(name, value);
  }
  for (const auto& f : files) apply_file(f);
  for (const auto& [k, v] : flags) set(k, v, "--" + k);
  return true;
}

KeyValues Settings::resolved() const {
  KeyValues out;
  for (const auto& k : keys_) out.emplace_back(k->name(), k->text());
  return out;
}

std::string Settings::help_text() const {
  std::ostringstream os;
  size_t w = 0;
  for (const auto& k : keys_) w = std::max(w, k->name().size());
  for (const auto& k : keys_) {
    os << "  --" << k->name() << std::string(w - k->name().size() + 2, ' ') << k->help();
    if (k->type() == KeyType::Choice) {
      os << " [";
      for (size_t i = 0; i < k->choices_.size(); ++i) os << (i ? "|" : "") << k->choices_[i];
      os << "]";
    } else if (k->type() == KeyType::Int || k->type() == KeyType::Real) {
      os << " (" << (k->type() == KeyType::Int ? "integer" : "number");
      const bool is_int = k->type() == KeyType::Int;  // an integer's own type bounds go unsaid
      const bool lo = k->min_ > -1e300 && !(is_int && k->min_ <= k->type_min_);
      const bool hi = k->max_ < 1e300 && !(is_int && k->max_ >= k->type_max_);
      if (lo && hi) os << " in [" << format_real(k->min_) << ", " << format_real(k->max_) << "]";
      else if (lo) os << " >= " << format_real(k->min_);
      else if (hi) os << " <= " << format_real(k->max_);
      os << ")";
    }
    os << " (default: " << (k->default_text().empty() ? "\"\"" : k->default_text()) << ")\n";
  }
  return os.str();
}

std::string Settings::as_config_file() const {
  std::ostringstream os;
  for (const auto& k : keys_) os << "# " << k->help() << "\n" << k->name() << " = " << quote_value(k->text()) << "\n";
  return os.str();
}

// --- lists -------------------------------------------------------------------------

std::vector<int64_t> integer_list(const std::string& key, const std::string& text, size_t count, int64_t min,
                                  int64_t max) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int64_t v = 0;
    const std::string why = parse_integer(trim(item), min, max, &v);
    if (!why.empty()) throw UsageError("bad value for '" + key + "': item " + std::to_string(out.size() + 1) +
                                       ": " + why, key);
    out.push_back(v);
  }
  if (count > 0 && out.size() != count)
    throw UsageError("bad value for '" + key + "': expected " + std::to_string(count) +
                     " comma-separated integers, got '" + text + "'", key);
  return out;
}

std::vector<double> real_list(const std::string& key, const std::string& text, size_t count) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    double v = 0;
    const std::string why = parse_real(trim(item), -1e300, 1e300, &v);
    if (!why.empty()) throw UsageError("bad value for '" + key + "': item " + std::to_string(out.size() + 1) +
                                       ": " + why, key);
    out.push_back(v);
  }
  if (count > 0 && out.size() != count)
    throw UsageError("bad value for '" + key + "': expected " + std::to_string(count) +
                     " comma-separated numbers, got '" + text + "'", key);
  return out;
}

}  // namespace vd::config
