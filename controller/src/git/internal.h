#pragma once

// Helpers shared by the .cc files of the git module. Not part of its public
// interface: include only from controller/src/git/*.cc.

#include <git2.h>

#include <string>
#include <string_view>

#include "core/result.h"
#include "git/handles.h"
#include "git/repo.h"

namespace sluice::git::internal {

// 40-hex text of `oid`.
std::string OidToString(const git_oid& oid);

// Parses a full 40-hex object id; InvalidArgument naming `what` otherwise.
Result<git_oid> ParseOid(const std::string& hex, std::string_view what);

// Looks up commit `commit_id`; NotFound if the repository lacks it.
Result<CommitPtr> LookupCommit(git_repository* repo, const std::string& commit_id);

// The root tree of commit `commit_id`.
Result<TreePtr> LookupCommitTree(git_repository* repo, const std::string& commit_id);

// A signature for `person`: "now" when person.when is the epoch.
Result<SignaturePtr> MakeSignature(const Person& person);

// Removes secrets from text meant for an error message: the user-info part
// of any URL ("https://user:pw@host" -> "https://host") and the values of
// SLUICE_GIT_PASSWORD / the password file, should libgit2 echo them.
std::string Redact(std::string text);

}  // namespace sluice::git::internal
