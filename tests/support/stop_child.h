#pragma once

#include <signal.h>

#include <boost/process.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <string>
#include <system_error>

#include "support/wait_until.h"

namespace sluice::testing {

// Stops a server a test started: SIGTERM, up to 10 s to exit (polled, not
// slept), then SIGKILL; reaps it and leaves `child` empty.
inline void StopChild(boost::process::child& child) {
  if (!child.valid()) return;
  std::error_code ec;
  if (child.running(ec)) {
    ::kill(child.id(), SIGTERM);
    PollUntil([&] { return !child.running(ec); }, std::chrono::seconds(10));
    if (child.running(ec)) child.terminate(ec);
  }
  child.wait(ec);
  child = boost::process::child();
}

// A process is alive if it exists and is not a zombie (a killed orphan may
// stay a zombie when this machine's init does not reap it).
inline bool IsAlive(pid_t pid) {
  if (::kill(pid, 0) == -1 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

}  // namespace sluice::testing
