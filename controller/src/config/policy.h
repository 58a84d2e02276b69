#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.h"
#include "config/verification.h"

namespace sluice::config {

enum class Evidence { kForge, kSigned, kForgeAndSigned };

struct ApprovalPolicy {
  int required = 0;               // distinct approvers; 0 = no approval needed
  std::vector<std::string> from;  // group names from sluice.yaml
  Evidence evidence = Evidence::kForge;
  bool separate_author = true;
};

struct VulnerabilityLimits {
  std::optional<int> max_critical;
  std::optional<int> max_high;
  std::optional<int> max_medium;
};

struct CustomGate {
  std::string name;
  std::vector<std::string> command;  // argv, repo-relative or on PATH
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct Gates {
  bool upstream_verified = false;
  std::optional<std::chrono::milliseconds> soak;
  std::optional<VulnerabilityLimits> vulnerabilities;
  bool registry_verify_digest = false;    // registry: { verifyDigest: true }
  bool rollback_target_required = false;  // rollbackTarget: required
  bool rollback_allow_first = false;      // rollbackTarget: { required: true, allowFirst: true }
  bool no_active_incident = false;
  std::vector<CustomGate> custom;
};

enum class Weekday { kSun = 0, kMon, kTue, kWed, kThu, kFri, kSat };

struct WindowRule {
  std::vector<Weekday> days;  // empty = every day
  int start_minute = 0;       // minutes after local midnight, "10:00" -> 600
  int end_minute = 24 * 60;   // may be <= start: the window crosses midnight
};

struct Windows {
  std::string timezone = "UTC";  // IANA name; validity is checked by the gates module
  std::vector<WindowRule> allow;
};

struct Freeze {
  std::string name;
  std::string from;      // YYYY-MM-DD (inclusive), in the windows' time zone
  std::string to;        // YYYY-MM-DD (inclusive)
  std::string calendar;  // or: a repo-relative .ics / .yaml calendar path
};

struct EmergencyPolicy {
  std::vector<std::string> approvers;  // group names
  bool require_incident = true;
};

enum class OnFailure { kHold, kRollback };

// What the controller does when what runs differs from the deployed pin
// (drift, docs/adapters.md#drift): record it (the default), or not check at all.
enum class DriftPolicy { kRecord, kIgnore };

struct RollbackPolicy {
  std::optional<ApprovalPolicy> approval;
};

// environments/<env>/environment.yaml. An empty file or `{}` has no gates.
struct EnvironmentPolicy {
  std::string env;
  std::optional<std::string> upstream;
  std::optional<ApprovalPolicy> approval;
  Gates gates;
  std::optional<Windows> windows;
  std::vector<Freeze> freezes;
  std::optional<EmergencyPolicy> emergency;
  std::optional<Verification> verification;
  OnFailure on_failure = OnFailure::kHold;
  RollbackPolicy rollback;
  DriftPolicy drift = DriftPolicy::kRecord;  // `drift: record|ignore`
};

// Parses environment.yaml. `path` is its repository path
// ("environments/prod/environment.yaml"), used in diagnostics and to derive
// `env`. Returns nullopt with diagnostics appended on any error: unknown keys
// (a typo must never disable a gate silently), wrong types, bad durations,
// bad "HH:MM-HH:MM" hours, unknown weekday names, non-contained paths.
std::optional<EnvironmentPolicy> ParseEnvironmentPolicy(std::string_view yaml_text,
                                                        const std::string& path,
                                                        Diagnostics& diags);

}  // namespace sluice::config
