#pragma once

#include <string>

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

}  // namespace sluice::record
