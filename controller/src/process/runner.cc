// Boost.Process offers vfork (bp::posix::use_vfork) only where the feature
// macros still name it; glibc has it whatever they say.
#define BOOST_POSIX_HAS_VFORK 1
#include "process/runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/async_pipe.hpp>
#include <boost/process/child.hpp>
#include <boost/process/error.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/io.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "core/secrets.h"
#include "core/text.h"

namespace sluice::process {

namespace bp = boost::process;
namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr size_t kMinSecretLength = 4;
// A line longer than this is streamed in pieces so that output without
// newlines cannot grow memory without bound.
constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
// Upper bound on what is read from a pipe after the child is gone: a
// process that escaped the group could otherwise keep the drain busy.
constexpr size_t kMaxDrainBytes = 4 * 1024 * 1024;
constexpr milliseconds kMaxPollInterval{20};
constexpr milliseconds kGroupExitWait{5000};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The secrets worth redacting, longest first so that a secret containing
// another one is replaced whole. A secret spanning several lines also
// contributes each of its lines, because streamed output is redacted line by
// line.
std::vector<std::string> PrepareSecrets(const std::vector<std::string>& secrets, bool split_lines) {
  std::vector<std::string> out;
  auto add = [&](std::string_view s) {
    if (s.size() >= kMinSecretLength) out.emplace_back(s);
  };
  for (const std::string& s : secrets) {
    add(s);
    if (split_lines && s.find('\n') != std::string::npos) {
      size_t start = 0;
      while (start <= s.size()) {
        size_t end = s.find('\n', start);
        if (end == std::string::npos) end = s.size();
        std::string_view line(s.data() + start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        add(line);
        start = end + 1;
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// `secrets` as returned by PrepareSecrets.
std::string RedactPrepared(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const std::string& secret : secrets) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return out;
}

// Splits one output stream into lines, redacts them, streams them to the
// sink and keeps the last `cap` bytes (already redacted) for the result.
class LineCollector {
 public:
  LineCollector(bool is_stderr, size_t cap, const std::vector<std::string>& secrets,
                const LineSink& sink)
      : is_stderr_(is_stderr), cap_(cap), secrets_(secrets), sink_(sink) {
    for (const std::string& s : secrets_) max_secret_ = std::max(max_secret_, s.size());
  }

  void Feed(std::string_view data) {
    while (!data.empty()) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(data);
        if (partial_.size() > kMaxLineBytes) {
          // Keep a possible secret prefix back so it is not split in two.
          size_t keep = max_secret_ > 0 ? std::min(partial_.size(), max_secret_ - 1) : 0;
          size_t emit = partial_.size() - keep;
          Emit(std::string_view(partial_).substr(0, emit), /*newline=*/false);
          partial_.erase(0, emit);
        }
        return;
      }
      partial_.append(data.substr(0, nl));
      Emit(partial_, /*newline=*/true);
      partial_.clear();
      data.remove_prefix(nl + 1);
    }
  }

  // Flushes a last line that had no newline.
  void Finish() {
    if (!partial_.empty()) Emit(partial_, /*newline=*/false);
    partial_.clear();
  }

  std::string TakeTail(bool* truncated) {
    if (tail_.size() > cap_) {
      tail_.erase(0, tail_.size() - TailUtf8(tail_, cap_).size());
      truncated_ = true;
    }
    *truncated = truncated_;
    return std::move(tail_);
  }

 private:
  void Emit(std::string_view raw, bool newline) {
    std::string line = RedactPrepared(raw, secrets_);
    if (sink_) sink_(line, is_stderr_);
    tail_ += line;
    if (newline) tail_ += '\n';
    // Trim in amortised steps rather than on every line.
    if (tail_.size() > 2 * cap_ + kReadChunk) {
      tail_.erase(0, tail_.size() - cap_);
      truncated_ = true;
    }
  }

  const bool is_stderr_;
  const size_t cap_;
  const std::vector<std::string>& secrets_;
  const LineSink& sink_;
  size_t max_secret_ = 0;
  std::string partial_;
  std::string tail_;
  bool truncated_ = false;
};

// Gives the standard descriptors a target if the controller was started
// with one of them closed: otherwise a pipe could be created as fd 0-2 and
// be clobbered by the dup2() calls that set up the child.
void EnsureStandardDescriptors() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int fd = 0; fd < 3; ++fd) {
      if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
        int opened = ::open("/dev/null", O_RDWR);
        if (opened != fd && opened >= 0) ::close(opened);
      }
    }
  });
}

