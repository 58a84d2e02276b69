#pragma once

// The chain of custody (SPEC section 1.3, rules 1 and 2): which edits of a
// set of files took effect. One rule, used for the policy files (which
// policy is in force) and for the files a deploy reads (whether what runs
// was approved). Pure: no I/O; the judge is a callback.

#include <functional>
#include <string>
#include <vector>

#include "git/history.h"

namespace sluice::trust {

// An edit that did not take effect.
struct IgnoredEdit {
  std::string commit;
  std::string path;
  std::string reason;  // "not approved under the policy it changes: ...", ...
};

struct Custody {
  git::PathState trusted;                 // the state in force, per path
  std::vector<std::string> trusted_from;  // per path: the commit that brought it ("" = base)
  std::vector<IgnoredEdit> ignored;       // oldest first
  git::PathState tip;                     // the state at the tip of the walk
};

// The custody before any edit: `base` trusted, brought by nobody.
Custody StartCustody(const git::PathState& base);

// Whether `edit` carries approval, judged with `so_far.trusted` (the state
// before the edit: callers read the policy in force from it). "" when
// approved, otherwise why not (one line).
using EditJudge = std::function<std::string(const git::PathEdit& edit, const Custody& so_far)>;

// Folds `edits` (oldest first) over `paths`, starting from `start`. For each
// edit, path by path:
//  - a path brought back to its trusted content takes effect trivially (a
//    revert of an ignored edit needs no approval: it widens nothing);
//  - `first_version(path)` true and the path absent so far: the first
//    version is trusted as it lands (SPEC: an environment's first policy);
//  - the edit's first parent held the trusted content and `judge` approves:
//    the new content is trusted, from that commit on;
//  - otherwise the edit is ignored: not approved (the judge's reason), or
//    built on an earlier ignored edit (a reviewer saw only the diff against
//    content that was never approved).
// `judge` is called at most once per edit, only when an edit needs it, and
// sees `trusted` as it stands before that edit (callers read the policy in
// force from it).
Custody FoldCustody(Custody start, const std::vector<git::PathEdit>& edits,
                    const std::vector<std::string>& paths,
                    const std::function<bool(size_t path_index)>& first_version,
                    const EditJudge& judge);

}  // namespace sluice::trust
