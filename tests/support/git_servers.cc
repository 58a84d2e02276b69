#include "support/git_servers.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "support/wait_until.h"

namespace bp = boost::process;
namespace fs = std::filesystem;

namespace sluice::testing {

namespace {

constexpr int kStartAttempts = 3;

// Polls until `port` answers or `child` exits (it could not bind, say).
bool WaitForChildPort(bp::child& child, int port, int timeout_ms = 10000) {
  bool answered = false;
  PollUntil([&] { return !child.running() || (answered = WaitForPort(port, 50)); },
            std::chrono::milliseconds(timeout_ms));
  return answered && child.running();
}

// SIGTERM, then SIGKILL if it lingers; always reaped.
void StopChild(bp::child& child) {
  if (!child.valid()) return;
  std::error_code ec;
  if (child.running(ec)) {
    ::kill(child.id(), SIGTERM);
    // Poll rather than child.wait_for(): Boost 1.74's wait_for can sleep out
    // its whole timeout when the child has already exited.
    PollUntil([&] { return !child.running(ec); }, std::chrono::seconds(5));
    if (child.running(ec)) child.terminate(ec);
  }
  child.wait(ec);
}

std::string Exe(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (fs::exists(p)) return p;
  }
  return bp::search_path(name).string();
}

}  // namespace

// ---------------------------------------------------------------- GitDaemon

struct GitDaemon::Impl {
  TempDir logs;
  bp::child child;
};

GitDaemon::GitDaemon(const std::string& root) : impl_(std::make_unique<Impl>()) {
  std::string git = Exe("git");
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = FreePort();
    try {
      impl_->child =
          bp::child(git,
                    bp::args({"daemon", "--listen=127.0.0.1", "--port=" + std::to_string(port_),
                              "--base-path=" + root, "--export-all", "--enable=receive-pack",
                              "--reuseaddr", "--informative-errors", root}),
                    bp::std_in.close(), bp::std_out > impl_->logs.Sub("daemon.out"),
                    bp::std_err > impl_->logs.Sub("daemon.err"));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot start git daemon: " << e.what();
      return;
    }
    if (WaitForChildPort(impl_->child, port_)) return;
    StopChild(impl_->child);
  }
  ADD_FAILURE() << "git daemon did not start: " << ReadFile(impl_->logs.Sub("daemon.err"));
}

GitDaemon::~GitDaemon() { StopChild(impl_->child); }

std::string GitDaemon::Url(const std::string& repo_name) const {
  return "git://127.0.0.1:" + std::to_string(port_) + "/" + repo_name;
}

// ------------------------------------------------------------ GitHttpServer

struct GitHttpServer::Impl {
  TempDir dir;
  bp::child child;
};

