#include "git/quick_ack.h"

#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace sluice::git {
namespace {

std::atomic<uint64_t> connections{0};

struct QuickAckStream {
  git_stream parent;  // first: libgit2 casts between the two
  std::string host;
  std::string port;
  int fd = -1;
};

QuickAckStream* Self(git_stream* s) { return reinterpret_cast<QuickAckStream*>(s); }

void SetNetError(const std::string& what) {
  git_error_set_str(GIT_ERROR_NET, (what + ": " + std::strerror(errno)).c_str());
}

void QuickAck(int fd) {
  const int on = 1;
  // Best effort: a socket that refuses it only keeps Linux's delayed ACK.
  (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

int Connect(git_stream* stream) {
  QuickAckStream* s = Self(stream);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(s->host.c_str(), s->port.c_str(), &hints, &found); rc != 0) {
    git_error_set_str(
        GIT_ERROR_NET,
        ("failed to resolve address for " + s->host + ": " + gai_strerror(rc)).c_str());
    return -1;
  }
  int fd = -1;
  int last_errno = 0;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    int rc;
    do {
      rc = connect(fd, a->ai_addr, a->ai_addrlen);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) break;
    last_errno = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) {
    errno = last_errno;
    SetNetError("failed to connect to " + s->host + ":" + s->port);
    return -1;
  }
  const int on = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  QuickAck(fd);
  s->fd = fd;
  connections.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

ssize_t Read(git_stream* stream, void* data, size_t len) {
  QuickAckStream* s = Self(stream);
  ssize_t got;
  do {
    got = recv(s->fd, data, len, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    SetNetError("error receiving data from " + s->host);
    return -1;
  }
  QuickAck(s->fd);
  return got;
}

ssize_t Write(git_stream* stream, const char* data, size_t len, int /*flags*/) {
  QuickAckStream* s = Self(stream);
  size_t sent = 0;
  while (sent < len) {
    ssize_t n = send(s->fd, data + sent, len - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      SetNetError("error sending data to " + s->host);
      return -1;
    }
    sent += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(len);
}

int Close(git_stream* stream) {
  QuickAckStream* s = Self(stream);
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  return 0;
}

void Free(git_stream* stream) {
  Close(stream);
  delete Self(stream);
}

int Init(git_stream** out, const char* host, const char* port) {
  auto* s = new QuickAckStream();
  s->parent.version = GIT_STREAM_VERSION;
  s->parent.encrypted = 0;
  s->parent.proxy_support = 0;
  s->parent.connect = Connect;
  s->parent.read = Read;
  s->parent.write = Write;
  s->parent.close = Close;
  s->parent.free = Free;
  s->host = host != nullptr ? host : "";
  s->port = port != nullptr ? port : "";
  *out = &s->parent;
  return 0;
}

}  // namespace

bool UseQuickAckSockets(std::string_view url) {
  if (url.rfind("git://", 0) != 0 && url.rfind("http://", 0) != 0) return false;
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    static git_stream_registration registration = {GIT_STREAM_VERSION, Init, nullptr};
    registered = git_stream_register(GIT_STREAM_STANDARD, &registration) == 0;
  });
  return registered;
}

uint64_t QuickAckConnections() { return connections.load(std::memory_order_relaxed); }

}  // namespace sluice::git
