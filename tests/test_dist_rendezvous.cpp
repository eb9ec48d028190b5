// tests/test_dist_rendezvous.cpp: the TCP rendezvous that carries NCCL's
// unique id in torchrun-style runs (dist/rendezvous.h), between fork()ed
// processes on 127.0.0.1: rank 0's bytes reach every peer whatever the start
// order; a rank that never connects, or a rank 0 that never listens, ends the
// waiting rank within the timeout with one line naming whom it waited for; a
// busy port and a wrong world size are refused naming the variable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "dist/rendezvous.h"

using vd::dist::LaunchInfo;

namespace {

// A port free at the time of asking (bound to 0, read back, closed).
int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

LaunchInfo torchrun(int rank, int world, int port) {
  LaunchInfo l;
  l.rank = rank;
  l.world_size = world;
  l.local_rank = rank;
  l.launcher = "torchrun";
  l.master_addr = "127.0.0.1";
  l.master_port = port;
  return l;
}

// A child process running `body`; its stdout and stderr go to a pipe.
struct Child {
  pid_t pid = -1;
  int fd = -1;
};

Child spawn(const std::function<int()>& body) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    int code = 99;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "exception: %s\n", e.what());
      code = 98;
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(code);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

struct Ended {
  int code = -1;
  std::string output;
  double seconds = 0;
};

// Waits for the child (killing it after limit_s) and reads what it printed.
Ended finish(const Child& c, double limit_s = 30) {
  Ended e;
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  char buf[4096];
  ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
  for (;;) {
    pollfd p{c.fd, POLLIN, 0};
    ::poll(&p, 1, 20);
    ssize_t n;
    while ((n = ::read(c.fd, buf, sizeof buf)) > 0) e.output.append(buf, size_t(n));
    if (n == 0 && ::waitpid(c.pid, &status, 0) == c.pid) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > limit_s) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, &status, 0);
      e.output += "[killed after " + std::to_string(limit_s) + " s]";
      break;
    }
  }
  ::close(c.fd);
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return e;
}

std::string id_bytes() {
  std::string id(128, '\0');
  for (int i = 0; i < 128; ++i) id[size_t(i)] = char(i * 7 + 3);
  return id;
}

// A rank's body: rank 0 sends id_bytes(), the others print what they got.
std::function<int()> rank_body(int rank, int world, int port, double timeout_s) {
  return [=] {
    std::string buf = rank == 0 ? id_bytes() : std::string(128, 'x');
    vd::dist::rendezvous_broadcast(&buf[0], buf.size(), torchrun(rank, world, port), timeout_s);
    return buf == id_bytes() ? 0 : 1;
  };
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST(DistRendezvous, RankZerosBytesReachEveryPeerWhateverTheStartOrder) {
  const int port = free_port(), world = 4;
  std::vector<Child> peers;
  for (int r = 1; r < world; ++r) peers.push_back(spawn(rank_body(r, world, port, 20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the peers retry until rank 0 listens
  const Child root = spawn(rank_body(0, world, port, 20));
  for (const Child& c : peers) {
    const Ended e = finish(c);
    EXPECT_EQ(e.code, 0) << e.output;
  }
  const Ended e = finish(root);
  EXPECT_EQ(e.code, 0) << e.output;
}

TEST(DistRendezvous, WorldOfOneNeedsNoPeer) {
  std::string buf = "unchanged";
  vd::dist::rendezvous_broadcast(&buf[0], buf.size(), LaunchInfo{}, 1);
  EXPECT_EQ(buf, "unchanged");
}

TEST(DistRendezvous, ARankThatNeverConnectsEndsRankZeroWithOneLine) {
  const int port = free_port();
  const Child root = spawn(rank_body(0, 3, port, 1));
  const Child one = spawn(rank_body(1, 3, port, 1));  // rank 2 never comes
  const Ended e0 = finish(root), e1 = finish(one);
  EXPECT_EQ(e0.code, 1) << e0.output;
  EXPECT_TRUE(one_line(e0.output)) << e0.output;
  EXPECT_NE(e0.output.find("vididi: rank 0 of 3: the rendezvous waited 1 s for rank 2 to connect on port " +
                           std::to_string(port) + " (MASTER_PORT) (timeout; dist_timeout = 1); the run ends"),
            std::string::npos)
      << e0.output;
  EXPECT_LT(e0.seconds, 1 + 5);
  EXPECT_EQ(e1.code, 0) << e1.output;  // rank 1 had its bytes
}

TEST(DistRendezvous, NoRankZeroEndsThePeerWithOneLine) {
  const int port = free_port();
  const Ended e = finish(spawn(rank_body(1, 2, port, 1)));
  EXPECT_EQ(e.code, 1) << e.output;
  EXPECT_TRUE(one_line(e.output)) << e.output;
  EXPECT_NE(e.output.find("vididi: rank 1 of 2: the rendezvous waited 1 s for rank 0 at 127.0.0.1:" +
                          std::to_string(port) + " (MASTER_ADDR:MASTER_PORT) (timeout; dist_timeout = 1)"),
            std::string::npos)
      << e.output;
  EXPECT_LT(e.seconds, 1 + 5);
}

TEST(DistRendezvous, BusyPortIsRefusedNamingMasterPort) {
  // Another listener holds the port.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  const Ended e = finish(spawn([port] {
    try {
      std::string buf(16, 'a');
      vd::dist::rendezvous_broadcast(&buf[0], buf.size(), torchrun(0, 2, port), 2);
    } catch (const vd::UsageError& u) {
      std::printf("%s|%s\n", u.key().c_str(), u.what());
      return 0;
    }
    return 1;
  }));
  ::close(s);
  EXPECT_EQ(e.code, 0) << e.output;
  EXPECT_EQ(e.output.rfind("MASTER_PORT|MASTER_PORT = '" + std::to_string(port) + "'", 0), 0u) << e.output;
}

TEST(DistRendezvous, WorldSizesThatDisagreeAreRefusedOnRankZero) {
  const int port = free_port();
  const Child root = spawn([port] {
    try {
      std::string buf = id_bytes();
      vd::dist::rendezvous_broadcast(&buf[0], buf.size(), torchrun(0, 2, port), 5);
    } catch (const vd::UsageError& u) {
      std::printf("%s|%s\n", u.key().c_str(), u.what());
      return 0;
    }
    return 1;
  });
  const Child peer = spawn(rank_body(1, 3, port, 1));  // says 3
  const Ended e = finish(root), p = finish(peer);
  EXPECT_EQ(e.code, 0) << e.output;
  EXPECT_NE(e.output.find("WORLD_SIZE|rendezvous: rank 1 says the world size is 3 and rank 0 says 2"),
            std::string::npos)
      << e.output;
  EXPECT_EQ(p.code, 1) << p.output;  // its rank 0 went away: the peer times out
}

TEST(DistRendezvous, AStrayConnectionIsIgnored) {
  const int port = free_port(), world = 2;
  const Child root = spawn(rank_body(0, world, port, 10));
  // Something else connects first and sends garbage, then the real peer comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char junk[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";  // longer than a hello
    ::send(s, junk, sizeof junk, MSG_NOSIGNAL);
  }
  const Child peer = spawn(rank_body(1, world, port, 10));
  const Ended p = finish(peer), e = finish(root);
  ::close(s);
  EXPECT_EQ(p.code, 0) << p.output;
  EXPECT_EQ(e.code, 0) << e.output;
}