// Serialises pipe creation and fork: Boost.Process 1.74 creates its pipes
// without O_CLOEXEC, so a fork on another thread between pipe() and our
// fcntl() would leak this child's pipe ends into that child, which would
// hold them open.
std::mutex& SpawnMutex() {
  static std::mutex mu;
  return mu;
}

void SetCloexec(int fd) {
  if (fd < 0) return;
  int flags = ::fcntl(fd, F_GETFD);
  if (flags != -1) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// Blocks every signal on the calling thread for its scope (around a vfork:
// the child inherits the mask and clears it after resetting its handlers).
class ScopedAllSignalsBlock {
 public:
  ScopedAllSignalsBlock() {
    sigset_t all;
    sigfillset(&all);
    blocked_ = pthread_sigmask(SIG_SETMASK, &all, &old_) == 0;
  }
  ~ScopedAllSignalsBlock() {
    if (blocked_) pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedAllSignalsBlock(const ScopedAllSignalsBlock&) = delete;
  ScopedAllSignalsBlock& operator=(const ScopedAllSignalsBlock&) = delete;

 private:
  sigset_t old_;
  bool blocked_ = false;
};

// Blocks SIGPIPE on the calling thread while the child's stdin is written,
// so that a child which exits without reading its input makes write() fail
// with EPIPE instead of killing the controller. A SIGPIPE raised meanwhile
// is consumed before the previous mask is restored.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_) == 0) {
      blocked_ = !sigismember(&old_, SIGPIPE);
    }
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool blocked_ = false;
};

int ExitCodeFromStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

pid_t WaitPidRetry(pid_t pid, int* status, int options) {
  pid_t r;
  do {
    r = ::waitpid(pid, status, options);
  } while (r == -1 && errno == EINTR);
  return r;
}

// True if some process of group `pgid` is still alive (zombies do not
// count: they are dead, waiting for a parent that is not us to reap them).
bool GroupHasLiveMember(pid_t pgid) {
  if (::kill(-pgid, 0) == -1 && errno == ESRCH) return false;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return false;  // Cannot tell; do not wait on a guess.
  bool alive = false;
  while (dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] < '0' || name[0] > '9') continue;
    std::ifstream stat_file(std::string("/proc/") + name + "/stat");
    std::string stat;
    if (!std::getline(stat_file, stat)) continue;
    // "pid (comm) state ppid pgrp ..."; comm may contain spaces and parens.
    size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) continue;
    char state = stat[close + 2];
    long ppid = 0, pgrp = 0;
    if (std::sscanf(stat.c_str() + close + 3, "%ld %ld", &ppid, &pgrp) != 2) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X' && state != 'x') {
      alive = true;
      break;
    }
  }
  ::closedir(dir);
  return alive;
}

// The guard of the children's process groups: one process per controller
// process, forked at its first child, that kills every group it watches
// when the controller dies.
//
// PR_SET_PDEATHSIG (set in the child before execve) kills the adapter
// itself when the controller dies, but only the adapter: its own children
// (a deploy script's helm, a background job) would be orphaned and run on.
// The guard covers them. It holds one end of a socket pair whose other end
// only the controller holds (SOCK_CLOEXEC, so no adapter inherits it): when
// the controller dies, however it dies (kill -9 included), the kernel closes
// that end, the guard's recv() returns end-of-file and it sends SIGKILL to
// every group it still watches. Each run asks it to watch the child's group
// right after the spawn and to stop before it reaps the child; the guard
// acknowledges each request, so once a run reaps its child (and the group
// id may be reused) the guard no longer kills that group. The guard runs as
// the controller's user (so it can kill a group that runs as runAs) and
// blocks every signal it can, so a Ctrl-C aimed at the controller's
// terminal does not end it before the controller.
//
// Why one guard and not one per run: a guard is a forked copy of the
// controller, and while a forked copy lives, every page the controller
// writes is copied first (a page fault and a TLB flush each). A copy per
// apply cost a fleet-wide pass two thirds of its time; one copy costs each
// page once.
//
// In the forked guard: async-signal-safe calls only.
class GroupGuards {
 public:
  // The process's guard (a forked copy of a process that had one starts
  // its own).
  static GroupGuards& Get() {
    static GroupGuards* guards = new GroupGuards();  // lives as long as the process
    return *guards;
  }

