// A full disk for one directory, for the fault tests: preloaded
// (LD_PRELOAD) into the `sluice` binary, it makes every write to a file
// under $SLUICE_FAULT_FULL_DIR fail with ENOSPC ("No space left on device")
// while the file $SLUICE_FAULT_FULL_FLAG exists, as a filled-up filesystem
// does. Everything else (other directories, pipes, sockets) writes as
// usual, so the remote and the adapter's own files are unaffected.
//
// Not built with the sanitizers (tests/CMakeLists.txt): the binary's
// children (git, the deploy script) load it too.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

bool Full(int fd) {
  const char* dir = getenv("SLUICE_FAULT_FULL_DIR");
  const char* flag = getenv("SLUICE_FAULT_FULL_FLAG");
  if (!dir || !flag || !*dir || access(flag, F_OK) != 0) return false;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  size_t len = strlen(dir);
  return strncmp(target, dir, len) == 0 && (target[len] == '/' || target[len] == '\0');
}

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buf, size_t count) {
  static auto next = Next<ssize_t (*)(int, const void*, size_t)>("write");
  if (count > 0 && Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return next(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  static auto next = Next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (count > 0 && Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return next(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  static auto next = Next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  if (count > 0 && Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return next(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  static auto next = Next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (iovcnt > 0 && Full(fd)) {
    errno = ENOSPC;
    return -1;
  }
  return next(fd, iov, iovcnt);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  static auto next = Next<int (*)(int, off_t, off_t)>("posix_fallocate");
  if (Full(fd)) return ENOSPC;
  return next(fd, offset, len);
}

}  // extern "C"
