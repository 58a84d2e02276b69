#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bounded_cache.h"
#include "core/clock.h"
#include "notify/notifier.h"
#include "record/pass_report.h"

namespace sluice::server {

// Escapes a label value for the Prometheus text exposition format 0.0.4:
// backslash, double quote and line feed become \\, \" and \n.
std::string EscapeLabelValue(std::string_view value);

// Escapes HELP text: backslash and line feed become \\ and \n.
std::string EscapeHelp(std::string_view text);

// Formats a sample value: integers without a fraction, "+Inf", "-Inf",
// "NaN", anything else with up to 17 significant digits.
std::string FormatSampleValue(double value);

// What the daemon knows about its passes, for /readyz.
struct PassHealth {
  std::optional<TimePoint> last_success;  // end of the last pass that ran
  std::optional<TimePoint> last_failure;  // end of the last pass that could not run
  std::string last_error;                 // its error, one line
  // Why the last push of the record failed, one line; "" when records are
  // being pushed. While set the controller is not ready: it would decide
  // without being able to announce or record anything.
  std::string record_push_error;
  // High availability (SPEC section 8): why this replica cannot prove its
  // etcd lease (etcd unreachable, lease expired), one line; "" when it can
  // or without --etcd. While set the replica applies nothing (fenced).
  std::string ownership_error;
};

// Who owns which environment, as this replica's last ownership round saw
// it (ha::Ownership::State), for /metrics and /readyz.
struct OwnershipView {
  std::map<std::string, std::string> owner_of;  // env -> instance id
  uint64_t lease_changes = 0;                   // environments this replica gained or lost
  std::string not_ready_reason;                 // "" while the lease is held
};

// Readiness verdict: ready when records can be pushed and the last
// successful pass ended within 3 x `interval` of `now`; otherwise not ready with a reason in plain
// words (no pass yet, the last error, how long ago the last success was).
struct Readiness {
  bool ready = false;
  std::string reason;
};
Readiness EvaluateReadiness(const PassHealth& health, TimePoint now,
                            std::chrono::milliseconds interval);

// Metrics is the daemon's small metrics registry. It renders the Prometheus
// text exposition format 0.0.4 (HELP and TYPE lines, escaped labels):
//
//   sluice_build_info{version}                          gauge, always 1
//   sluice_reconcile_duration_seconds                   histogram of pass durations
//   sluice_reconcile_passes_total{result}               success | error
//   sluice_fetch_errors_total                           passes that failed to fetch
//   sluice_outcomes_total{state}                        per (env, app) outcome of passes
//   sluice_last_successful_pass_timestamp_seconds       unix time of the last good pass
//   sluice_webhooks_total{source,result}                webhook deliveries by verdict
//   sluice_drift_checks_total                           adapter drift checks run
//   sluice_drift_detected_total                         drift found (starts or changes)
//   sluice_drifted_pins                                 gauge: pins drifting at their last check
//   sluice_notifications_sent_total{kind}               notifications delivered, by event kind
//   sluice_notifications_failed_total{kind}             notifications given up on
//   sluice_notifications_dropped_total                  pushed out of a full queue
//   sluice_notifications_retries_total                  attempts after the first
//   sluice_notifications_queue_depth                    waiting or in flight now
//   sluice_evidence_cache_hits_total{kind}              evidence answered from a cache
//   sluice_evidence_cache_misses_total{kind}            evidence looked up for real
//   sluice_evidence_cache_entries{kind}                 gauge: entries held now
//   sluice_record_untrusted_total                       record entries found untrusted (ignored)
//                                                       (kind: registry | scan)
//   sluice_env_owner{env,instance}                      gauge 1 per environment (with --etcd)
//   sluice_lease_changes_total                          environments gained or lost (with --etcd)
//
// Thread-safe: every method may be called from any thread.
class Metrics {
 public:
  explicit Metrics(std::string version);

  // Records a pass that ran (RunOnce returned a report) and ended at `end`.
  void ObservePass(const record::PassReport& report, std::chrono::duration<double> took,
                   TimePoint end);
  // Records a pass that could not run; `fetch_error` when fetching failed.
  void ObserveFailedPass(const Status& error, bool fetch_error, std::chrono::duration<double> took,
                         TimePoint end);
  // Counts one webhook delivery; `source` github|gitlab|generic, `result`
  // accepted|ignored|unauthorized|disabled|too_large|bad_request.
  void ObserveWebhook(const std::string& source, const std::string& result);
  // Where the notification series come from (the notifier's Snapshot); read
  // at each Render. Without one they are exported as zero.
  void SetNotificationSource(std::function<notify::Stats()> source);
  // Where the evidence cache series come from (the reconciler's
  // EvidenceCaches, by kind: "registry", "scan"); read at each Render. Kinds
  // it does not name, or all without a source, are exported as zero.
  using CacheSeries = std::map<std::string, CacheStats>;
  void SetEvidenceCacheSource(std::function<CacheSeries()> source);

  // Where sluice_record_untrusted_total comes from (the workspace's count
  // of untrusted record entries); read at each Render, must not block.
  void SetUntrustedSource(std::function<size_t()> source);

  // With --etcd: where sluice_env_owner{env,instance} and
  // sluice_lease_changes_total come from, and readiness's ownership_error;
  // read at each Render and Health, must not block. Without a source those
  // series are not exported.
  void SetOwnershipSource(std::function<OwnershipView()> source);

  // The whole exposition, ending with a line feed.
  std::string Render() const;
  // After each pass (ran or not): the workspace's RecordPushError(), "" when
  // the record was pushed (Workspace::RecordPushError).
  void SetRecordPushError(const std::string& error);
  // Pass timestamps and the last error, for readiness.
  PassHealth Health() const;

  // Histogram bucket upper bounds, in seconds (without +Inf).
  static const std::vector<double>& DurationBuckets();

 private:
  void ObserveDurationLocked(double seconds);

  const std::string version_;
  mutable std::mutex mu_;
  std::vector<uint64_t> bucket_counts_;  // non-cumulative, one per bound, +Inf last
  double duration_sum_ = 0;
  uint64_t duration_count_ = 0;
  std::map<std::string, uint64_t> passes_;  // result -> count
  uint64_t fetch_errors_ = 0;
  std::map<std::string, uint64_t> outcomes_;  // state -> count
  std::map<std::pair<std::string, std::string>, uint64_t> webhooks_;
  uint64_t drift_checks_ = 0;
  uint64_t drift_detected_ = 0;
  std::set<std::string> drifted_;  // "env/app" drifting at its last check by this process
  PassHealth health_;
  std::function<notify::Stats()> notifications_;
  std::function<CacheSeries()> evidence_caches_;
  std::function<size_t()> untrusted_;
  std::function<OwnershipView()> ownership_;
};

// Whether a RunOnce error came from fetching the repository (the engine
// prefixes those with "fetch ").
bool IsFetchError(const Status& error);

}  // namespace sluice::server