  // Watches group `pgid` until Release. Call with SpawnMutex() held (a fork
  // of the guard must not take another child's pipe ends along).
  Status Watch(pid_t pgid) {
    std::lock_guard lock(mu_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (Status s = StartLocked(); !s.ok()) return s;
      switch (AskLocked('+', pgid)) {
        case Answer::kYes:
          watched_.push_back(pgid);
          return Status::Ok();
        case Answer::kNo:  // its table is full: the others stay watched
          return Status::IOError("the process group guard watches " + std::to_string(kMaxGroups) +
                                 " groups already (group " + std::to_string(pgid) + " is stopped)");
        case Answer::kGone:
          StopLocked();  // the next one starts afresh
          break;
      }
    }
    return Status::IOError("the process group guard does not answer (group " +
                           std::to_string(pgid) + " would outlive a dead controller)");
  }

  // Stops watching `pgid`; returns once the guard has let go of it.
  void Release(pid_t pgid) {
    std::lock_guard lock(mu_);
    auto it = std::find(watched_.begin(), watched_.end(), pgid);
    if (it == watched_.end()) return;
    watched_.erase(it);
    if (owner_ != ::getpid() || sock_ < 0) return;
    // A guard that does not acknowledge is gone: stop it for good, so it
    // cannot kill the group once its id is reused.
    if (AskLocked('-', pgid) == Answer::kGone) StopLocked();
  }

 private:
  struct Request {
    char op;  // '+' watch, '-' release
    pid_t pgid;
  };
  static constexpr size_t kMaxGroups = 4096;

  GroupGuards() = default;

  Status StartLocked() {
    if (owner_ != ::getpid()) {
      // Inherited from the process this one was forked from: its guard is
      // not ours, and its socket must stay that process's alone.
      if (sock_ >= 0) ::close(sock_);
      sock_ = -1;
      pid_ = -1;
      watched_.clear();
      owner_ = ::getpid();
    }
    if (sock_ >= 0) return Status::Ok();
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
      return Status::IOError(std::string("cannot create the process group guard's socket: ") +
                             std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid == -1) {
      int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      return Status::IOError(std::string("cannot fork the process group guard: ") +
                             std::strerror(err));
    }
    if (pid == 0) Guard(fds[1], fds[0]);  // never returns
    ::close(fds[1]);
    sock_ = fds[0];
    pid_ = pid;
    // A guard started again (the last one was killed) takes over the
    // groups of the runs still going.
    for (pid_t g : watched_) {
      if (AskLocked('+', g) != Answer::kYes) {
        StopLocked();
        return Status::IOError("the process group guard does not answer");
      }
    }
    return Status::Ok();
  }

  // Sends one request and waits for the guard's answer. Only kGone stops
  // the guard: closing its socket makes it kill every group it watches.
  enum class Answer { kYes, kNo, kGone };
  Answer AskLocked(char op, pid_t pgid) {
    Request req{op, pgid};
    ssize_t n;
    do {
      n = ::send(sock_, &req, sizeof(req), MSG_NOSIGNAL);
    } while (n == -1 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof(req))) return Answer::kGone;
    char ack = 0;
    do {
      n = ::recv(sock_, &ack, 1, 0);
    } while (n == -1 && errno == EINTR);
    if (n != 1) return Answer::kGone;
    return ack == 1 ? Answer::kYes : Answer::kNo;
  }

  void StopLocked() {
    if (sock_ >= 0) ::close(sock_);  // end-of-file: it kills what it watches, then exits
    sock_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      WaitPidRetry(pid_, &status, 0);
    }
    pid_ = -1;
  }

  [[noreturn]] static void Guard(int sock, int controller_end) {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::prctl(PR_SET_NAME, "sluice-guard", 0, 0, 0);
    // Nothing of the controller's stays open here (its sockets, its log,
    // children's pipes): only the socket it listens on.
    ::close(controller_end);  // its own copy would keep the end-of-file away
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      ::dup2(null_fd, 0);
      ::dup2(null_fd, 1);
      ::dup2(null_fd, 2);
    }
    if (sock > 3) ::close_range(3, static_cast<unsigned>(sock) - 1, 0);
    ::close_range(static_cast<unsigned>(sock) + 1, ~0U, 0);
    static pid_t groups[kMaxGroups];  // this copy's own: no allocation after fork
    size_t count = 0;
    for (;;) {
      Request req;
      ssize_t n = ::recv(sock, &req, sizeof(req), 0);
      if (n == -1 && errno == EINTR) continue;
      if (n != static_cast<ssize_t>(sizeof(req))) break;  // end-of-file: the controller is gone
      char ack = 1;
      if (req.op == '+' && count < kMaxGroups && req.pgid > 1) {
        groups[count++] = req.pgid;
      } else if (req.op == '-') {
        for (size_t i = 0; i < count; ++i) {
          if (groups[i] == req.pgid) {
            groups[i] = groups[--count];
            break;
          }
        }
      } else {
        ack = 0;
      }
      if (::send(sock, &ack, 1, MSG_NOSIGNAL) != 1) break;
    }
    for (size_t i = 0; i < count; ++i) ::kill(-groups[i], SIGKILL);
    ::_exit(0);
  }

  std::mutex mu_;
  pid_t owner_ = -1;  // the process whose guard pid_ is
  pid_t pid_ = -1;
  int sock_ = -1;
  std::vector<pid_t> watched_;  // the groups of the runs going on
};

