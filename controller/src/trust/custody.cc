#include "trust/custody.h"

#include <optional>

#include "core/strings.h"

namespace sluice::trust {

Custody StartCustody(const git::PathState& base) {
  Custody c;
  c.trusted = base;
  c.trusted_from.assign(base.size(), "");
  c.tip = base;
  return c;
}

Custody FoldCustody(Custody start, const std::vector<git::PathEdit>& edits,
                    const std::vector<std::string>& paths,
                    const std::function<bool(size_t path_index)>& first_version,
                    const EditJudge& judge) {
  Custody c = std::move(start);
  c.trusted.resize(paths.size());
  c.trusted_from.resize(paths.size());
  for (const git::PathEdit& edit : edits) {
    std::optional<std::string> verdict;  // judged lazily, once per edit
    // Decisions first, then updates: every path of one commit is judged
    // against the state before that commit.
    std::vector<bool> take(paths.size(), false);
    for (size_t i = 0; i < paths.size() && i < edit.after.size(); ++i) {
      if (edit.before[i] == edit.after[i]) continue;
      if (edit.after[i] == c.trusted[i]) continue;  // back to what is in force
      if (c.trusted[i].empty() && c.trusted_from[i].empty() && first_version(i)) {
        take[i] = true;
        continue;
      }
      if (edit.before[i] != c.trusted[i]) {
        // The ignored edit this one builds on is named by its own entry.
        std::string earlier;
        for (auto it = c.ignored.rbegin(); it != c.ignored.rend(); ++it) {
          if (it->path == paths[i]) {
            earlier = ShortId(it->commit);
            break;
          }
        }
        c.ignored.push_back({edit.commit, paths[i],
                             "builds on the unapproved edit " +
                                 (earlier.empty() ? std::string("before it") : "in " + earlier) +
                                 ": revert that edit in an approved change first"});
        continue;
      }
      if (!verdict) verdict = judge(edit, c);
      if (verdict->empty()) {
        take[i] = true;
      } else {
        c.ignored.push_back({edit.commit, paths[i], *verdict});
      }
    }
    for (size_t i = 0; i < paths.size() && i < edit.after.size(); ++i) {
      if (edit.before[i] != edit.after[i] && edit.after[i] == c.trusted[i]) {
        continue;  // a revert to the trusted content: nothing moves
      }
      if (take[i]) {
        c.trusted[i] = edit.after[i];
        c.trusted_from[i] = edit.commit;
      }
    }
    c.tip = edit.after;
  }
  return c;
}

}  // namespace sluice::trust
