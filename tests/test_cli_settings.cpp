// tests/test_cli_settings.cpp: the vididi command's configuration glue:
// keys bound to struct members, checked numbers, unknown keys with
// suggestions, config files (file:line in errors, quoting, BOM, duplicates),
// flags overriding files, and the dispatcher's one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/parse.h"
#include "vididi/cli/cli.h"
#include "vididi/config/settings.h"

using namespace vd::cli;
using vd::UsageError;

namespace {
// A config struct and its key table, as a command declares them.
struct Sample {
  double lr = 0.1;
  int64_t epochs = 3;
  int small = 5;
  std::string framework = "vicreg", name;
  bool same_clip = false;
};

void sample_keys(Settings& s, Sample& c) {
  s.add("lr", c.lr, "learning rate").range(0, 10);
  s.add("epochs", c.epochs, "epochs").range(1, 1000);
  s.add("small", c.small, "an int member (its C++ type bounds the value)");
  s.add("framework", c.framework, "framework").choices({"vicreg", "byol", "simclr"});
  s.add("same_clip", c.same_clip, "share clip starts");
  s.add("name", c.name, "a name").path();
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream os(path, std::ios::binary);
  os << text;
  return path;
}
}  // namespace

TEST(CliSettings, TypedValuesAndDefaults) {
  Sample c;
  Settings s;
  sample_keys(s, c);
  EXPECT_EQ(s.key("lr").default_text(), "0.1");
  EXPECT_FALSE(s.given("lr"));
  s.set("same_clip", "yes", "--same_clip");
  EXPECT_TRUE(c.same_clip);  // written straight into the bound member
  EXPECT_TRUE(s.given("same_clip"));
  s.set("epochs", "7", "--epochs");
  EXPECT_EQ(c.epochs, 7);
}

TEST(CliSettings, UnknownKeyAndBadValueNameTheKey) {
  Sample c;
  Settings s;
  sample_keys(s, c);
  std::string m = message_of([&] { s.set("epoch", "4", "--epoch"); });
  EXPECT_NE(m.find("unknown key 'epoch'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'epochs'"), std::string::npos) << m;
  m = message_of([&] { s.set("epochs", "four", "--epochs"); });
  EXPECT_NE(m.find("'epochs'"), std::string::npos) << m;
  EXPECT_NE(m.find("expected an integer in [1, 1000], got 'four'"), std::string::npos) << m;
  m = message_of([&] { s.set("framework", "moco", "run.cfg:2"); });
  EXPECT_NE(m.find("expected one of vicreg, byol, simclr, got 'moco'"), std::string::npos) << m;
  EXPECT_NE(m.find("run.cfg:2"), std::string::npos) << m;
  m = message_of([&] { s.set("lr", "1e-3x", "--lr"); });
  EXPECT_NE(m.find("expected a finite number"), std::string::npos) << m;
  EXPECT_EQ(c.framework, "vicreg");  // a refused value changes nothing
  // The error carries the key and where the value came from as fields.
  try {
    s.set("epochs", "0", "run.cfg:4");
    ADD_FAILURE() << "epochs = 0 accepted";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.key(), "epochs");
    EXPECT_EQ(e.where(), "run.cfg:4");
  }
}

// Numbers that do not fit are refused, never truncated or read in another base.
TEST(CliSettings, NumbersAreDecimalFiniteAndInRange) {
  Sample c;
  Settings s;
  sample_keys(s, c);
  for (const char* bad : {"4294967312", "2147483648", "-2147483649", "0x10", "1e3", " ", "", "1.5", "+"}) {
    EXPECT_NE(message_of([&] { s.set("small", bad, "--small"); }).find("'small'"), std::string::npos) << bad;
    EXPECT_EQ(c.small, 5) << bad;
  }
  s.set("small", "-2147483648", "--small");
  EXPECT_EQ(c.small, -2147483648LL);
  for (const char* bad : {"nan", "inf", "-inf", "0x10", "1e400", "11", "-0.5", "1.0.0", "e5"})
    EXPECT_NE(message_of([&] { s.set("lr", bad, "--lr"); }).find("'lr'"), std::string::npos) << bad;
  s.set("lr", "2.5e-1", "--lr");
  EXPECT_DOUBLE_EQ(c.lr, 0.25);
  int64_t v = 0;
  EXPECT_EQ(vd::parse_integer("9223372036854775808", INT64_MIN, INT64_MAX, &v), "expected an integer, got 9223372036854775808");
  EXPECT_EQ(vd::parse_integer("-12", -20, 20, &v), "");
  EXPECT_EQ(v, -12);
  EXPECT_EQ(vd::format_real(0.1), "0.1");
  EXPECT_EQ(vd::format_real(1e-6), "1e-06");
  EXPECT_EQ(vd::format_real(1000), "1000");
}

