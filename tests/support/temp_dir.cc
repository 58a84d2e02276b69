#include "support/temp_dir.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "process/runner.h"
#include "support/wait_until.h"

extern char** environ;

#include <boost/process.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace sluice::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sluice-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << tmpl;
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) {
    ADD_FAILURE() << "cannot write " << path;
    return;
  }
  f << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    ADD_FAILURE() << "cannot read " << path;
    return "";
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

CommandOutput RunCommand(const std::vector<std::string>& argv, const std::string& cwd,
                         const std::vector<std::string>& extra_env) {
  // The product's own runner: argv only, explicit environment, always reaped.
  CommandOutput result;
  process::ProcessSpec spec;
  spec.argv = argv;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) spec.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& kv : extra_env) {
    auto eq = kv.find('=');
    spec.env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  spec.cwd = cwd.empty() ? fs::current_path().string() : cwd;
  spec.timeout = std::chrono::minutes(5);
  spec.output_cap = 64 * 1024 * 1024;
  process::BoostCommandRunner runner;
  auto r = runner.Run(spec, nullptr);
  if (!r.ok()) {
    result.err = r.status().ToString();
    return result;
  }
  result.exit_code = r->exit_code;
  result.out = r->stdout_tail;
  result.err = r->stderr_tail;
  return result;
}

CommandOutput Git(const std::string& cwd, const std::vector<std::string>& args,
                  bool allow_failure) {
  std::vector<std::string> argv = {"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOutput r =
      RunCommand(argv, cwd,
                 {"GIT_AUTHOR_NAME=Test User", "GIT_AUTHOR_EMAIL=test@example.com",
                  "GIT_COMMITTER_NAME=Test User", "GIT_COMMITTER_EMAIL=test@example.com",
                  "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0"});
  if (!allow_failure && r.exit_code != 0) {
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    ADD_FAILURE() << "git" << joined << " failed (" << r.exit_code << "): " << r.err;
  }
  return r;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool WaitForPort(int port, int timeout_ms) {
  auto answers = [port] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  };
  return PollUntil(answers, std::chrono::milliseconds(timeout_ms));
}

}  // namespace sluice::testing
