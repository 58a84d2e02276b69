// The HTTP server against hostile clients (issue 18), in-process on a free
// port: slow-header clients, a huge chunked body, an over-long request line.
// Raw sockets for the attackers, libcurl for the well-behaved client.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"
#include "server/http_server.h"

namespace sluice::server {
namespace {

using Clock = std::chrono::steady_clock;

// A socket connected to 127.0.0.1:port from the loopback address `from`
// (127.0.0.0/8 is all loopback: many client addresses on one host), or -1.
int ConnectFrom(const std::string& from, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// VmRSS of this process in KiB (the server runs in it).
long RssKiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Reads what the server answers on `fd` until it closes or `limit` passes
// (poll with a deadline: the bound, not a synchronisation).
std::string ReadAnswer(int fd, std::chrono::seconds limit) {
  std::string got;
  auto deadline = Clock::now() + limit;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

class HostileClientsTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions o = {}) {
    o.listen = {"127.0.0.1", 0};
    o.webhook_secret = "hook-secret";
    server_ = std::make_unique<HttpServer>(
        o, metrics_, [] { return Result<std::string>(std::string("[]")); }, [] {}, clock_);
    ASSERT_TRUE(server_->Start().ok());
  }
  // GET /healthz with libcurl; the status (0 when no answer) and the time.
  std::pair<int, long> Healthz() {
    net::HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/healthz";
    req.timeout = std::chrono::seconds(5);
    auto started = Clock::now();
    auto res = http_.Send(req);
    long ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    return {res.ok() ? res->status : 0, ms};
  }

  Metrics metrics_{"9.9.9"};
  FakeClock clock_{TimePoint(std::chrono::seconds(1700000000))};
  net::CurlHttpClient http_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HostileClientsTest, HealthzAnswersWhile200ClientsTrickleHeaders) {
  StartServer();
  // 200 clients from 10 addresses (20 each, under the per-address cap),
  // each sending one header byte a second.
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = ConnectFrom("127.0.0." + std::to_string(2 + i / 20), server_->port());
    ASSERT_GE(fd, 0) << "client " << i << ": " << std::strerror(errno);
    fds.push_back(fd);
  }
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::atomic<bool> done{false};
  std::atomic<int> rounds{0};
  std::thread trickle([&] {
    for (size_t k = 0; !done; ++k) {
      for (int fd : fds) ::send(fd, &request[k % request.size()], 1, MSG_NOSIGNAL);
      ++rounds;
      // The attack's pace (one byte a second), not a synchronisation.
      for (int t = 0; t < 10 && !done; ++t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  // Ask all through three rounds of the attack (each answer bounded by the
  // client's 5 s timeout).
  long worst = 0;
  int asked = 0;
  while (rounds < 4) {
    auto [status, ms] = Healthz();
    EXPECT_EQ(status, 200) << "request " << asked;
    if (status != 200) break;
    worst = std::max(worst, ms);
    ++asked;
  }
  done = true;
  trickle.join();
  for (int fd : fds) ::close(fd);
  std::cout << "healthz under 200 slow clients: worst of " << asked << " = " << worst << " ms\n";
}

TEST_F(HostileClientsTest, OneAddressCannotTakeEveryConnection) {
  StartServer();
  // 80 connections from one address: the cap (64) refuses the rest, and
  // another address is still served.
  std::vector<int> fds;
  for (int i = 0; i < 80; ++i) {
    int fd = ConnectFrom("127.0.0.9", server_->port());
    if (fd >= 0) fds.push_back(fd);
  }
  // The refused ones are closed at once; wait for them (bounded).
  std::vector<bool> closed(fds.size(), false);
  size_t n_closed = 0;
  for (auto deadline = Clock::now() + std::chrono::seconds(5);
       n_closed < 8 && Clock::now() < deadline;) {
    std::vector<pollfd> ps;
    for (int fd : fds) ps.push_back({fd, POLLIN, 0});
    if (::poll(ps.data(), ps.size(), 500) <= 0) continue;
    for (size_t i = 0; i < ps.size(); ++i) {
      char c;
      if (!closed[i] && (ps[i].revents & (POLLIN | POLLHUP)) && ::recv(fds[i], &c, 1, 0) <= 0) {
        closed[i] = true;
        ++n_closed;
      }
    }
  }
  EXPECT_GE(n_closed, 8u);
  EXPECT_EQ(Healthz().first, 200);
  for (int fd : fds) ::close(fd);
}

TEST_F(HostileClientsTest, HeadersSlowerThanTheDeadlineAreCut) {
  ServerOptions o;
  o.header_deadline = std::chrono::seconds(2);
  StartServer(o);
  int fd = ConnectFrom("127.0.0.3", server_->port());
  ASSERT_GE(fd, 0);
  // A byte now and then never trips the idle timeout; the deadline does.
  auto started = Clock::now();
  const std::string request = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa";
  bool cut = false;
  for (size_t k = 0; k < request.size() && !cut; ++k) {
    if (::send(fd, &request[k], 1, MSG_NOSIGNAL) != 1) {
      cut = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) > 0) {
      char c;
      cut = ::recv(fd, &c, 1, 0) <= 0;
    }
  }
  ::close(fd);
  EXPECT_TRUE(cut)
      << "the connection was still open after "
      << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
      << " ms";
}

TEST_F(HostileClientsTest, HugeChunkedWebhookIs413WithoutReadingItAndRssStaysFlat) {
  StartServer();
  const long before = RssKiB();
  int fd = ConnectFrom("127.0.0.4", server_->port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  // Up to 500 MB in 64 KiB chunks, as long as the server takes them.
  const size_t kChunk = 64 * 1024;
  std::string chunk;
  {
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", kChunk);
    chunk = size_line + std::string(kChunk, 'x') + "\r\n";
  }
  size_t sent = 0;
  std::string answer;
  while (sent < 500u * 1024 * 1024) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0) break;  // neither reads nor answers: stop
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      answer = ReadAnswer(fd, std::chrono::seconds(5));
      break;
    }
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) {
      answer = ReadAnswer(fd, std::chrono::seconds(5));
      break;
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  ::close(fd);
  const long after = RssKiB();
  std::cout << "chunked body: sent " << sent / 1024 << " KiB before the answer; RSS " << before
            << " -> " << after << " KiB\n";
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer.substr(0, 200);
  EXPECT_LT(sent, 64u * 1024 * 1024);
  EXPECT_LT(after - before, 64 * 1024);
  EXPECT_EQ(Healthz().first, 200);
}

TEST_F(HostileClientsTest, A500MBBodyOnHealthzIsNeverRead) {
  StartServer();
  const long before = RssKiB();
  int fd = ConnectFrom("127.0.0.6", server_->port());
  ASSERT_GE(fd, 0);
  const std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 524288000\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const std::string block(64 * 1024, 'z');
  size_t sent = 0;
  std::string answer;
  while (sent < 500u * 1024 * 1024) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      answer = ReadAnswer(fd, std::chrono::seconds(5));
      break;
    }
    ssize_t n = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) break;
    if (n > 0) sent += static_cast<size_t>(n);
  }
  ::close(fd);
  const long after = RssKiB();
  std::cout << "500 MB body on GET /healthz: sent " << sent / 1024 << " KiB; RSS " << before
            << " -> " << after << " KiB\n";
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer.substr(0, 200);
  EXPECT_LT(sent, 64u * 1024 * 1024);
  EXPECT_LT(after - before, 64 * 1024);
}

TEST_F(HostileClientsTest, OverLongRequestLineAndHeadersAreRefused) {
  StartServer();
  for (const std::string& request :
       {"GET /" + std::string(1024 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1024 * 1024, 'b') +
            "\r\n\r\n"}) {
    int fd = ConnectFrom("127.0.0.5", server_->port());
    ASSERT_GE(fd, 0);
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    std::string answer = ReadAnswer(fd, std::chrono::seconds(5));
    ::close(fd);
    const std::string status = answer.substr(0, 12);
    EXPECT_TRUE(status == "HTTP/1.1 414" || status == "HTTP/1.1 431" || status == "HTTP/1.1 400" ||
                status == "HTTP/1.1 413")
        << "sent " << sent << " bytes, answer: " << answer.substr(0, 200);
  }
  EXPECT_EQ(Healthz().first, 200);
}

}  // namespace
}  // namespace sluice::server
