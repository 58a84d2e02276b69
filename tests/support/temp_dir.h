#pragma once

#include <string>
#include <vector>

namespace sluice::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object is destroyed. Not copyable.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + rel
  std::string Sub(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Writes `content` to `path`, creating parent directories. Fails the test
// (ADD_FAILURE) on error.
void WriteFile(const std::string& path, const std::string& content);

// Reads a whole file; empty string (and ADD_FAILURE) if it cannot.
std::string ReadFile(const std::string& path);

// Result of a command run by the tests themselves (e.g. the git CLI used to
// set up fixtures or to read back what the product wrote).
struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (no shell) in `cwd` with the test's own environment plus
// `extra_env` entries ("NAME=value"), waits, and returns the output.
CommandOutput RunCommand(const std::vector<std::string>& argv, const std::string& cwd = "",
                         const std::vector<std::string>& extra_env = {});

// Runs `git <args>` in `cwd` with a fixed identity (Test User
// <test@example.com>) and no user/system config; fails the test on a
// non-zero exit unless `allow_failure`.
CommandOutput Git(const std::string& cwd, const std::vector<std::string>& args,
                  bool allow_failure = false);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Polls until a TCP connect to 127.0.0.1:port succeeds or `timeout_ms`
// passes; returns whether it did.
bool WaitForPort(int port, int timeout_ms = 10000);

}  // namespace sluice::testing
