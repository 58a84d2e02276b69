#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "git/repo.h"

namespace sluice::engine {

// Workspace is the controller's working area (--workdir): a bare cache of the
// environments repository (`<workdir>/cache.git`, remote "origin" = --repo)
// and a scratch area for checkouts. It is fetched, never re-cloned.
//
// Thread safety: the Repository is not thread-safe; every use must hold
// mutex(). The public methods here take it themselves.
class Workspace {
 public:
  // Opens (creating if needed) the cache for `url` in `workdir`. A password
  // in `url` is kept in memory only (git::AdoptUrlCredentials): url() and
  // cache.git/config hold the URL without it.
  static Result<std::unique_ptr<Workspace>> Open(const std::string& workdir, const std::string& url,
                                                 const std::string& branch);

  // Fetches the tracked branch and the remote's record (notes and
  // refs/sluice/*), then merges the record into the local one: notes by union
  // of lines; each refs/sluice ref takes the remote value when it is newer
  // (local is its ancestor) or absent locally. With `push`, local record
  // entries the remote lacks (an earlier push failed) are pushed.
  // Cost: the fetch, plus one comparison per record ref the fetch moved (or
  // per record ref, on the first Sync of a workdir).
  Status Sync(bool push);

  // The head of the tracked branch as last fetched; NotFound if the branch
  // does not exist on the remote.
  Result<std::string> Head();

  // Remembers that the refs/sluice refs `names` are about to be written
  // locally and are not on the remote yet (<workdir>/record-unpushed), so a
  // later Sync pushes them even after a crash. Caller must hold mutex().
  Status NoteUnpushedLocked(const std::vector<std::string>& names);

  // Pushes the local notes and the given refs/sluice refs (force) to the
  // remote. On a rejected notes push, fetches the remote notes, merges and
  // retries (a few times), so concurrent writers never lose a line.
  // Caller must hold mutex().
  Status PushRecordLocked(const std::vector<std::string>& sluice_refs);

  git::Repository& repo() { return *repo_; }
  std::mutex& mutex() { return mu_; }
  const std::string& workdir() const { return workdir_; }
  const std::string& branch() const { return branch_; }
  const std::string& url() const { return url_; }
  // A directory for temporary checkouts (created on demand).
  std::string ScratchDir() const { return workdir_ + "/checkouts"; }

  // The identity used for notes and commits the controller writes.
  static git::Person Identity();

 private:
  Workspace(std::string workdir, std::string url, std::string branch,
            std::unique_ptr<git::Repository> repo);
  Status FetchRecordLocked(std::vector<std::string>* moved);
  // Merges the fetched record into the local one. `moved` lists the remote
  // record refs the fetch moved; when the workdir's journal of unpushed refs
  // exists, only those and the journalled refs are compared (a no-change
  // pass costs nothing per record ref); otherwise (first Sync of a workdir,
  // or `moved` null) every record ref is.
  Status MergeRemoteRecordLocked(const std::vector<std::string>* moved,
                                 std::vector<std::string>* local_ahead);
  // Compares one remote record ref with its local copy: takes the remote
  // value when it is newer or the local one is absent; adds the local name
  // to `local_ahead` when the local value is ahead.
  Status MergeOneRecordRefLocked(const std::string& remote_name,
                                 std::vector<std::string>* local_ahead);
  std::string UnpushedPath() const { return workdir_ + "/record-unpushed"; }
  // The side repository the branch is fetched through (refs only; objects
  // in cache.git).
  std::string NegotiationDir() const { return workdir_ + "/negotiate.git"; }
  // The journalled names; nullopt when there is no journal.
  std::optional<std::vector<std::string>> ReadUnpushedLocked() const;
  Status WriteUnpushedLocked(const std::vector<std::string>& names);

  std::string workdir_;
  std::string url_;
  std::string branch_;
  std::unique_ptr<git::Repository> repo_;
  std::mutex mu_;
  // Record refs written as loose files since the cache's refs were last
  // packed (see Sync); guarded by mu_.
  size_t loose_refs_ = 0;
};

// The default --workdir for a repository URL:
// $XDG_CACHE_HOME/sluice/<slug> (or ~/.cache/sluice/<slug>).
std::string DefaultWorkdir(const std::string& url);

}  // namespace sluice::engine
