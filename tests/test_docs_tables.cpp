// tests/test_docs_tables.cpp: the result tables of docs/RESULTS.md equal what
// their committed result files (results/*.json) say, recomputed by
// tools/doc_tables.py; and the check fails when a figure in a table is
// changed by hand (tried on a copy of the docs).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/test_cli_util.h"

using cli_test::read;

TEST(DocsTables, MatchTheirResultFiles) {
  ASSERT_FALSE(read("tools/doc_tables.py").empty()) << "run the tests from the repository root";
  EXPECT_EQ(std::system("python3 tools/doc_tables.py --check"), 0)
      << "a table in docs/RESULTS.md differs from its results/*.json; run python3 tools/doc_tables.py --write";
  // A copy of the docs with one figure changed must fail the check.
  const std::string dir = ::testing::TempDir() + "docs_tables_copy";
  ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir + "/tools " + dir + "/docs && cp -r results " + dir +
                         " && cp tools/doc_tables.py " + dir + "/tools && cp docs/RESULTS.md " + dir + "/docs")
                            .c_str()),
            0);
  std::string doc = read(dir + "/docs/RESULTS.md");
  const size_t row = doc.find("| frames-only | 7.5 |");
  ASSERT_NE(row, std::string::npos) << "the VICReg table's frames-only row";
  doc.replace(row, 20, "| frames-only | 7.4 |");
  std::ofstream(dir + "/docs/RESULTS.md") << doc;
  EXPECT_NE(std::system(("python3 " + dir + "/tools/doc_tables.py --check > /dev/null").c_str()), 0);
}
