#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "record/pass_report.h"
#include "record/store.h"
#include "record/workspace.h"

namespace sluice::record {

// The controller's last successful pass, recorded in the environments
// repository so that any clone can tell whether the controller is alive:
// `refs/sluice/pass` points at a parentless commit with an empty tree whose
// message holds the stamp (`git log -1 refs/sluice/pass` shows it). Each new
// stamp replaces the previous one (the old commit becomes garbage), so the
// remote never grows a history of passes. See docs/record.md ("Is the
// controller alive?").
inline constexpr char kPassRef[] = "refs/sluice/pass";
inline constexpr char kRemotePassRef[] = "refs/sluice-remote/sluice/pass";

// A pass stamp of an unchanged head is written at most this often (a push
// each time).
inline constexpr std::chrono::seconds kPassStampEvery{60};

struct PassStamp {
  TimePoint time{};  // when the pass ended (the injected clock)
  std::string head;  // the branch head the pass worked on
  std::string branch;
  // The controller's poll interval; 0 for `sluice reconcile --once` (cron,
  // CI), whose cadence Sluice does not know.
  std::chrono::seconds interval{0};
  std::string controller_id;
  std::string controller_version;
  bool operator==(const PassStamp&) const = default;
};

// The commit message of a stamp: a subject for people, then one JSON line
// {"v":1,"time":...,"head":...,"branch":...,"intervalSeconds":...,
//  "controller":{"id":...,"version":...}}. Pure.
std::string PassStampMessage(const PassStamp& stamp);

// Parses PassStampMessage's output (the JSON line anywhere in `message`;
// unknown keys ignored). InvalidArgument when there is none. Pure.
Result<PassStamp> ParsePassStampMessage(std::string_view message);

// Records `stamp` at refs/sluice/pass and pushes it, unless the stamp already
// recorded is for the same head and younger than `every` (then returns
// false, nothing written). With `store` (the daemon's), the push is the
// store's next flush (RecordStore::StageLocked) and RecordPass does not wait
// for it: a stamp must not hold the workspace for a push between passes.
// Takes the workspace mutex. A failed push keeps the local stamp (the next
// Sync(push=true) pushes it) and returns the error.
Result<bool> RecordPass(Workspace& ws, const PassStamp& stamp,
                        std::chrono::seconds every = kPassStampEvery, RecordStore* store = nullptr);

// The newest stamp of the local refs/sluice/pass and the copy fetched from
// the remote (a read-only clone's local copy may be older); nullopt when
// neither exists or parses. Caller holds the workspace mutex.
// Records a stamp for `report`, the pass of controller `instance_id` that
// ended at `now` (RecordPass: at most once a minute unless the head moved).
// A stamp that cannot be written is logged, never an error of the pass.
// `every` as for RecordPass (0: stamp even an unchanged head).
void StampPass(Workspace& ws, const PassReport& report, TimePoint now,
               std::chrono::seconds interval, const std::string& instance_id,
               RecordStore* store = nullptr, std::chrono::seconds every = kPassStampEvery);

std::optional<PassStamp> ReadPassStamp(const git::Repository& repo);

// Whether the controller's last pass is recent enough to trust `status`.
struct Freshness {
  std::string state;  // fresh | stale | unknown
  std::optional<double> age_seconds;
  std::chrono::seconds stale_after{0};
  std::string reason;  // one line for people
};

// `stale_after`: the flag's value, else 3 x the stamp's interval (at least 5
// minutes), or 15 minutes when the stamp has no interval (reconcile --once).
// unknown when there is no stamp. Pure.
Freshness JudgeFreshness(const std::optional<PassStamp>& stamp, TimePoint now,
                         std::optional<std::chrono::seconds> stale_after = std::nullopt);

}  // namespace sluice::record
