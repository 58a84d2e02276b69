#include "server/metrics.h"

#include <charconv>
#include <cmath>
#include <sstream>

#include "core/text.h"

namespace sluice::server {
namespace {

// States every pass may report; they are exported from the start (as 0) so
// that alert expressions over them never see an absent series.
constexpr const char* kKnownStates[] = {"verified", "applied", "failed",  "blocked",
                                        "waiting",  "removed", "in-sync", "error"};
constexpr const char* kPassResults[] = {"success", "error"};
// Evidence caches, exported from the start (Reconciler::EvidenceCaches).
constexpr const char* kEvidenceCacheKinds[] = {"registry", "scan"};
// Event kinds that are notified, exported from the start like the states.
constexpr const char* kNotifiedKinds[] = {"blocked", "applied",     "verified",
                                          "failed",  "rolled-back", "drift"};

void Header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << EscapeHelp(help) << "\n";
  out << "# TYPE " << name << " " << type << "\n";
}

std::string OneLine(const std::string& s) {
  std::string out = s.substr(0, s.find('\n'));
  return out.size() > 300 ? std::string(TruncateUtf8(out, 300)) + "..." : out;
}

std::string HumanDuration(std::chrono::seconds d) {
  long s = static_cast<long>(d.count());
  if (s < 120) return std::to_string(s) + "s";
  if (s < 2 * 3600) return std::to_string(s / 60) + "m";
  return std::to_string(s / 3600) + "h" + std::to_string((s % 3600) / 60) + "m";
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return std::to_string(static_cast<long long>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

Readiness EvaluateReadiness(const PassHealth& health, TimePoint now,
                            std::chrono::milliseconds interval) {
  Readiness r;
  if (!health.record_push_error.empty()) {
    r.reason = "records cannot be pushed: " + health.record_push_error;
    return r;
  }
  if (!health.ownership_error.empty()) {
    r.reason = "fenced, applying nothing: " + health.ownership_error;
    return r;
  }
  const auto budget = 3 * interval;
  if (!health.last_success) {
    r.reason = "no successful pass yet";
    if (health.last_failure) r.reason += "; last pass failed: " + health.last_error;
    return r;
  }
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - *health.last_success);
  if (age <= budget) {
    r.ready = true;
    r.reason =
        "last successful pass " + HumanDuration(std::max(age, std::chrono::seconds(0))) + " ago";
    return r;
  }
  r.reason = "no successful pass for " + HumanDuration(age) + " (more than 3 x the interval of " +
             HumanDuration(std::chrono::duration_cast<std::chrono::seconds>(interval)) + ")";
  if (health.last_failure && *health.last_failure > *health.last_success) {
    r.reason += "; last pass failed: " + health.last_error;
  }
  return r;
}

const std::vector<double>& Metrics::DurationBuckets() {
  static const std::vector<double> kBuckets = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                               5,    10,  30,   60,  120, 300};
  return kBuckets;
}

Metrics::Metrics(std::string version)
    : version_(std::move(version)), bucket_counts_(DurationBuckets().size() + 1, 0) {
  for (const char* r : kPassResults) passes_[r] = 0;
  for (const char* s : kKnownStates) outcomes_[s] = 0;
}

void Metrics::ObserveDurationLocked(double seconds) {
  const auto& bounds = DurationBuckets();
  size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  ++bucket_counts_[i];
  duration_sum_ += seconds;
  ++duration_count_;
}

void Metrics::ObservePass(const record::PassReport& report, std::chrono::duration<double> took,
                          TimePoint end) {
  std::lock_guard lock(mu_);
  ObserveDurationLocked(took.count());
  ++passes_["success"];
  for (const auto& o : report.outcomes) {
    ++outcomes_[std::string(record::OutcomeName(o.state))];
    const std::string key = o.env + "/" + o.app;
    if (o.state == record::Outcome::kDrift) {
      ++drift_detected_;
      drifted_.insert(key);
    } else if (o.state == record::Outcome::kDriftResolved || record::Deployed(o.state)) {
      drifted_.erase(key);  // the drift is gone, or a new release replaced what drifted
    }
  }
  drift_checks_ += report.drift_checks;
  health_.last_success = end;
}

void Metrics::ObserveFailedPass(const Status& error, bool fetch_error,
                                std::chrono::duration<double> took, TimePoint end) {
  std::lock_guard lock(mu_);
  ObserveDurationLocked(took.count());
  ++passes_["error"];
  if (fetch_error) ++fetch_errors_;
  health_.last_failure = end;
  health_.last_error = OneLine(error.message());
}

void Metrics::ObserveWebhook(const std::string& source, const std::string& result) {
  std::lock_guard lock(mu_);
  ++webhooks_[{source, result}];
}

void Metrics::SetNotificationSource(std::function<notify::Stats()> source) {
  std::lock_guard lock(mu_);
  notifications_ = std::move(source);
}

void Metrics::SetEvidenceCacheSource(std::function<CacheSeries()> source) {
  std::lock_guard lock(mu_);
  evidence_caches_ = std::move(source);
}

void Metrics::SetUntrustedSource(std::function<size_t()> source) {
  std::lock_guard lock(mu_);
  untrusted_ = std::move(source);
}

void Metrics::SetRecordPushError(const std::string& error) {
  std::lock_guard lock(mu_);
  health_.record_push_error = OneLine(error);
}

void Metrics::SetOwnershipSource(std::function<OwnershipView()> source) {
  std::lock_guard lock(mu_);
  ownership_ = std::move(source);
}

PassHealth Metrics::Health() const {
  std::lock_guard lock(mu_);
  PassHealth health = health_;
  if (ownership_) health.ownership_error = OneLine(ownership_().not_ready_reason);
  return health;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  Header(out, "sluice_build_info", "gauge", "Build information of the running controller.");
  out << "sluice_build_info{version=\"" << EscapeLabelValue(version_) << "\"} 1\n";

  Header(out, "sluice_reconcile_duration_seconds", "histogram",
         "Duration of reconcile passes, including those that failed.");
  uint64_t cumulative = 0;
  const auto& bounds = DurationBuckets();
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += bucket_counts_[i];
    out << "sluice_reconcile_duration_seconds_bucket{le=\"" << FormatSampleValue(bounds[i])
        << "\"} " << cumulative << "\n";
  }
  cumulative += bucket_counts_.back();
  out << "sluice_reconcile_duration_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n";
  out << "sluice_reconcile_duration_seconds_sum " << FormatSampleValue(duration_sum_) << "\n";
  out << "sluice_reconcile_duration_seconds_count " << duration_count_ << "\n";