// One run of one child. Everything happens on the calling thread: the
// io_context is private to this run.
class ChildRun {
 public:
  ChildRun(const ProcessSpec& spec, std::string exe, CancelToken* cancel,
           std::optional<RunAs> as = std::nullopt)
      : spec_(spec),
        as_(std::move(as)),
        exe_(std::move(exe)),
        cancel_(cancel),
        // The controller's own secrets (forge token, Git password, webhook
        // secrets) too: a child should never hold them, but if one prints a
        // value it found somewhere, it must not reach the record or a log.
        secrets_(PrepareSecrets(
            Concat(Concat(spec.secrets, SecretsFromEnvironment(spec.env)), RegisteredSecrets()),
            /*split_lines=*/true)),
        out_(/*is_stderr=*/false, spec.output_cap, secrets_, spec.on_line),
        err_(/*is_stderr=*/true, spec.output_cap, secrets_, spec.on_line),
        timer_(ios_) {}

  ~ChildRun() {
    // Reached with a live child only when something threw: never leave it
    // running or unreaped.
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      GroupGuards::Get().Release(pid_);
      int status = 0;
      WaitPidRetry(pid_, &status, 0);
    }
  }

  ChildRun(const ChildRun&) = delete;
  ChildRun& operator=(const ChildRun&) = delete;

  Result<ProcessResult> Run() {
    std::vector<char*> argv_ptrs;
    for (const std::string& a : spec_.argv) argv_ptrs.push_back(const_cast<char*>(a.c_str()));
    argv_ptrs.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (const auto& [name, value] : spec_.env) env_strings.push_back(name + "=" + value);
    std::vector<char*> env_ptrs;
    for (std::string& e : env_strings) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
    const char* cwd = spec_.cwd.empty() ? nullptr : spec_.cwd.c_str();

    ScopedSigpipeBlock sigpipe_block;
    start_ = steady_clock::now();
    Status spawned = Spawn(argv_ptrs.data(), env_ptrs.data(), cwd);
    if (!spawned.ok()) return spawned;

    if (spec_.timeout.count() > 0) deadline_ = start_ + spec_.timeout;
    StartStdin();
    StartRead(*out_pipe_, out_buf_, out_, out_eof_);
    StartRead(*err_pipe_, err_buf_, err_, err_eof_);
    ScheduleTick(milliseconds(1));
    ios_.run();
    if (!leader_exited_)
      return Status::Internal("process runner stopped before " + Name() + " exited");

    // The leader is a zombie (waitid WNOWAIT), so its pid still names the
    // group: kill what is left of the group, then reap the leader.
    ::kill(-pid_, SIGKILL);
    // The guard lets go first, while the zombie leader still holds the
    // group id (GroupGuards).
    GroupGuards::Get().Release(pid_);
    int status = 0;
    if (WaitPidRetry(pid_, &status, 0) != pid_) {
      return Status::IOError("cannot reap " + Name() + ": " +
                             std::error_code(errno, std::generic_category()).message());
    }
    reaped_ = true;
    WaitForGroupExit();

    // Output written before the exit is still in the pipes.
    Drain(*out_pipe_, out_);
    Drain(*err_pipe_, err_);
    out_.Finish();
    err_.Finish();

    ProcessResult result;
    result.exit_code = ExitCodeFromStatus(status);
    result.timed_out = timed_out_;
    result.cancelled = cancelled_;
    result.duration = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start_);
    result.stdout_tail = out_.TakeTail(&result.stdout_truncated);
    result.stderr_tail = err_.TakeTail(&result.stderr_truncated);
    return result;
  }

 private:
  static std::vector<std::string> Concat(std::vector<std::string> a,
                                         const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  std::string Name() const { return "\"" + spec_.argv[0] + "\""; }

  Status Spawn(char** argv, char** envp, const char* cwd) {
    const bool drop = as_.has_value();
    const uid_t uid = drop ? as_->uid : 0;
    const gid_t gid = drop ? as_->gid : 0;
    // The controller's pid as the child sees its parent: if the parent has
    // changed by the time the death signal is set, the controller is gone.
    const pid_t controller = ::getpid();
    std::error_code ec;
    pid_t failed_pid = -1;
    std::lock_guard lock(SpawnMutex());
    in_pipe_.emplace(ios_);
    out_pipe_.emplace(ios_);
    err_pipe_.emplace(ios_);
    for (bp::async_pipe* p : {&*in_pipe_, &*out_pipe_, &*err_pipe_}) {
      SetCloexec(p->native_source());
      SetCloexec(p->native_sink());
    }
    // vfork: the child borrows the controller's memory until its execve, so
    // nothing of it is copied or write-protected (a fork of a large
    // controller costs every page it writes afterwards a fault). What runs
    // in the child before execve is then what posix_spawn's child does:
    // system calls, and no glibc call that signals or waits for the
    // controller's other threads. Every signal stays blocked until
    // the child has reset its handlers, so none runs a controller handler on
    // the borrowed memory.
    ScopedAllSignalsBlock no_signals;
    bp::child child(
        bp::posix::use_vfork, bp::exe = exe_, bp::std_in<*in_pipe_, bp::std_out> * out_pipe_,
        bp::std_err > *err_pipe_,
        // Runs after Boost's own setup: keep argv[0] as given (Boost puts the
        // executable path there) and give the child exactly spec.env.
        bp::extend::on_setup([argv, envp](auto& exec) {
          exec.cmd_line = argv;
          exec.env = envp;
        }),
        // In the forked child, before execve: async-signal-safe calls only.
        bp::extend::on_exec_setup([cwd, drop, uid, gid, controller](auto& exec) {
          // Repository code runs as its own account (runAs): the
          // groups first, then gid, then uid (after which no
          // change back is possible).
          // System calls, not glibc's wrappers: those would signal every
          // thread of the controller (set*id applies to a whole process).
          if (drop && (::syscall(SYS_setgroups, 1, &gid) != 0 || ::syscall(SYS_setgid, gid) != 0 ||
                       ::syscall(SYS_setuid, uid) != 0)) {
            exec.set_error(bp::detail::get_last_error(), "dropping to runAs failed");
            ::_exit(127);
          }
          // The child dies with the controller (kill -9 included), so a
          // new owner's crash recovery never runs beside it. After the drop
          // to runAs: changing credentials clears the death signal. The
          // signal follows the *thread* that forked, which is the one
          // blocked in Run() until the child is gone. If the controller died
          // before this line, nothing would send it: leave now.
          if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
            exec.set_error(bp::detail::get_last_error(), "prctl(PR_SET_PDEATHSIG) failed");
            ::_exit(127);
          }
          if (::getppid() != controller) ::_exit(127);
          if (::setpgid(0, 0) != 0) {
            exec.set_error(bp::detail::get_last_error(), "setpgid() failed");
            ::_exit(127);
          }
          // Ignored signals and the signal mask survive execve; the child
          // starts from the defaults whatever the controller uses.
          struct sigaction dfl;
          std::memset(&dfl, 0, sizeof(dfl));
          dfl.sa_handler = SIG_DFL;
          for (int sig = 1; sig < 32; ++sig) {
            if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
          }
          sigset_t none;
          sigemptyset(&none);
          ::sigprocmask(SIG_SETMASK, &none, nullptr);
          // Boost's start_dir ignores a chdir() failure; do it here instead.
          if (cwd != nullptr && ::chdir(cwd) != 0) {
            exec.set_error(bp::detail::get_last_error(), "chdir() failed");
            ::_exit(127);
          }
        }),
        bp::extend::on_error(
            [&failed_pid](auto& exec, const std::error_code&) { failed_pid = exec.pid; }),
        ec);
    if (ec) {
      // Boost returns an empty child when exec fails, but the forked process
      // exists: reap it.
      if (failed_pid > 0) {
        int status = 0;
        WaitPidRetry(failed_pid, &status, 0);
      }
      std::string why = Name() + " (" + exe_ + "): " + ec.message();
      switch (ec.value()) {
        case ENOENT:
        case EACCES:
        case ENOEXEC:
        case ENOTDIR:
        case EISDIR:
        case ELOOP:
        case EPERM:
          return Status::NotFound("cannot execute " + why);
        default:
          return Status::IOError("cannot start " + why);
      }
    }
    pid_ = child.id();
    // From here on this object reaps the child itself (waitid/waitpid), so
    // Boost's child must not try to.
    child.detach();
    // The child's own children die with the controller too.
    Status guarded = GroupGuards::Get().Watch(pid_);
    if (!guarded.ok()) {
      ::kill(-pid_, SIGKILL);
      int status = 0;
      WaitPidRetry(pid_, &status, 0);
      reaped_ = true;
      return guarded;
    }
    return Status::Ok();
  }

  void StartStdin() {
    if (spec_.stdin_data.empty()) {
      CloseStdin();
      return;
    }
    asio::async_write(*in_pipe_, asio::buffer(spec_.stdin_data),
                      [this](const boost::system::error_code&, size_t) { CloseStdin(); });
  }

  void CloseStdin() {
    boost::system::error_code ignored;
    in_pipe_->close(ignored);
  }

  void StartRead(bp::async_pipe& pipe, std::array<char, kReadChunk>& buf, LineCollector& collector,
                 bool& eof) {
    pipe.async_read_some(asio::buffer(buf), [this, &pipe, &buf, &collector, &eof](
                                                const boost::system::error_code& ec, size_t n) {
      if (n > 0) collector.Feed(std::string_view(buf.data(), n));
      if (ec) {
        eof = true;
        // Both pipes closed usually means the child is exiting: look now.
        if (!leader_exited_ && out_eof_ && err_eof_) ScheduleTick(milliseconds(1));
        return;
      }
      if (!leader_exited_) StartRead(pipe, buf, collector, eof);
    });
  }

  // Polls the leader's exit, the timeout and the cancel token. A pending
  // tick is superseded by a newer one (generation counter).
  void ScheduleTick(milliseconds after) {
    interval_ = after;
    uint64_t gen = ++tick_generation_;
    timer_.expires_after(after);
    timer_.async_wait([this, gen](const boost::system::error_code& ec) {
      if (ec || gen != tick_generation_) return;
      Tick();
    });
  }

  void Tick() {
    if (LeaderExited()) {
      leader_exited_ = true;
      CloseStdin();
      out_pipe_->cancel();
      err_pipe_->cancel();
      return;  // Nothing is rescheduled: ios_.run() returns.
    }
    auto now = steady_clock::now();
    if (!killing_) {
      if (cancel_ != nullptr && cancel_->cancelled()) {
        cancelled_ = true;
        BeginKill(now);
      } else if (deadline_ && now >= *deadline_) {
        timed_out_ = true;
        BeginKill(now);
      }
    } else if (!sigkilled_ && now >= kill_deadline_) {
      ::kill(-pid_, SIGKILL);
      sigkilled_ = true;
    }
    ScheduleTick(std::min(interval_ * 2, kMaxPollInterval));
  }

  void BeginKill(steady_clock::time_point now) {
    killing_ = true;
    ::kill(-pid_, SIGTERM);
    // A stopped process would not act on SIGTERM until continued.
    ::kill(-pid_, SIGCONT);
    kill_deadline_ = now + spec_.kill_grace;
    if (spec_.kill_grace.count() <= 0) {
      ::kill(-pid_, SIGKILL);
      sigkilled_ = true;
    }
  }

  // Looks at the leader's state without reaping it, so that its pid (the
  // group id) cannot be reused before the group is killed.
  bool LeaderExited() {
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    int r;
    do {
      r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
    } while (r == -1 && errno == EINTR);
    if (r == -1) return errno == ECHILD;  // Not ours any more: nothing to wait for.
    return info.si_pid == pid_;
  }

  // Waits (bounded) until no process of the child's group is alive, so that
  // Run() never returns while a grandchild still runs.
  void WaitForGroupExit() {
    auto give_up = steady_clock::now() + kGroupExitWait;
    milliseconds pause(1);
    while (GroupHasLiveMember(pid_) && steady_clock::now() < give_up) {
      ::kill(-pid_, SIGKILL);
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, milliseconds(10));
    }
  }

  // Reads whatever is left in a pipe without blocking.
  void Drain(bp::async_pipe& pipe, LineCollector& collector) {
    int fd = pipe.native_source();
    if (fd < 0) return;
    int flags = ::fcntl(fd, F_GETFL);
    if (flags != -1) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    std::array<char, kReadChunk> buf;
    size_t total = 0;
    while (total < kMaxDrainBytes) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n > 0) {
        collector.Feed(std::string_view(buf.data(), static_cast<size_t>(n)));
        total += static_cast<size_t>(n);
        continue;
      }
      if (n == -1 && errno == EINTR) continue;
      break;  // EOF, EAGAIN (a writer outside the group holds it) or an error.
    }
  }

  const ProcessSpec& spec_;
  std::optional<RunAs> as_;  // drop to this account in the child (runAs)
  const std::string exe_;
  CancelToken* const cancel_;
  const std::vector<std::string> secrets_;
  LineCollector out_;
  LineCollector err_;

  asio::io_context ios_;
  asio::steady_timer timer_;
  std::optional<bp::async_pipe> in_pipe_;
  std::optional<bp::async_pipe> out_pipe_;
  std::optional<bp::async_pipe> err_pipe_;
  std::array<char, kReadChunk> out_buf_;
  std::array<char, kReadChunk> err_buf_;
  bool out_eof_ = false;
  bool err_eof_ = false;

  pid_t pid_ = -1;
  bool reaped_ = false;
  bool leader_exited_ = false;
  steady_clock::time_point start_;
  std::optional<steady_clock::time_point> deadline_;
  milliseconds interval_{1};
  uint64_t tick_generation_ = 0;
  bool killing_ = false;
  bool sigkilled_ = false;
  steady_clock::time_point kill_deadline_;
  bool timed_out_ = false;
  bool cancelled_ = false;
};

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

