#pragma once

#include <string>

#include "git/repo.h"

namespace sluice::reports {

// One side of a release: the pin of (env, app) at an environments-repository
// commit. Shared by release notes, the incident report and `sluice status`.
struct ReleaseSide {
  std::string commit;   // "" when there is none (a first release)
  std::string version;  // artifact.version
  std::string digest;   // artifact.digest
  std::string source;   // artifact.source: the app's source commit
};

// The pin of (env, app) at `commit`. Only `commit` is set when the pin is
// missing or does not parse there; nothing at all for an empty commit.
// The caller holds the workspace mutex when `repo` is the workspace's.
ReleaseSide ReadReleaseSide(const git::Repository& repo, const std::string& commit,
                            const std::string& env, const std::string& app);

// The source range between two `artifact.source` values, for people:
//   "github.com/shop/api@abc123..def456" for "<repo>@<sha>" sources of one repo,
//   "87fea83a9553..55e411976689"       for two commit ids (12 characters each),
//   "<from> → <to>"                    for anything else;
// "" when either side is empty or both are the same. Pure.
std::string SourceRange(const std::string& from, const std::string& to);

}  // namespace sluice::reports