  Header(out, "sluice_reconcile_passes_total", "counter",
         "Reconcile passes by result: success (the pass ran) or error (it could not run).");
  for (const auto& [result, n] : passes_) {
    out << "sluice_reconcile_passes_total{result=\"" << EscapeLabelValue(result) << "\"} " << n
        << "\n";
  }

  Header(out, "sluice_fetch_errors_total", "counter",
         "Passes that could not fetch the environments repository.");
  out << "sluice_fetch_errors_total " << fetch_errors_ << "\n";

  Header(out, "sluice_outcomes_total", "counter",
         "Outcomes of (env, app) changes handled by passes, by state.");
  for (const auto& [state, n] : outcomes_) {
    out << "sluice_outcomes_total{state=\"" << EscapeLabelValue(state) << "\"} " << n << "\n";
  }

  Header(out, "sluice_last_successful_pass_timestamp_seconds", "gauge",
         "Unix time at which the last successful pass ended (0: none yet).");
  double last = 0;
  if (health_.last_success) {
    last = std::chrono::duration<double>(health_.last_success->time_since_epoch()).count();
  }
  out << "sluice_last_successful_pass_timestamp_seconds " << FormatSampleValue(last) << "\n";

  Header(out, "sluice_webhooks_total", "counter",
         "Webhook deliveries by source (github, gitlab, generic) and result.");
  for (const auto& [key, n] : webhooks_) {
    out << "sluice_webhooks_total{source=\"" << EscapeLabelValue(key.first) << "\",result=\""
        << EscapeLabelValue(key.second) << "\"} " << n << "\n";
  }