Result<RunAs> LookUpRunAs(const std::string& user) {
  if (user.empty()) return Status::InvalidArgument("runAs: an empty user name");
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return Status::InvalidArgument("runAs: no user \"" + user +
                                   "\" on this machine (create it, e.g. useradd --system " + user +
                                   ")");
  }
  if (pw.pw_uid == 0) {
    return Status::InvalidArgument("runAs: \"" + user + "\" is root; name an unprivileged account");
  }
  RunAs r;
  r.uid = pw.pw_uid;
  r.gid = pw.pw_gid;
  r.name = user;
  r.home = pw.pw_dir != nullptr && pw.pw_dir[0] != '\0' ? pw.pw_dir : "/";
  return r;
}

Status HandOverTree(const std::string& dir, const std::string& root, const RunAs& user) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto give = [&](const fs::path& p) -> Status {
    if (::lchown(p.c_str(), user.uid, user.gid) != 0) {
      return Status::IOError("cannot give " + p.string() + " to " + user.name + ": " +
                             std::strerror(errno));
    }
    return Status::Ok();
  };
  SLUICE_RETURN_IF_ERROR(give(dir));
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    SLUICE_RETURN_IF_ERROR(give(it->path()));
  }
  if (ec) return Status::IOError("cannot walk " + dir + ": " + ec.message());
  // Enter (not list) each directory above it, up to `root`.
  const fs::path top = fs::absolute(root, ec).lexically_normal();
  for (fs::path p = fs::absolute(dir, ec).lexically_normal().parent_path();
       !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0 &&
        ::chmod(p.c_str(), (st.st_mode & 07777) | S_IXOTH) != 0) {
      return Status::IOError("cannot let " + user.name + " enter " + p.string() + ": " +
                             std::strerror(errno));
    }
    if (p == top) break;
  }
  return Status::Ok();
}