GitHttpServer::GitHttpServer(const std::string& root, bool auth_for_fetch)
    : impl_(std::make_unique<Impl>()) {
  const std::string& d = impl_->dir.path();
  WriteFile(d + "/users", username_ + ":" + password_ + "\n");
  std::string auth_block =
      "  auth.require = (\"/\" => (\"method\" => \"basic\", \"realm\" => \"git\", "
      "\"require\" => \"valid-user\"))\n";
  std::string lighttpd = Exe("lighttpd");
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    port_ = FreePort();
    // mod_auth must come before mod_cgi so the CGI sees REMOTE_USER;
    // git-http-backend only accepts pushes from an authenticated user.
    std::string conf =
        "server.document-root = \"" + root +
        "\"\n"
        "server.bind = \"127.0.0.1\"\n"
        "server.port = " +
        std::to_string(port_) +
        "\n"
        "server.errorlog = \"" +
        d +
        "/error.log\"\n"
        // lighttpd delays answers to bad passwords; tests try those on purpose.
        "server.feature-flags = (\"auth.delay-invalid-creds\" => \"disable\")\n"
        "server.modules = (\"mod_alias\", \"mod_setenv\", \"mod_auth\", \"mod_authn_file\", "
        "\"mod_cgi\")\n"
        "alias.url = (\"/git\" => \"/usr/lib/git-core/git-http-backend\")\n"
        "auth.backend = \"plain\"\n"
        "auth.backend.plain.userfile = \"" +
        d +
        "/users\"\n"
        "$HTTP[\"url\"] =~ \"^/git\" {\n"
        "  cgi.assign = (\"\" => \"\")\n"
        "  setenv.add-environment = (\"GIT_PROJECT_ROOT\" => \"" +
        root +
        "\", "
        "\"GIT_HTTP_EXPORT_ALL\" => \"\")\n"
        "}\n";
    if (auth_for_fetch) {
      conf += "$HTTP[\"url\"] =~ \"^/git/\" {\n" + auth_block + "}\n";
    } else {
      conf += "$HTTP[\"querystring\"] =~ \"service=git-receive-pack\" {\n" + auth_block + "}\n";
      conf += "$HTTP[\"url\"] =~ \"^/git/.*/git-receive-pack$\" {\n" + auth_block + "}\n";
    }
    WriteFile(d + "/lighttpd.conf", conf);
    try {
      impl_->child =
          bp::child(lighttpd, bp::args({"-D", "-f", d + "/lighttpd.conf"}), bp::std_in.close(),
                    bp::std_out > d + "/stdout.log", bp::std_err > d + "/stderr.log");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot start lighttpd: " << e.what();
      return;
    }
    if (WaitForChildPort(impl_->child, port_)) return;
    StopChild(impl_->child);
  }
  ADD_FAILURE() << "lighttpd did not start: " << ReadFile(d + "/stderr.log") << ErrorLog();
}

GitHttpServer::~GitHttpServer() { StopChild(impl_->child); }

std::string GitHttpServer::Url(const std::string& repo_name) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/git/" + repo_name;
}

std::string GitHttpServer::ErrorLog() const {
  std::string path = impl_->dir.Sub("error.log");
  std::error_code ec;
  return fs::exists(path, ec) ? ReadFile(path) : "";
}

// ------------------------------------------------------------------ helpers

std::string MakeBareRepo(const std::string& root, const std::string& name) {
  std::string path = root + "/" + name;
  Git(root, {"init", "--quiet", "--bare", "--initial-branch=main", path});
  return path;
}

void CloneRepo(const std::string& url, const std::string& dir) {
  Git(fs::path(dir).parent_path().string(), {"clone", "--quiet", url, dir});
}

std::string CommitFiles(const std::string& work_dir,
                        const std::map<std::string, std::optional<std::string>>& files,
                        const std::string& message) {
  for (const auto& [path, content] : files) {
    std::string full = work_dir + "/" + path;
    if (content) {
      WriteFile(full, *content);
    } else {
      std::error_code ec;
      fs::remove(full, ec);
    }
  }
  Git(work_dir, {"add", "--all"});
  Git(work_dir, {"commit", "--quiet", "--allow-empty", "-m", message});
  std::string id = Git(work_dir, {"rev-parse", "HEAD"}).out;
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  return id;
}

std::string MakeRepoWithFiles(const std::string& root, const std::string& name,
                              const std::map<std::string, std::optional<std::string>>& files,
                              const std::string& message) {
  std::string bare = MakeBareRepo(root, name);
  TempDir scratch;
  std::string work = scratch.Sub("work");
  CloneRepo(bare, work);
  std::string id = CommitFiles(work, files, message);
  Git(work, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  return id;
}

long CountObjects(const std::string& git_dir) {
  std::istringstream out(Git(git_dir, {"count-objects", "-v"}).out);
  long total = 0;
  for (std::string key, value; out >> key >> value;) {
    if (key == "count:" || key == "in-pack:") total += std::stol(value);
  }
  return total;
}

std::vector<std::string> GitIdentityAt(const std::string& date) {
  return {"GIT_AUTHOR_NAME=A",       "GIT_AUTHOR_EMAIL=a@example.com",
          "GIT_COMMITTER_NAME=A",    "GIT_COMMITTER_EMAIL=a@example.com",
          "GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date};
}

}  // namespace sluice::testing