  Header(out, "sluice_drift_checks_total", "counter",
         "Drift checks run (helm status and get values, or terraform plan -detailed-exitcode).");
  out << "sluice_drift_checks_total " << drift_checks_ << "\n";
  Header(out, "sluice_drift_detected_total", "counter",
         "Drift found: what runs differs from the deployed pin (counted when it starts or its "
         "detail changes).");
  out << "sluice_drift_detected_total " << drift_detected_ << "\n";
  Header(out, "sluice_drifted_pins", "gauge",
         "Pins whose last drift check by this process found drift.");
  out << "sluice_drifted_pins " << drifted_.size() << "\n";
  notify::Stats ns = notifications_ ? notifications_() : notify::Stats{};
  for (const char* k : kNotifiedKinds) {
    ns.sent.try_emplace(k, 0);
    ns.failed.try_emplace(k, 0);
  }
  Header(out, "sluice_notifications_sent_total", "counter",
         "Notifications delivered (Slack, webhooks), by event kind.");
  for (const auto& [kind, n] : ns.sent) {
    out << "sluice_notifications_sent_total{kind=\"" << EscapeLabelValue(kind) << "\"} " << n
        << "\n";
  }
  Header(out, "sluice_notifications_failed_total", "counter",
         "Notifications given up on (attempts exhausted, refused by the receiver, or left at "
         "shutdown), by event kind.");
  for (const auto& [kind, n] : ns.failed) {
    out << "sluice_notifications_failed_total{kind=\"" << EscapeLabelValue(kind) << "\"} " << n
        << "\n";
  }
  Header(out, "sluice_notifications_dropped_total", "counter",
         "Notifications dropped: the queue was full (the oldest go first) or the controller was "
         "stopping.");
  out << "sluice_notifications_dropped_total " << ns.dropped << "\n";
  Header(out, "sluice_notifications_retries_total", "counter",
         "Notification attempts after the first (network errors, 5xx, 429).");
  out << "sluice_notifications_retries_total " << ns.retries << "\n";
  Header(out, "sluice_notifications_queue_depth", "gauge",
         "Notifications waiting to be sent or in flight.");
  out << "sluice_notifications_queue_depth " << ns.queue_depth << "\n";

  CacheSeries caches = evidence_caches_ ? evidence_caches_() : CacheSeries{};
  for (const char* kind : kEvidenceCacheKinds) caches.try_emplace(kind);
  Header(out, "sluice_evidence_cache_hits_total", "counter",
         "Gate evidence answered from the controller's cache: registry (a manifest known to "
         "exist, within --registry-cache-ttl) or scan (reports already parsed, same git tree).");
  for (const auto& [kind, st] : caches) {
    out << "sluice_evidence_cache_hits_total{kind=\"" << EscapeLabelValue(kind) << "\"} " << st.hits
        << "\n";
  }
  Header(out, "sluice_evidence_cache_misses_total", "counter",
         "Gate evidence looked up for real (registry request, scan reports read and parsed).");
  for (const auto& [kind, st] : caches) {
    out << "sluice_evidence_cache_misses_total{kind=\"" << EscapeLabelValue(kind) << "\"} "
        << st.misses << "\n";
  }
  Header(out, "sluice_evidence_cache_entries", "gauge", "Entries held in the evidence caches now.");
  for (const auto& [kind, st] : caches) {
    out << "sluice_evidence_cache_entries{kind=\"" << EscapeLabelValue(kind) << "\"} " << st.entries
        << "\n";
  }
  Header(out, "sluice_record_untrusted_total", "counter",
         "Record entries (note lines, record refs) found unsigned or signed by no key of "
         "trust.controllerKeys: ignored for every decision (sluice audit lists them).");
  out << "sluice_record_untrusted_total " << (untrusted_ ? untrusted_() : 0) << "\n";
  if (ownership_) {
    const OwnershipView view = ownership_();
    Header(out, "sluice_env_owner", "gauge",
           "1 for the replica that owns each environment, as this replica last read etcd.");
    for (const auto& [env, instance] : view.owner_of) {
      out << "sluice_env_owner{env=\"" << EscapeLabelValue(env) << "\",instance=\""
          << EscapeLabelValue(instance) << "\"} 1\n";
    }
    Header(out, "sluice_lease_changes_total", "counter",
           "Environments this replica gained or lost through its etcd lease.");
    out << "sluice_lease_changes_total " << view.lease_changes << "\n";
  }
  return out.str();
}

bool IsFetchError(const Status& error) { return error.message().rfind("fetch ", 0) == 0; }

}  // namespace sluice::server
