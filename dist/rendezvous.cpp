// dist/rendezvous.cpp: rendezvous_broadcast() (dist/rendezvous.h) over POSIX
// TCP sockets, every wait a poll() against the deadline. The exchange: a
// peer connects and sends a 24-byte hello (magic "VDRDV001", its rank and
// world size as u32, n as u64, big-endian); rank 0 checks it and answers with
// the n bytes. A hello with a wrong magic (a stray connection) is dropped; one
// that disagrees on the world size or n is a UsageError on rank 0, naming
// both. Not here: what the bytes mean (dist/nccl.cpp).
#include "dist/rendezvous.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>

#include "core/errors.h"
#include "dist/timeout.h"

namespace vd::dist {

namespace {

constexpr char kMagic[8] = {'V', 'D', 'R', 'D', 'V', '0', '0', '1'};
constexpr size_t kHello = 24;

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void put_u32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = (unsigned char)(v >> (24 - 8 * i));
}
void put_u64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = (unsigned char)(v >> (56 - 8 * i));
}
uint32_t get_u32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

int ms_left(const std::chrono::steady_clock::time_point& until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
  return int(std::max<int64_t>(0, std::min<int64_t>(left.count(), 1000)));
}

// Reads or writes all n bytes of a non-blocking socket before `until`; false
// on a closed or failed connection or the deadline.
bool io_all(int fd, void* buf, size_t n, bool write, std::chrono::steady_clock::time_point until) {
  char* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < n) {
    const ssize_t k = write ? ::send(fd, p + done, n - done, MSG_NOSIGNAL) : ::recv(fd, p + done, n - done, 0);
    if (k > 0) {
      done += size_t(k);
      continue;
    }
    if (k == 0 && !write) return false;  // closed
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    if (std::chrono::steady_clock::now() >= until) return false;
    pollfd pfd{fd, short(write ? POLLOUT : POLLIN), 0};
    ::poll(&pfd, 1, std::max(1, ms_left(until)));
  }
  return true;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string list_ranks(const std::set<int>& ranks) {
  std::string s = ranks.size() == 1 ? "rank " : "ranks ";
  bool first = true;
  for (int r : ranks) {
    s += (first ? "" : ", ") + std::to_string(r);
    first = false;
  }
  return s;
}

Fd listen_on(int port) {
  const std::string hint = "; hint: choose a free MASTER_PORT on rank 0's host (e.g. 29500 + a job number)";
  Fd s(::socket(AF_INET6, SOCK_STREAM, 0));
  int one = 1, zero = 0;
  if (s.fd >= 0) {
    ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    a.sin6_port = htons(uint16_t(port));
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      const int err = errno;
      if (err == EADDRINUSE || err == EACCES)
        throw UsageError("MASTER_PORT = '" + std::to_string(port) + "': rank 0 cannot listen on it (" +
                             std::strerror(err) + ")" + hint,
                         "MASTER_PORT", "environment");
      s = Fd();  // no IPv6 here: IPv4 below
    }
  }
  if (s.fd < 0) {
    s = Fd(::socket(AF_INET, SOCK_STREAM, 0));
    VD_CHECK(s.fd >= 0, "rendezvous: socket(): " << std::strerror(errno));
    ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    a.sin_port = htons(uint16_t(port));
    if (::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw UsageError("MASTER_PORT = '" + std::to_string(port) + "': rank 0 cannot listen on it (" +
                           std::strerror(errno) + ")" + hint,
                       "MASTER_PORT", "environment");
  }
  VD_CHECK(::listen(s.fd, 128) == 0, "rendezvous: listen(): " << std::strerror(errno));
  set_nonblocking(s.fd);
  return s;
}

