// tests/test_step_table.cpp: tools/step_table.py (the table of
// scripts/gpu_step_compare.sh's results) turns the fixture
// tests/data/step_compare/results.jsonl into exactly table.md beside it:
// vididi beside PyTorch for the same model, N and precision (bf16 <-> bf16_cl
// when both exist), the ratio of step times, variants and failed runs named;
// and a line that is not JSON stops it with its line number.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/test_cli_util.h"

using cli_test::read;

TEST(StepTable, TurnsTheFixtureIntoItsTable) {
  ASSERT_FALSE(read("tools/step_table.py").empty()) << "run the tests from the repository root";
  const std::string out = ::testing::TempDir() + "step_table.md";
  ASSERT_EQ(std::system(("python3 tools/step_table.py tests/data/step_compare/results.jsonl > " + out).c_str()), 0);
  const std::string got = read(out), want = read("tests/data/step_compare/table.md");
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(got, want);
  // The pairing rules, read off the expected table (so the fixture cannot drift silently).
  EXPECT_NE(want.find("| r3d_18 | 32 | bf16 | - | 100.00 | 320.0 | 10.50 | 80.00 | 400.0 | 11.00 | 1.25 |"),
            std::string::npos);  // bf16_cl (80 ms) chosen over bf16 (130 ms); ratio 100 / 80
  EXPECT_NE(want.find("| cuda_graphs | 90.00"), std::string::npos);
  EXPECT_NE(want.find("exit 124 (timeout 45 s)"), std::string::npos);

  const std::string bad = ::testing::TempDir() + "step_table_bad.jsonl";
  std::ofstream(bad) << "{\"peer\": \"vididi\"}\nnot json\n";
  EXPECT_NE(std::system(("python3 tools/step_table.py " + bad + " > /dev/null 2>&1").c_str()), 0);
}
