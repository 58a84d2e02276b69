#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "support/temp_dir.h"

namespace sluice::testing {

// A real `git daemon` on 127.0.0.1 serving every repository under `root`
// (read and push, no authentication), run as a child process on a free port.
// The constructor returns once the port answers (ADD_FAILURE if it never
// does); the destructor stops and reaps the daemon. Not copyable.
class GitDaemon {
 public:
  explicit GitDaemon(const std::string& root);
  ~GitDaemon();
  GitDaemon(const GitDaemon&) = delete;
  GitDaemon& operator=(const GitDaemon&) = delete;

  int port() const { return port_; }
  // "git://127.0.0.1:<port>/<repo_name>"
  std::string Url(const std::string& repo_name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// git smart HTTP: lighttpd in the foreground (-D) running
// git-http-backend as CGI for every repository under `root`, on a free port.
// Pushes (git-receive-pack) require HTTP basic authentication with
// username()/password(); with `auth_for_fetch` every request does. The
// config, user file and logs live in a temp dir of its own. The destructor
// stops and reaps lighttpd. Not copyable.
class GitHttpServer {
 public:
  explicit GitHttpServer(const std::string& root, bool auth_for_fetch = false);
  ~GitHttpServer();
  GitHttpServer(const GitHttpServer&) = delete;
  GitHttpServer& operator=(const GitHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>/git/<repo_name>"
  std::string Url(const std::string& repo_name) const;
  const std::string& username() const { return username_; }
  const std::string& password() const { return password_; }
  // lighttpd's error log, for diagnosing a failing test.
  std::string ErrorLog() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::string username_ = "sluice-bot";
  std::string password_ = "s3cret-Pa55word";
};

// Creates an empty bare repository `root/name` (initial branch main) with
// the git CLI and returns its path. Pushes to it over git daemon and HTTP
// are allowed.
std::string MakeBareRepo(const std::string& root, const std::string& name);

// Clones `url` (a path or URL) into `dir` with the git CLI.
void CloneRepo(const std::string& url, const std::string& dir);

// In the working clone `work_dir`: writes each file (nullopt deletes it;
// parent directories are created), commits everything with `message` using
// the git CLI, and returns the new commit id (40 hex). Does not push.
std::string CommitFiles(const std::string& work_dir,
                        const std::map<std::string, std::optional<std::string>>& files,
                        const std::string& message);

// Makes a bare repository `root/name` whose branch main holds one commit
// with `files`; returns that commit id. A scratch clone is used and removed.
std::string MakeRepoWithFiles(const std::string& root, const std::string& name,
                              const std::map<std::string, std::optional<std::string>>& files,
                              const std::string& message = "initial");

// Objects in the repository at `git_dir`, loose plus packed, as `git
// count-objects -v` counts them (an object in two packs counts twice: what
// a fetch received shows as growth).
long CountObjects(const std::string& git_dir);

// Extra environment for RunCommand that makes git author and commit as
// "A <a@example.com>" at `date` (ISO 8601), for histories whose dates matter.
std::vector<std::string> GitIdentityAt(const std::string& date);

}  // namespace sluice::testing