void serve(const void* data, size_t n, const LaunchInfo& launch, double timeout_s) {
  detail::Deadline deadline(timeout_s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(timeout_s));
  Fd server = listen_on(launch.master_port);
  std::set<int> waiting;
  for (int r = 1; r < launch.world_size; ++r) waiting.insert(r);
  while (!waiting.empty()) {
    if (deadline.expired())
      detail::end_job_after_timeout(0, launch.world_size, "the rendezvous",
                                    list_ranks(waiting) + " to connect on port " + std::to_string(launch.master_port) +
                                        " (MASTER_PORT)",
                                    timeout_s);
    pollfd pfd{server.fd, POLLIN, 0};
    ::poll(&pfd, 1, std::max(1, ms_left(until)));
    Fd peer(::accept(server.fd, nullptr, nullptr));
    if (peer.fd < 0) continue;
    set_nonblocking(peer.fd);
    // A peer sends its hello as soon as it is connected: a connection that
    // does not within 2 s is not one of ours.
    const auto hello_until = std::min(until, std::chrono::steady_clock::now() + std::chrono::seconds(2));
    unsigned char hello[kHello];
    if (!io_all(peer.fd, hello, kHello, false, hello_until) || std::memcmp(hello, kMagic, 8) != 0) continue;
    const int rank = int(get_u32(hello + 8)), world = int(get_u32(hello + 12));
    const uint64_t size = get_u64(hello + 16);
    if (world != launch.world_size)
      throw UsageError("rendezvous: rank " + std::to_string(rank) + " says the world size is " + std::to_string(world) +
                           " and rank 0 says " + std::to_string(launch.world_size) +
                           " (WORLD_SIZE); hint: give every rank the same WORLD_SIZE",
                       "WORLD_SIZE", "environment");
    VD_CHECK(size == n, "rendezvous: rank " << rank << " expects " << size << " bytes, rank 0 sends " << n
                                            << "; hint: every rank must run the same vididi build");
    if (!waiting.count(rank)) continue;  // out of range, or a second connection of a served rank
    if (io_all(peer.fd, const_cast<void*>(data), n, true, until)) waiting.erase(rank);
  }
}

void join(void* data, size_t n, const LaunchInfo& launch, double timeout_s) {
  detail::Deadline deadline(timeout_s);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(timeout_s));
  const std::string where = launch.master_addr + ":" + std::to_string(launch.master_port);
  unsigned char hello[kHello];
  std::memcpy(hello, kMagic, 8);
  put_u32(hello + 8, uint32_t(launch.rank));
  put_u32(hello + 12, uint32_t(launch.world_size));
  put_u64(hello + 16, uint64_t(n));
  for (;;) {
    if (deadline.expired())
      detail::end_job_after_timeout(launch.rank, launch.world_size, "the rendezvous",
                                    "rank 0 at " + where + " (MASTER_ADDR:MASTER_PORT)", timeout_s);
    addrinfo hints{}, *found = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const int rc = ::getaddrinfo(launch.master_addr.c_str(), std::to_string(launch.master_port).c_str(), &hints, &found);
    if (rc == EAI_NONAME || rc == EAI_FAIL || rc == EAI_SERVICE)
      throw UsageError("MASTER_ADDR = '" + launch.master_addr + "': rank " + std::to_string(launch.rank) +
                           " cannot resolve it (" + ::gai_strerror(rc) + "); hint: rank 0's host name or address",
                       "MASTER_ADDR", "environment");
    for (addrinfo* a = found; rc == 0 && a; a = a->ai_next) {
      Fd s(::socket(a->ai_family, a->ai_socktype, a->ai_protocol));
      if (s.fd < 0) continue;
      set_nonblocking(s.fd);
      if (::connect(s.fd, a->ai_addr, a->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) continue;
        pollfd pfd{s.fd, POLLOUT, 0};
        if (::poll(&pfd, 1, std::max(1, ms_left(until))) <= 0) continue;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) continue;
      }
      if (io_all(s.fd, hello, kHello, true, until) && io_all(s.fd, data, n, false, until)) {
        ::freeaddrinfo(found);
        return;
      }
    }
    if (found) ::freeaddrinfo(found);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // rank 0 is not listening yet
  }
}

}  // namespace

void rendezvous_broadcast(void* data, size_t n, const LaunchInfo& launch, double timeout_s) {
  if (launch.world_size <= 1) return;
  VD_USER_CHECK(launch.master_port > 0 && !launch.master_addr.empty(),
                "rendezvous: " << launch.str() << " without MASTER_ADDR/MASTER_PORT; hint: export MASTER_ADDR=<rank 0's "
                               << "host> MASTER_PORT=29500 on every rank");
  if (launch.rank == 0)
    serve(data, n, launch, timeout_s);
  else
    join(data, n, launch, timeout_s);
}

}  // namespace vd::dist
