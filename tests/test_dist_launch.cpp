// tests/test_dist_launch.cpp: launch_from_environment() over a fake
// environment: each launcher family (Open MPI, PMI, SLURM, torchrun-style),
// their precedence, and the refusal of each malformed or inconsistent value
// as one UsageError naming the variable and its value.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/errors.h"
#include "dist/launch.h"

using vd::dist::LaunchInfo;
using vd::dist::launch_from_environment;

namespace {

using Env = std::map<std::string, std::string>;

LaunchInfo launch(const Env& env) {
  return launch_from_environment([&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// The UsageError's message for `env` ("" when none was thrown), and its key.
std::pair<std::string, std::string> refusal(const Env& env) {
  try {
    launch(env);
  } catch (const vd::UsageError& e) {
    return {e.what(), e.key()};
  }
  return {"", ""};
}

void expect_refused(const Env& env, const std::string& variable, const std::string& value) {
  const auto [message, key] = refusal(env);
  ASSERT_FALSE(message.empty()) << "accepted; expected a refusal naming " << variable;
  EXPECT_EQ(key, variable) << message;
  EXPECT_NE(message.find(variable), std::string::npos) << message;
  EXPECT_NE(message.find("'" + value + "'"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

}  // namespace

TEST(DistLaunch, NoLauncherIsWorldOne) {
  const LaunchInfo l = launch({});
  EXPECT_EQ(l.rank, 0);
  EXPECT_EQ(l.world_size, 1);
  EXPECT_EQ(l.local_rank, 0);
  EXPECT_EQ(l.launcher, "none");
  EXPECT_EQ(l.str(), "rank 0 of 1 (local 0), not started by a launcher");
}

TEST(DistLaunch, OpenMpi) {
  const LaunchInfo l =
      launch({{"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}});
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.world_size, 4);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.launcher, "mpirun");
  EXPECT_EQ(l.str(), "rank 3 of 4 (local 1), started by mpirun");
  EXPECT_TRUE(l.master_addr.empty());
}

TEST(DistLaunch, PmiWithAndWithoutLocalRank) {
  LaunchInfo l = launch({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}, {"MPI_LOCALRANKID", "0"}});
  EXPECT_EQ(l.launcher, "pmi");
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.local_rank, 0);
  l = launch({{"PMI_RANK", "1"}, {"PMI_SIZE", "2"}});
  EXPECT_EQ(l.local_rank, 1);  // no local rank given: one node, local = global
}

TEST(DistLaunch, Slurm) {
  const LaunchInfo l = launch({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"}});
  EXPECT_EQ(l.launcher, "srun");
  EXPECT_EQ(l.rank, 5);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_rank, 1);
}

TEST(DistLaunch, TorchrunStyle) {
  const LaunchInfo l = launch({{"RANK", "1"},
                               {"WORLD_SIZE", "2"},
                               {"LOCAL_RANK", "1"},
                               {"MASTER_ADDR", "10.0.0.7"},
                               {"MASTER_PORT", "29500"}});
  EXPECT_EQ(l.launcher, "torchrun");
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.world_size, 2);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.master_addr, "10.0.0.7");
  EXPECT_EQ(l.master_port, 29500);
  // World size 1 needs no rendezvous address.
  const LaunchInfo one = launch({{"RANK", "0"}, {"WORLD_SIZE", "1"}});
  EXPECT_EQ(one.world_size, 1);
  EXPECT_EQ(one.master_port, 0);
}

TEST(DistLaunch, FirstFamilyWinsInTheDocumentedOrder) {
  // mpirun inside a SLURM allocation with torchrun variables left over.
  const Env env{{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"SLURM_PROCID", "7"},
                {"SLURM_NTASKS", "9"},         {"RANK", "x"},                   {"WORLD_SIZE", "y"}};
  EXPECT_EQ(launch(env).launcher, "mpirun");
  EXPECT_EQ(launch({{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}, {"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}}).launcher,
            "pmi");
  EXPECT_EQ(launch({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"RANK", "1"}, {"WORLD_SIZE", "2"}}).launcher,
            "srun");
  // An empty variable counts as absent.
  EXPECT_EQ(launch({{"OMPI_COMM_WORLD_RANK", ""}, {"OMPI_COMM_WORLD_SIZE", ""}}).launcher, "none");
}

TEST(DistLaunch, MalformedNumbersNameTheVariable) {
  expect_refused({{"OMPI_COMM_WORLD_RANK", "one"}, {"OMPI_COMM_WORLD_SIZE", "2"}}, "OMPI_COMM_WORLD_RANK", "one");
  expect_refused({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2x"}}, "OMPI_COMM_WORLD_SIZE", "2x");
  expect_refused({{"PMI_RANK", "-1"}, {"PMI_SIZE", "2"}}, "PMI_RANK", "-1");
  expect_refused({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "0"}}, "SLURM_NTASKS", "0");
  expect_refused({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "99999999999"}}, "SLURM_NTASKS", "99999999999");
  expect_refused({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"LOCAL_RANK", "0.5"}}, "LOCAL_RANK", "0.5");
}

TEST(DistLaunch, InconsistentValuesNameTheVariable) {
  expect_refused({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "2"}}, "OMPI_COMM_WORLD_RANK", "2");
  expect_refused({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "3"}}, "SLURM_LOCALID", "3");
  // One of the pair missing.
  const auto [m1, k1] = refusal({{"WORLD_SIZE", "2"}});
  EXPECT_EQ(k1, "RANK") << m1;
  EXPECT_NE(m1.find("WORLD_SIZE = '2'"), std::string::npos) << m1;
  const auto [m2, k2] = refusal({{"PMI_RANK", "0"}});
  EXPECT_EQ(k2, "PMI_SIZE") << m2;
}

TEST(DistLaunch, TorchrunWorldNeedsMasterAddrAndPort) {
  const auto [m1, k1] = refusal({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(k1, "MASTER_ADDR") << m1;
  EXPECT_NE(m1.find("WORLD_SIZE = '2'"), std::string::npos) << m1;
  const auto [m2, k2] = refusal({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "localhost"}});
  EXPECT_EQ(k2, "MASTER_PORT") << m2;
  expect_refused({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}, "MASTER_PORT",
                 "70000");
  expect_refused({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "http"}}, "MASTER_PORT",
                 "http");
  expect_refused({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "0"}}, "MASTER_PORT", "0");
}

TEST(DistLaunch, DefaultReadsTheProcessEnvironment) {
  ::setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
  const LaunchInfo l = launch_from_environment();
  ::unsetenv("OMPI_COMM_WORLD_RANK");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  EXPECT_EQ(l.launcher, "mpirun");
  EXPECT_EQ(l.rank, 1);
  EXPECT_EQ(l.world_size, 3);
}
