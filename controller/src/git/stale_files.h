#pragma once

#include <string>
#include <vector>

#include "core/result.h"

namespace sluice::git {

// Removes what a process killed inside libgit2 (or git) leaves behind in the
// repository at `git_dir`, which would otherwise fail every later write with
// "failed to lock file '...lock' for writing":
//   - lock files: <git_dir>/*.lock (config.lock, index.lock, packed-refs.lock,
//     HEAD.lock, ...) and every *.lock under refs/, logs/, objects/info/;
//   - half-written packs and objects: objects/pack/tmp_* and
//     objects/pack/pack_git* (libgit2's indexer), objects/tmp_* (loose
//     objects being written).
// Returns the removed paths relative to `git_dir`, sorted; empty when there
// is nothing stale or `git_dir` does not exist.
//
// A live writer's lock file looks exactly like a stale one: call this only
// while holding a lock that excludes every other writer of `git_dir` (the
// controller's workdir flock), before the first write. Errors: IOError
// naming the first file or directory that could not be removed or listed.
Result<std::vector<std::string>> RemoveStaleFiles(const std::string& git_dir);

}  // namespace sluice::git
