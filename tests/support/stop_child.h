#pragma once

#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
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

}  // namespace sluice::testing
