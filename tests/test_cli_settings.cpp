// tests/test_cli_settings.cpp: the vididi command's configuration glue:
// typed keys, unknown keys with suggestions, config files (with file:line in
// errors), flags overriding files, and the dispatcher's one-line errors.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "vididi/cli/cli.h"
#include "vididi/cli/settings.h"

using namespace vd::cli;

namespace {
Settings sample() {
  Settings s;
  s.add("lr", "0.1", "learning rate", KeyType::Float);
  s.add("epochs", "3", "epochs", KeyType::Int);
  s.add("framework", "vicreg", "framework", KeyType::Choice, {"vicreg", "byol", "simclr"});
  s.add("same_clip", "false", "share clip starts", KeyType::Bool);
  s.add("name", "", "a name");
  return s;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}
}  // namespace

TEST(CliSettings, TypedValuesAndDefaults) {
  Settings s = sample();
  EXPECT_DOUBLE_EQ(s.real("lr"), 0.1);
  EXPECT_EQ(s.integer("epochs"), 3);
  EXPECT_FALSE(s.flag("same_clip"));
  EXPECT_FALSE(s.given("lr"));
  s.set("same_clip", "yes", "--same_clip");
  EXPECT_TRUE(s.flag("same_clip"));
  EXPECT_TRUE(s.given("same_clip"));
}

TEST(CliSettings, UnknownKeyAndBadValueNameTheKey) {
  Settings s = sample();
  std::string m = message_of([&] { s.set("epoch", "4", "--epoch"); });
  EXPECT_NE(m.find("unknown key 'epoch'"), std::string::npos) << m;
  EXPECT_NE(m.find("did you mean 'epochs'"), std::string::npos) << m;
  m = message_of([&] { s.set("epochs", "four", "--epochs"); });
  EXPECT_NE(m.find("'epochs'"), std::string::npos) << m;
  EXPECT_NE(m.find("expected an integer, got 'four'"), std::string::npos) << m;
  m = message_of([&] { s.set("framework", "moco", "run.cfg:2"); });
  EXPECT_NE(m.find("expected one of vicreg, byol, simclr, got 'moco'"), std::string::npos) << m;
  EXPECT_NE(m.find("run.cfg:2"), std::string::npos) << m;
  m = message_of([&] { s.set("lr", "1e-3x", "--lr"); });
  EXPECT_NE(m.find("expected a number"), std::string::npos) << m;
  EXPECT_EQ(s.str("framework"), "vicreg");  // a refused value changes nothing
}

TEST(CliSettings, ConfigFileThenFlagsOverride) {
  const std::string path = ::testing::TempDir() + "cli_settings.cfg";
  {
    std::ofstream os(path);
    os << "# a comment\n\nlr = 0.5   # peak\nepochs=7\nframework = byol\n";
  }
  Settings s = sample();
  ParsedFlags f = parse_flags({"--config", path, "--lr=0.25", "--same-clip", "true"});
  apply(s, f);
  EXPECT_DOUBLE_EQ(s.real("lr"), 0.25);  // the flag wins over the file
  EXPECT_EQ(s.integer("epochs"), 7);
  EXPECT_EQ(s.str("framework"), "byol");
  EXPECT_TRUE(s.flag("same_clip"));  // --same-clip spells same_clip
  // A round trip through as_config_file keeps every value.
  {
    std::ofstream os(path);
    os << s.as_config_file();
  }
  Settings t = sample();
  apply(t, parse_flags({"--config", path}));
  EXPECT_EQ(t.resolved(), s.resolved());
}

TEST(CliSettings, ConfigFileErrorsNameFileAndLine) {
  const std::string path = ::testing::TempDir() + "cli_bad.cfg";
  {
    std::ofstream os(path);
    os << "lr = 0.5\nthis line has no equals sign\n";
  }
  Settings s = sample();
  std::string m = message_of([&] { apply(s, parse_flags({"--config", path})); });
  EXPECT_NE(m.find(path + ":2"), std::string::npos) << m;
  {
    std::ofstream os(path);
    os << "lr = 0.5\nbogus = 1\n";
  }
  m = message_of([&] { apply(s, parse_flags({"--config", path})); });
  EXPECT_NE(m.find("unknown key 'bogus'"), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":2"), std::string::npos) << m;
  m = message_of([&] { apply(s, parse_flags({"--config", path + ".missing"})); });
  EXPECT_NE(m.find("cannot open config file"), std::string::npos) << m;
}

TEST(CliSettings, FlagSyntaxErrors) {
  EXPECT_THROW(parse_flags({"positional"}), UsageError);
  EXPECT_THROW(parse_flags({"--lr"}), UsageError);  // no value
  ParsedFlags f = parse_flags({"-h"});
  EXPECT_TRUE(f.help);
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