TEST(CliSettings, ConfigFileThenFlagsOverride) {
  const std::string path = write("cli_settings.cfg", "# a comment\n\nlr = 0.5   # peak\nepochs=7\nframework = byol\n");
  Sample c;
  Settings s;
  sample_keys(s, c);
  ASSERT_TRUE(s.apply_args({"--config", path, "--lr=0.25", "--same-clip", "true"}));
  EXPECT_DOUBLE_EQ(c.lr, 0.25);  // the flag wins over the file
  EXPECT_EQ(c.epochs, 7);
  EXPECT_EQ(c.framework, "byol");
  EXPECT_TRUE(c.same_clip);  // --same-clip spells same_clip
  // A round trip through as_config_file keeps every value, a path with " #"
  // and quotes included.
  c.name = "runs/a #1 \"x\" ";
  write("cli_settings.cfg", s.as_config_file());
  Sample d;
  Settings t;
  sample_keys(t, d);
  t.apply_args({"--config", path});
  EXPECT_EQ(t.resolved(), s.resolved());
  EXPECT_EQ(d.name, c.name);
}

TEST(CliSettings, ConfigFileErrorsNameFileAndLine) {
  Sample c;
  Settings s;
  sample_keys(s, c);
  std::string path = write("cli_bad.cfg", "lr = 0.5\nthis line has no equals sign\n");
  std::string m = message_of([&] { s.apply_args({"--config", path}); });
  EXPECT_NE(m.find(path + ":2"), std::string::npos) << m;
  path = write("cli_bad.cfg", "lr = 0.5\nbogus = 1\n");
  m = message_of([&] { s.apply_args({"--config", path}); });
  EXPECT_NE(m.find("unknown key 'bogus'"), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":2"), std::string::npos) << m;
  m = message_of([&] { s.apply_args({"--config", path + ".missing"}); });
  EXPECT_NE(m.find("cannot open config file"), std::string::npos) << m;
  path = write("cli_bad.cfg", "lr = 0.5\nepochs = 2\nlr = 0.6\n");
  m = message_of([&] { s.apply_args({"--config", path}); });
  EXPECT_NE(m.find("key 'lr' given twice (" + path + ":1 and " + path + ":3)"), std::string::npos) << m;
  path = write("cli_bad.cfg", "name = \"unterminated\n");
  m = message_of([&] { s.apply_args({"--config", path}); });
  EXPECT_NE(m.find(path + ":1: unterminated"), std::string::npos) << m;
  // A byte-order mark and CRLF line ends are read as a plain file.
  path = write("cli_bom.cfg", "\xEF\xBB\xBF" "epochs = 9\r\nframework = simclr\r\n");
  s.apply_args({"--config", path});
  EXPECT_EQ(c.epochs, 9);
  EXPECT_EQ(c.framework, "simclr");
}

TEST(CliSettings, FlagSyntaxErrors) {
  Sample c;
  Settings s;
  sample_keys(s, c);
  EXPECT_THROW(s.apply_args({"positional"}), UsageError);
  EXPECT_THROW(s.apply_args({"--lr"}), UsageError);  // no value
  EXPECT_FALSE(s.apply_args({"-h"}));
}

TEST(CliRun, UnknownCommandAndTopHelp) {
  std::ostringstream out, err;
  EXPECT_EQ(run({"nosuch"}, out, err), 1);
  EXPECT_NE(err.str().find("unknown command 'nosuch'"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(run({"--help"}, out2, err2), 0);
  for (const auto& c : commands()) EXPECT_NE(out2.str().find(c.name), std::string::npos) << c.name;
}

TEST(CliRun, EverySubcommandHasHelp) {
  for (const auto& c : commands()) {
    std::ostringstream out, err;
    EXPECT_EQ(run({c.name, "--help"}, out, err), 0) << c.name << ": " << err.str();
    EXPECT_NE(out.str().find("usage: vididi " + std::string(c.name)), std::string::npos) << c.name;
    EXPECT_EQ(err.str(), "") << c.name;
  }
}
