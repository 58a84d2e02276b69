#pragma once

#include <string>
#include <string_view>

namespace sluice::record {

// The record's references (SPEC section 6, plus two of Sluice's own).
inline constexpr char kNotesRef[] = "refs/notes/sluice";
// Where fetched copies of the remote's record land in the controller's cache.
inline constexpr char kRemoteNotesRef[] = "refs/sluice-remote/notes";
inline constexpr char kRemoteSluicePrefix[] = "refs/sluice-remote/sluice/";
inline constexpr char kSluicePrefix[] = "refs/sluice/";

// refs/sluice/deployed/<env>/<app>: the commit last applied.
inline std::string DeployedRef(const std::string& env, const std::string& app) {
  return "refs/sluice/deployed/" + env + "/" + app;
}
// refs/sluice/lkg/<env>/<app>: the last known good (verified) commit.
inline std::string LkgRef(const std::string& env, const std::string& app) {
  return "refs/sluice/lkg/" + env + "/" + app;
}
// refs/sluice/candidate/<env>/<app>: the commit whose pin the controller is
// working on or last worked on (waiting, blocked, applying, failed). It stays
// put while the pin is unchanged, so its note tells the candidate's story.
inline std::string CandidateRef(const std::string& env, const std::string& app) {
  return "refs/sluice/candidate/" + env + "/" + app;
}
// refs/sluice/applied/<env>: the last commit applied to the environment; its
// sluice.yaml and environment.yaml are the policy in force (trust rule).
inline std::string AppliedRef(const std::string& env) { return "refs/sluice/applied/" + env; }

// True for the names the controller writes in the record: refs/notes/sluice,
// refs/sluice/pass, refs/sluice/{deployed,lkg,candidate}/<env>/<app> and
// refs/sluice/applied/<env> (each part non-empty, without '/'). The record's
// fetch takes no other name from the remote: one more level or one less
// ("refs/sluice/deployed" once refs/sluice/deployed/prod/api was fetched)
// would make every later fetch fail on the local copies.
inline bool IsRecordRefName(std::string_view name) {
  if (name == kNotesRef || name == "refs/sluice/pass") return true;
  constexpr std::string_view kPrefix = kSluicePrefix;
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  name.remove_prefix(kPrefix.size());
  size_t parts = 0;
  for (std::string_view kind : {"deployed/", "lkg/", "candidate/", "applied/"}) {
    if (name.substr(0, kind.size()) == kind) {
      parts = kind == "applied/" ? 1 : 2;
      name.remove_prefix(kind.size());
      break;
    }
  }
  if (parts == 0) return false;
  for (size_t i = 0; i < parts; ++i) {
    const size_t slash = name.find('/');
    const std::string_view part = name.substr(0, slash);
    if (part.empty()) return false;
    if (i + 1 == parts) return slash == std::string_view::npos;
    if (slash == std::string_view::npos) return false;
    name.remove_prefix(slash + 1);
  }
  return false;
}

}  // namespace sluice::record
