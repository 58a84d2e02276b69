#pragma once

// First-parent history of a few paths: what the trust rule (SPEC section 1.3)
// walks to find which edits of the policy files, and of the files a deploy
// reads, took effect. Free functions over a Repository; same thread-safety
// rules as Repository (one thread at a time).

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.h"
#include "git/repo.h"

namespace sluice::git {

// The object id at each of a list of paths in one commit's tree (a blob for
// a file, a tree for a directory), "" where the path is absent. Index i
// belongs to the i-th path asked for.
using PathState = std::vector<std::string>;

// One commit of the first-parent chain whose tree differs from its first
// parent's at one of the paths.
struct PathEdit {
  std::string commit;
  std::string parent;  // first parent; "" for a root commit
  PathState before;    // at `parent` (all "" for a root commit)
  PathState after;     // at `commit`
};

struct PathHistory {
  PathState base;               // at `stop`; all "" when the walk reached a root
  bool reached_stop = false;    // `stop` was found on the first-parent chain
  std::vector<PathEdit> edits;  // oldest first
  size_t commits_walked = 0;    // commits read, for cost reports
};

// The object ids at `paths` in `commit` (PathState above).
Result<PathState> StateAt(const Repository& repo, const std::string& commit,
                          const std::vector<std::string>& paths);

// Walks first parents from `tip` back to `stop` (exclusive; "" walks to the
// root) and returns every commit in (stop, tip] that changed one of `paths`
// relative to its first parent, oldest first, with the state at `stop`.
//
// Cost: one commit and a few tree lookups per commit walked (identical root
// trees are skipped by id). FailedPrecondition when `stop` is not on the
// first-parent chain of `tip` (a rewritten history, or a merge from a side
// branch), or when more than `max_depth` commits would be walked: the caller
// fails closed with that message. Errors of the repository as they come.
Result<PathHistory> FirstParentPathHistory(const Repository& repo, const std::string& tip,
                                           const std::string& stop,
                                           const std::vector<std::string>& paths, size_t max_depth);

// The bytes of blob `blob_id`; NotFound when the repository lacks it.
Result<std::string> ReadBlob(const Repository& repo, const std::string& blob_id);

}  // namespace sluice::git
