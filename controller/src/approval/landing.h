#pragma once

#include <string>
#include <vector>

#include "core/result.h"
#include "git/repo.h"

namespace sluice::approval {

// How far FindLandingCommit walks back before giving up, and how many
// commits AuthorsOfChange looks at. Bounds keep a pass cheap on a long
// history; a change deeper than this is reported, never guessed.
inline constexpr int kMaxLandingDepth = 1000;
inline constexpr int kMaxChangeCommits = 500;

// The commit that brought the current content of `pin_path` onto the tracked
// branch: walking first parents from `candidate`, the first commit whose blob
// at `pin_path` differs from its first parent's (absent counts as a value).
// That is the merge commit of a pull request, the squash or rebase commit a
// forge wrote, or a direct push. A root commit that holds the pin is its own
// landing commit.
//
// The walk stops at `stop_at` (the commit deployed last; "" for none) without
// judging it: reaching it means the pin did not change since, and NotFound is
// returned. NotFound too when `max_depth` first-parent steps pass without a
// change, and when the pin never existed. Errors of the repository (missing
// objects) are returned as they come. Not thread-safe (uses `repo`).
Result<std::string> FindLandingCommit(const git::Repository& repo, const std::string& candidate,
                                      const std::string& pin_path, const std::string& stop_at,
                                      int max_depth = kMaxLandingDepth);

// Author emails (lower-cased, distinct, in walk order) of the change that
// `landing` brought: for a merge commit, the commits reachable from its
// second parent but not from its first (at most `max_commits`); for any
// other commit, its own author. Empty when `landing` cannot be read.
// Not thread-safe (uses `repo`).
std::vector<std::string> AuthorsOfChange(const git::Repository& repo, const std::string& landing,
                                         int max_commits = kMaxChangeCommits);

// Authors (emails, distinct, in walk order) of the commits reachable from
// `head` but not from `base` (at most `max_commits`): the commits an open
// pull request would bring. Empty when either cannot be read.
// Not thread-safe (uses `repo`).
std::vector<std::string> AuthorsBetween(const git::Repository& repo, const std::string& base,
                                        const std::string& head,
                                        int max_commits = kMaxChangeCommits);

// The best common ancestor of `a` and `b` (git merge-base), or NotFound when
// they share no history. Not thread-safe (uses `repo`).
Result<std::string> MergeBase(const git::Repository& repo, const std::string& a,
                              const std::string& b);

}  // namespace sluice::approval