std::map<std::string, std::string> BaseEnvironment() {
  std::map<std::string, std::string> env;
  for (const char* name : {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  // Operators name the extra variables their deploys need (KUBECONFIG,
  // cloud credentials): nothing else of the controller's environment, such as
  // its own Git or forge credentials, reaches a child.
  if (const char* pass = std::getenv("SLUICE_PASS_ENV")) {
    std::string list(pass);
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      std::string name = list.substr(start, comma - start);
      if (!name.empty()) {
        if (const char* value = std::getenv(name.c_str())) env[name] = value;
      }
      start = comma + 1;
    }
  }
  return env;
}

std::string Redact(std::string_view text, const std::vector<std::string>& secrets) {
  return RedactPrepared(text, PrepareSecrets(secrets, /*split_lines=*/false));
}

std::vector<std::string> SecretsFromEnvironment(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out;
  for (const auto& [name, value] : env) {
    std::string upper = Upper(name);
    if ((EndsWith(upper, "_TOKEN") || EndsWith(upper, "_PASSWORD") || EndsWith(upper, "_SECRET") ||
         EndsWith(upper, "_KEY")) &&
        value.size() >= kMinSecretLength) {
      out.push_back(value);
    }
  }
  return out;
}

Result<std::string> FindOnPath(const std::string& program, const std::string& path_var) {
  if (program.empty() || program.find('/') != std::string::npos) {
    return Status::InvalidArgument("\"" + program + "\" is not a program name to look up on PATH");
  }
  size_t start = 0;
  while (start <= path_var.size()) {
    size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(start, end - start);
    start = end + 1;
    // Empty and relative entries would search the controller's cwd: skip.
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = dir + (dir.back() == '/' ? "" : "/") + program;
    if (IsExecutableFile(candidate)) return candidate;
  }
  return Status::NotFound("program \"" + program + "\" not found on PATH \"" + path_var +
                          "\" (install it or use a path inside the repository)");
}

Result<ProcessResult> BoostCommandRunner::Run(const ProcessSpec& spec, CancelToken* cancel) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status::InvalidArgument("cannot run an empty command");
  }
  const std::string& program = spec.argv[0];
  for (size_t i = 0; i < spec.argv.size(); ++i) {
    if (spec.argv[i].find('\0') != std::string::npos) {
      return Status::InvalidArgument("argument " + std::to_string(i) + " of \"" + program +
                                     "\" contains a NUL byte");
    }
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return Status::InvalidArgument("invalid environment variable \"" + name + "\" for \"" +
                                     program + "\"");
    }
  }
  if (!spec.cwd.empty()) {
    struct stat st;
    if (::stat(spec.cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::NotFound("working directory \"" + spec.cwd + "\" for \"" + program +
                              "\" does not exist");
    }
  }

  std::string exe;
  if (program.find('/') != std::string::npos) {
    exe = program;
    // The child resolves a relative path after changing to spec.cwd.
    std::string check = program[0] != '/' && !spec.cwd.empty() ? spec.cwd + "/" + program : program;
    if (!IsExecutableFile(check)) {
      return Status::NotFound("cannot execute \"" + program +
                              "\": not an executable file (does it exist? is it chmod +x?)");
    }
  } else {
    auto path_it = spec.env.find("PATH");
    Result<std::string> found =
        FindOnPath(program, path_it == spec.env.end() ? std::string() : path_it->second);
    if (!found.ok()) return found.status();
    exe = *found;
  }

  EnsureStandardDescriptors();
  try {
    if (spec.repository_code && run_as_) {
      // The account's own home and name: a tool must not write into the
      // controller's HOME (it could not, and must not read it either).
      ProcessSpec as_user = spec;
      as_user.env["HOME"] = run_as_->home;
      as_user.env["USER"] = run_as_->name;
      as_user.env["LOGNAME"] = run_as_->name;
      ChildRun run(as_user, std::move(exe), cancel, run_as_);
      return run.Run();
    }
    ChildRun run(spec, std::move(exe), cancel);
    return run.Run();
  } catch (const std::exception& e) {
    return Status::IOError("running \"" + program + "\" failed: " + e.what());
  } catch (...) {
    return Status::IOError("running \"" + program + "\" failed: unknown exception");
  }
}

}  // namespace sluice::process
