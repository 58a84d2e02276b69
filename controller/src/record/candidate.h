#pragma once

#include <string>

#include "git/repo.h"

namespace sluice::record {

// The commit whose pin (env, app) the controller judges at `head`: the
// previous candidate (refs/sluice/candidate/<env>/<app>) when the pin has not
// changed on the first-parent line since it, so waiting and blocked verdicts
// accumulate on one commit; otherwise `head`. A pin that was reverted and
// brought back (e.g. by an approved merge after a blocked direct push) is a
// new change: its candidate is the new head, never the old commit.
// Not thread-safe (uses `repo`).
std::string CandidateFor(const git::Repository& repo, const std::string& env,
                         const std::string& app, const std::string& head);

}  // namespace sluice::record
