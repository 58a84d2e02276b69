#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <source_location>
#include <string>
#include <vector>

#include "support/git_servers.h"
#include "support/temp_dir.h"

namespace sluice::testing {

// A digest made of one repeated hex character: Digest('a') = sha256:aaaa...
inline std::string Digest(char c) { return "sha256:" + std::string(64, c); }

// An SSH signing key made with ssh-keygen (ed25519, no passphrase), before
// any repository, so that the first policy version can name it.
class SigningKey {
 public:
  explicit SigningKey(const std::string& email);
  std::string path;         // the private key file (user.signingkey)
  std::string public_key;   // "ssh-ed25519 AAAA..."
  std::string signer_line;  // "\"<email> ssh-ed25519 AAAA...\"" for signers:

 private:
  TempDir dir_;
};

// An environments repository served by a real git daemon, with a working
// clone the test commits into, a workdir for the controller, and a state dir
// where the test's deploy script records what it ran.
//
// The deploy script (scripts/deploy.sh in the repository) appends
// "<env> <app> <digest> <SLUICE_DIGEST> <SLUICE_COMMIT>" to <state>/deploys.log,
// exits 3 when <state>/fail-<digest-char> exists, and when <state>/hang exists
// writes its pid to <state>/hung.pid and then waits forever.
class EnvRepoFixture {
 public:
  // The first commit holds scripts/deploy.sh, sluice.yaml (pipeline dev,
  // prod), dev's empty policy and prod's (1 forge approval from
  // release-managers), each replaced by `initial`'s entry of the same path
  // (nullopt drops it) and any other file of `initial` added. Tests that
  // need another policy put it here: an environment's first policy version
  // is trusted as it lands, while a later unapproved edit of a protected
  // policy is ignored (trust rule 1).
  explicit EnvRepoFixture(std::map<std::string, std::optional<std::string>> initial = {});

  std::string bare;     // the bare repository served by the daemon
  std::string work;     // a working clone
  std::string workdir;  // --workdir of the controller
  std::string state;    // where the deploy script writes
  std::string url;      // git:// URL of the bare repository
  // "NAME=value" entries added to the environment of every Sluice() run
  // (tests that deploy through tests/stubs put them on PATH here).
  std::vector<std::string> extra_env;

  // Pin file content for `app` deploying `digest` with the exec adapter.
  std::string PinYaml(const std::string& digest, const std::string& version = "1.0.0") const;

  // Commits `files` in the working clone and pushes to the daemon; returns the commit.
  std::string CommitAndPush(const std::map<std::string, std::optional<std::string>>& files,
                            const std::string& message);

  // Runs the sluice binary with `args` (plus --repo/--workdir when
  // `with_repo`), returning its output.
  CommandOutput Sluice(std::vector<std::string> args, bool with_repo = true) const;

  // `sluice reconcile --once --format json`, parsed; fails the test when
  // the exit code is not `expected_exit` (0: every outcome was normal).
  nlohmann::json Reconcile(int expected_exit = 0,
                           std::source_location where = std::source_location::current()) const;

  // With `refuse`, the bare repository's pre-receive hook rejects every
  // push of the record (refs/notes/*, refs/sluice/*) as a remote would that
  // lost its permissions; pushes of branches still go through. Without, the
  // hook is removed.
  void RefuseRecordPushes(bool refuse) const;

  // The lines of <state>/deploys.log.
  std::vector<std::string> Deploys() const;

  // The events in the remote's note on `commit` (read with the git CLI).
  std::vector<nlohmann::json> RemoteEvents(const std::string& commit) const;

  // The commit a ref points at on the remote (git CLI), or "".
  std::string RemoteRef(const std::string& ref) const;

 private:
  TempDir tmp_;
  std::unique_ptr<GitDaemon> daemon_;
};

}  // namespace sluice::testing
