#include "approval/landing.h"

#include <git2.h>

#include <algorithm>
#include <cctype>

#include "git/handles.h"

namespace sluice::approval {
namespace {

// The blob id at `path`, "" when the path is absent in that commit.
Result<std::string> BlobOrEmpty(const git::Repository& repo, const std::string& commit,
                                const std::string& path) {
  Result<std::string> blob = repo.BlobId(commit, path);
  if (blob.ok()) return *blob;
  if (blob.status().IsNotFound()) {
    // NotFound covers both "no such path" and "no such commit": tell them apart
    // so that a missing object is an error, not an "absent pin".
    Result<git::CommitInfo> exists = repo.GetCommit(commit);
    if (!exists.ok()) return exists.status();
    return std::string();
  }
  return blob.status();
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void AddDistinct(std::vector<std::string>& out, const std::string& email) {
  if (email.empty()) return;
  std::string e = Lower(email);
  if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
}

}  // namespace

Result<std::string> FindLandingCommit(const git::Repository& repo, const std::string& candidate,
                                      const std::string& pin_path, const std::string& stop_at,
                                      int max_depth) {
  std::string current = candidate;
  for (int depth = 0; depth < max_depth; ++depth) {
    if (!stop_at.empty() && current == stop_at) {
      return Status::NotFound(pin_path + " did not change between " + stop_at + " and " +
                              candidate);
    }
    Result<git::CommitInfo> info = repo.GetCommit(current);
    if (!info.ok()) return info.status();
    Result<std::string> blob = BlobOrEmpty(repo, current, pin_path);
    if (!blob.ok()) return blob.status();
    if (info->parents.empty()) {
      if (blob->empty()) {
        return Status::NotFound(pin_path + " does not exist in the history of " + candidate);
      }
      return current;  // a root commit that holds the pin brought it
    }
    const std::string& first_parent = info->parents.front();
    Result<std::string> parent_blob = BlobOrEmpty(repo, first_parent, pin_path);
    if (!parent_blob.ok()) return parent_blob.status();
    if (*blob != *parent_blob) return current;
    current = first_parent;
  }
  return Status::NotFound("no commit changing " + pin_path + " within " +
                          std::to_string(max_depth) + " first-parent commits of " + candidate);
}

namespace {

// Distinct authors of the commits reachable from `tips` but not from `hide`.
std::vector<std::string> WalkAuthors(const git::Repository& repo, const std::string& hide,
                                     const std::vector<std::string>& tips, int max_commits) {
  std::vector<std::string> authors;
  git_revwalk* raw_walk = nullptr;
  if (git_revwalk_new(&raw_walk, repo.raw()) != 0) return authors;
  git::RevwalkPtr walk(raw_walk);
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL);
  git_oid oid;
  if (git_oid_fromstr(&oid, hide.c_str()) != 0) return authors;
  if (git_revwalk_hide(walk.get(), &oid) != 0) return authors;
  for (const std::string& tip : tips) {
    if (git_oid_fromstr(&oid, tip.c_str()) != 0) return authors;
    if (git_revwalk_push(walk.get(), &oid) != 0) return authors;
  }
  int seen = 0;
  while (seen < max_commits && git_revwalk_next(&oid, walk.get()) == 0) {
    ++seen;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    Result<git::CommitInfo> c = repo.GetCommit(hex);
    if (c.ok()) AddDistinct(authors, c->author.email);
  }
  return authors;
}

}  // namespace

std::vector<std::string> AuthorsOfChange(const git::Repository& repo, const std::string& landing,
                                         int max_commits) {
  std::vector<std::string> authors;
  Result<git::CommitInfo> info = repo.GetCommit(landing);
  if (!info.ok()) return authors;
  if (info->parents.size() < 2) {
    AddDistinct(authors, info->author.email);
    return authors;
  }
  // Commits the merge brings in: reachable from parent 2 (and any further
  // parents of an octopus merge) but not from parent 1.
  std::vector<std::string> tips(info->parents.begin() + 1, info->parents.end());
  return WalkAuthors(repo, info->parents[0], tips, max_commits);
}

std::vector<std::string> AuthorsBetween(const git::Repository& repo, const std::string& base,
                                        const std::string& head, int max_commits) {
  return WalkAuthors(repo, base, {head}, max_commits);
}

Result<std::string> MergeBase(const git::Repository& repo, const std::string& a,
                              const std::string& b) {
  git_oid oa, ob, out;
  if (git_oid_fromstr(&oa, a.c_str()) != 0 || git_oid_fromstr(&ob, b.c_str()) != 0) {
    return Status::InvalidArgument("not commit ids: " + a + ", " + b);
  }
  int rc = git_merge_base(&out, repo.raw(), &oa, &ob);
  if (rc == GIT_ENOTFOUND) return Status::NotFound("no common history of " + a + " and " + b);
  if (rc != 0) return Status::IOError("merge base of " + a + " and " + b + " cannot be read");
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &out);
  return std::string(hex);
}

}  // namespace sluice::approval
