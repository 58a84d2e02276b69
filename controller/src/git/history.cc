#include "git/history.h"

#include "core/strings.h"
#include "git/internal.h"

namespace sluice::git {
namespace {

using internal::OidToString;

// The id at `path` in `tree`, "" when absent.
Result<std::string> IdAt(const git_tree* tree, const std::string& path) {
  git_tree_entry* raw = nullptr;
  int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return std::string();
  }
  if (rc != 0) return GitError(rc, "look up " + path);
  TreeEntryPtr entry(raw);
  return OidToString(*git_tree_entry_id(entry.get()));
}

Result<PathState> StateOfTree(const git_tree* tree, const std::vector<std::string>& paths) {
  PathState state;
  state.reserve(paths.size());
  for (const auto& p : paths) {
    auto id = IdAt(tree, p);
    if (!id.ok()) return id.status();
    state.push_back(std::move(*id));
  }
  return state;
}

}  // namespace

Result<PathState> StateAt(const Repository& repo, const std::string& commit,
                          const std::vector<std::string>& paths) {
  auto tree = internal::LookupCommitTree(repo.raw(), commit);
  if (!tree.ok()) return tree.status();
  return StateOfTree(tree->get(), paths);
}

Result<PathHistory> FirstParentPathHistory(const Repository& repo, const std::string& tip,
                                           const std::string& stop,
                                           const std::vector<std::string>& paths,
                                           size_t max_depth) {
  PathHistory h;
  const PathState absent(paths.size());
  auto commit = internal::LookupCommit(repo.raw(), tip);
  if (!commit.ok()) return commit.status();
  std::string id = tip;
  git_tree* raw_tree = nullptr;
  int rc = git_commit_tree(&raw_tree, commit->get());
  if (rc != 0) return GitError(rc, "read the tree of commit " + id);
  TreePtr tree(raw_tree);
  auto state = StateOfTree(tree.get(), paths);
  if (!state.ok()) return state.status();

  std::vector<PathEdit> newest_first;
  while (true) {
    if (id == stop) {
      h.base = *state;
      h.reached_stop = true;
      break;
    }
    if (++h.commits_walked > max_depth) {
      return Status::FailedPrecondition(
          "more than " + std::to_string(max_depth) + " commits between " + ShortId(tip) +
          (stop.empty() ? " and the root" : " and " + ShortId(stop)) +
          "; set trust.bootstrap in the controller's configuration to a recent commit");
    }
    if (git_commit_parentcount(commit->get()) == 0) {
      if (*state != absent) newest_first.push_back({id, "", absent, *state});
      if (!stop.empty()) {
        return Status::FailedPrecondition(ShortId(stop) +
                                          " is not in the first-parent history of " + ShortId(tip) +
                                          " (was the branch rewritten?)");
      }
      h.base = absent;
      break;
    }
    git_commit* raw_parent = nullptr;
    rc = git_commit_parent(&raw_parent, commit->get(), 0);
    if (rc != 0) return GitError(rc, "read the first parent of " + id);
    CommitPtr parent(raw_parent);
    std::string parent_id = OidToString(*git_commit_id(parent.get()));
    rc = git_commit_tree(&raw_tree, parent.get());
    if (rc != 0) return GitError(rc, "read the tree of commit " + parent_id);
    TreePtr parent_tree(raw_tree);
    Result<PathState> parent_state = *state;
    if (!git_oid_equal(git_tree_id(tree.get()), git_tree_id(parent_tree.get()))) {
      parent_state = StateOfTree(parent_tree.get(), paths);
      if (!parent_state.ok()) return parent_state.status();
    }
    if (*parent_state != *state) newest_first.push_back({id, parent_id, *parent_state, *state});
    *commit = std::move(parent);
    tree = std::move(parent_tree);
    state = std::move(parent_state);
    id = std::move(parent_id);
  }
  h.edits.assign(newest_first.rbegin(), newest_first.rend());
  return h;
}

Result<std::string> ReadBlob(const Repository& repo, const std::string& blob_id) {
  auto oid = internal::ParseOid(blob_id, "blob id");
  if (!oid.ok()) return oid.status();
  git_blob* raw = nullptr;
  int rc = git_blob_lookup(&raw, repo.raw(), &*oid);
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::NotFound("blob " + blob_id + " is not in the repository");
  }
  if (rc != 0) return GitError(rc, "read blob " + blob_id);
  BlobPtr blob(raw);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
}

}  // namespace sluice::git
