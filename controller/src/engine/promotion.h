#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/ssh_key.h"
#include "engine/reconciler.h"
#include "git/repo.h"
#include "trust/policy_in_force.h"

namespace sluice::engine {

// What `sluice promote APP --from F --to T` is about to write: the pin of
// (T, APP) at `base` with the artifact that F verified.
struct PromotionPlan {
  enum class Outcome {
    kReady,             // new_content is the pin to commit
    kNothingToPromote,  // T already pins F's verified digest (exit 0)
    kRefused,           // `reason` says why (nothing verified, wrong order...)
  };
  Outcome outcome = Outcome::kRefused;
  std::string reason;  // for kNothingToPromote and kRefused: one line for the user

  std::string app;
  std::string from;
  std::string to;
  std::vector<std::string> pipeline;  // sluice.yaml at base
  std::string base;                   // the commit the promotion goes on (the remote's branch head)
  std::string upstream_commit;        // F's last-known-good commit (refs/sluice/lkg/F/APP)
  std::optional<TimePoint> verified_at;  // when the record says F verified it
  std::string image;                     // T's artifact.image (unchanged)
  std::string digest;                    // F's verified artifact.digest
  std::string version;                   // F's verified artifact.version ("" if none)
  std::string source;                    // F's verified artifact.source ("" if none)
  std::string promoted_from;             // "F@<upstream_commit>", written as artifact.promotedFrom
  std::string previous_digest;           // T's digest at base
  std::string previous_version;          // T's version at base
  std::string previous_source;           // T's source at base
  std::string pin_path;                  // environments/T/apps/APP.yaml
  std::string new_content;               // the edited pin file (kReady)
  std::string branch;                    // sluice/promote/APP-T-<first 8 hex of the digest>

  // The digest already ran in T and failed there (its newest failure, with
  // no `verified` of that digest in T after it): promoting it again brings
  // back a release T rolled back or holds. Set for kReady only.
  struct Failure {
    std::string commit;  // the commit whose release failed in T
    TimePoint time{};    // the `failed` event
    std::string reason;  // its reason (the failing check, the adapter's exit)
  };
  std::optional<Failure> failed_in_to;
};

// Plans a promotion in `repo` (a clone whose refs/sluice/* and
// refs/notes/sluice mirror the remote's record) on top of `base`:
//  - `from` and `to` must both be in sluice.yaml's pipeline, `to` after
//    `from` (refused otherwise, naming the pipeline);
//  - `from` must have a last-known-good for `app` (refused otherwise); its
//    pin at that commit gives digest, version and source;
//  - `to`'s pin must exist at `base` (refused otherwise: a first pin is
//    written by hand, its deploy section belongs to the environment);
//  - equal digests: kNothingToPromote;
//  - the digest failed in `to` before (a `failed` event of (to, app) with
//    that digest in the record, not followed by a `verified` one): still
//    ready, with failed_in_to set so the user is warned;
//  - the pin text is edited (config::EditPinArtifact), keeping comments and
//    everything but artifact.digest/version/source/promotedFrom, and must
//    parse with config::ParsePin to the intended artifact.
// Errors (Status) are for what is broken rather than refused: unreadable
// objects, a target pin that cannot be edited or does not parse afterwards
// (InvalidArgument with path:line). Does not write anything.
// With `controller_keys`, the LKG counts only when a `verified` event of
// (`from`, app) on its commit verifies against them (VerifyEventLine; SPEC
// 1.3 rule 4: anyone can push refs/sluice/*), and only such events give
// verified_at; refused otherwise, naming the untrusted ref. Without them the
// clone's record is read as it is (the controller judges the promotion
// against its own verified record when it lands).
Result<PromotionPlan> PlanPromotion(
    const git::Repository& repo, const std::string& base, const std::string& app,
    const std::string& from, const std::string& to,
    const std::vector<crypto::PublicKey>* controller_keys = nullptr);

// Who must approve a change to `to` under `pif`, the policy in force there
// (trust rule; Reconciler::PolicyFor finds it), as one sentence:
// "1 approval from release-managers (alice, bob), as a merge commit signed
// by an approver's SSH key; the promotion's author does not count". Never
// fails: a policy that does not parse is described as such.
std::string ApprovalRequirement(const trust::PolicyInForce& pif, const std::string& to);

// The embedded default templates (templates/promotion-commit.md and
// templates/promotion-pr.md).
std::string_view DefaultPromotionCommitTemplate();
std::string_view DefaultPromotionPrTemplate();

// The template `name` ("promotion-pr.md") a team keeps at templates/<name>
// in the environments repository at `commit`, else the embedded default.
std::string PromotionTemplate(const git::Repository& repo, const std::string& commit,
                              const std::string& name);

// The trailer every promotion commit carries:
// "Sluice-Promote: <app> <digest> <from> -> <to>".
std::string PromoteTrailer(const PromotionPlan& plan);

// Renders the commit message from `tmpl` (kainjow mustache, no escaping)
// and makes sure it ends with the Sluice-Promote trailer (added to the last
// paragraph when that is already a trailer block, else as its own
// paragraph). InvalidArgument when the template does not parse or renders
// an empty subject. Pure.
Result<std::string> RenderPromotionCommit(const std::string& tmpl, const PromotionPlan& plan);

// What the pull request body shows besides the plan.
struct PromotionPreview {
  std::optional<PlanRow> row;  // the gate table of (to, app) as if merged
  std::string error;           // why there is no row, when there is none
  TimePoint at{};              // when it was evaluated
  std::string approval;        // ApprovalRequirement(...)
  std::string commit;          // the promotion commit
};

// Renders the pull request body from `tmpl` (kainjow mustache, Markdown, no
// HTML escaping; `|` in gate reasons escaped for tables). InvalidArgument
// when the template does not parse. Pure.
Result<std::string> RenderPromotionPr(const std::string& tmpl, const PromotionPlan& plan,
                                      const PromotionPreview& preview);

}  // namespace sluice::engine
