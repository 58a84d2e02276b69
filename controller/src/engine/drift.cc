#include "engine/drift.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "config/policy.h"
#include "config/repository_config.h"
#include "core/strings.h"
#include "core/version.h"
#include "record/refs.h"

namespace sluice::engine {
namespace fs = std::filesystem;

bool IsInSyncForDrift(const std::string& head_blob, const std::string& deployed_blob,
                      const record::Event* last_on_deployed) {
  if (head_blob.empty() || head_blob != deployed_blob || last_on_deployed == nullptr) return false;
  return last_on_deployed->kind == record::EventKind::kVerified ||
         last_on_deployed->kind == record::EventKind::kDrift;
}

std::optional<record::Event> DriftEventToRecord(const record::Event* last_on_deployed,
                                                const adapters::Observation& observed,
                                                record::Event base) {
  const bool drifting = last_on_deployed != nullptr &&
                        last_on_deployed->kind == record::EventKind::kDrift &&
                        !last_on_deployed->resolved;
  base.kind = record::EventKind::kDrift;
  switch (observed.state) {
    case adapters::Observed::kOtherDeployed: {
      std::string reason = observed.detail.empty()
                               ? std::string("something other than the pin runs")
                               : observed.detail;
      // The same drift seen again is not news: one event when it starts or
      // when what differs changes.
      if (drifting && last_on_deployed->reason == reason) return std::nullopt;
      base.reason = std::move(reason);
      return base;
    }
    case adapters::Observed::kPinDeployed:
      if (!drifting) return std::nullopt;
      base.resolved = true;
      base.reason =
          "drift resolved: what runs matches the pin again (was: " + last_on_deployed->reason + ")";
      return base;
    case adapters::Observed::kUnknown:
      break;
  }
  return std::nullopt;
}

DriftChecker::DriftChecker(record::Workspace& ws, record::RecordStore& record,
                           process::CommandRunner& runner, const Clock& clock, CancelToken& cancel,
                           DriftOptions options, std::string instance_id)
    : ws_(ws),
      record_(record),
      runner_(runner),
      clock_(clock),
      cancel_(cancel),
      options_(std::move(options)),
      instance_id_(std::move(instance_id)) {
  if (!options_.make_adapter) options_.make_adapter = adapters::MakeAdapter;
}

DriftReport DriftChecker::Run(const std::string& head) {
  DriftReport report;
  if (options_.interval.count() <= 0 && !options_.check_all_now) return report;

  constexpr std::string_view kPrefix = "refs/sluice/deployed/";
  std::map<std::string, std::string> refs;
  {
    std::lock_guard lock(ws_.mutex());
    auto listed = ws_.repo().ListRefs(std::string(kPrefix));
    if (!listed.ok()) {
      spdlog::warn("drift: cannot list deployed pins: {}", listed.status().ToString());
      return report;
    }
    refs = std::move(*listed);
  }

  const TimePoint now = clock_.Now();
  std::vector<std::pair<std::optional<TimePoint>, Due>> due;
  std::set<std::string> present;
  for (const auto& [ref, commit] : refs) {
    std::string rest = ref.substr(kPrefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string::npos || rest.find('/', slash + 1) != std::string::npos) continue;
    present.insert(rest);
    // exec (or unreadable) at this very commit: nothing to ask, whatever the interval.
    if (auto it = never_checked_.find(rest); it != never_checked_.end() && it->second == commit) {
      continue;
    }
    std::optional<TimePoint> last;
    if (auto it = last_checked_.find(rest); it != last_checked_.end()) last = it->second;
    if (!options_.check_all_now && last && now - *last < options_.interval) continue;
    due.push_back({last, Due{rest.substr(0, slash), rest.substr(slash + 1), commit}});
  }
  // Forget pins that are gone, so the map stays the size of the repository.
  std::erase_if(last_checked_, [&](const auto& kv) { return !present.count(kv.first); });
  std::erase_if(never_checked_, [&](const auto& kv) { return !present.count(kv.first); });
  // Never-checked pins first (in name order), then the longest unchecked.
  std::stable_sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
    if (a.first.has_value() != b.first.has_value()) return !a.first.has_value();
    return a.first.has_value() && *a.first < *b.first;
  });

  std::map<std::string, bool> ignored;  // env -> `drift: ignore` in the policy in force
  for (const auto& [unused, pin] : due) {
    if (cancel_.cancelled()) break;
    if (!options_.check_all_now && report.checks >= options_.max_checks_per_pass) break;
    if (options_.should_yield && options_.should_yield()) {
      spdlog::debug("drift: woken for a pass; {} check(s) left for later", due.size());
      break;
    }
    last_checked_[pin.env + "/" + pin.app] = clock_.Now();
    auto ignore = ignored.find(pin.env);
    if (ignore == ignored.end())
      ignore = ignored.emplace(pin.env, IgnoresDrift(pin.env, head)).first;
    if (ignore->second) continue;
    if (CheckOne(pin, head, report)) ++report.checks;
  }
  return report;
}

bool DriftChecker::IgnoresDrift(const std::string& env, const std::string& head) {
  // The policy in force (trust rule), never what the branch head says.
  return options_.ignores_drift && options_.ignores_drift(env, head);
}

void DriftChecker::MarkChecked(const std::string& env, const std::string& app) {
  last_checked_[env + "/" + app] = clock_.Now();
}

bool DriftChecker::CheckOne(const Due& due, const std::string& head, DriftReport& report) {
  const std::string path = config::PinPath(due.env, due.app);
  const std::string key = due.env + "/" + due.app;
  std::string text;
  {
    std::lock_guard lock(ws_.mutex());
    auto read = ws_.repo().ReadFile(due.deployed, path);
    if (!read.ok()) return false;
    text = std::move(*read);
  }
  // The deployed pin first: exec cannot tell what runs, so it never drifts,
  // and is not read again while it stays deployed. The record of its commit
  // is then never parsed (after a fleet-wide pass, one note of 30,000
  // events, kept in memory once read).
  config::Diagnostics diags;
  std::optional<config::Pin> pin = config::ParsePin(text, path, diags);
  if (!pin || pin->deploy.adapter == config::AdapterKind::kExec) {
    never_checked_[key] = due.deployed;
    return false;
  }
  std::optional<record::Event> last;
  {
    std::lock_guard lock(ws_.mutex());
    git::Repository& repo = ws_.repo();
    auto head_blob = repo.BlobId(head, path);
    auto deployed_blob = repo.BlobId(due.deployed, path);
    if (!head_blob.ok() || !deployed_blob.ok()) return false;
    std::vector<record::Event> events = ws_.TrustedEventsForLocked(due.deployed, due.env, due.app);
    const record::Event* found = record::LastEventFor(events, due.env, due.app);
    if (!IsInSyncForDrift(*head_blob, *deployed_blob, found)) return false;
    last = *found;
  }

  DriftFinding finding{due.env, due.app, due.deployed, pin->artifact.digest, "", ""};
  auto adapter = options_.make_adapter(pin->deploy.adapter, runner_);
  if (!adapter.ok()) {
    finding.state = "error";
    finding.reason = "drift check failed: " + adapter.status().message();
    report.findings.push_back(std::move(finding));
    return true;
  }

  // Terraform plans in the deployed commit's tree; helm reads nothing from it.
  std::error_code ec;
  const std::string checkout =
      ws_.ScratchDir() + "/drift-" + due.env + "-" + due.app + "-" + ShortId(due.deployed);
  fs::remove_all(checkout, ec);
  fs::create_directories(ws_.ScratchDir(), ec);
  Status exported;
  {
    std::lock_guard lock(ws_.mutex());
    exported = ws_.repo().ExportTree(
        due.deployed, checkout, [&](std::string_view path, bool is_directory) {
          return !is_directory && config::IsOtherAppsPin(path, due.env, due.app);
        });
  }
  if (auto user = runner_.RepositoryCodeUser(); user && exported.ok()) {
    exported = process::HandOverTree(checkout, ws_.workdir(), *user);  // runAs
  }
  Result<adapters::Observation> observed = Status::Internal("not run");
  if (exported.ok()) {
    adapters::ApplyRequest req;
    req.env = due.env;
    req.app = due.app;
    req.commit = due.deployed;
    req.pin = &*pin;
    req.checkout_dir = fs::absolute(checkout).string();
    req.cancel = &cancel_;
    req.log = [&](std::string_view line, bool is_stderr) {
      spdlog::debug("[{}/{} drift{}] {}", due.env, due.app, is_stderr ? " stderr" : "", line);
    };
    observed = (*adapter)->Inspect(req);
  } else {
    observed = exported.WithContext("checkout of " + ShortId(due.deployed));
  }
  fs::remove_all(checkout, ec);

  if (!observed.ok()) {
    finding.state = "error";
    finding.reason = "drift check failed: " + observed.status().message();
    spdlog::warn("{}/{}: {}", due.env, due.app, finding.reason);
    report.findings.push_back(std::move(finding));
    return true;
  }

  record::Event base;
  base.time = clock_.Now();
  base.env = due.env;
  base.app = due.app;
  base.commit = due.deployed;
  base.digest = pin->artifact.digest;
  base.version = pin->artifact.version;
  base.adapter = record::AdapterRecord{std::string((*adapter)->Name()), observed->exit_code,
                                       static_cast<std::int64_t>(observed->duration.count())};
  base.controller_id = instance_id_;
  base.controller_version = std::string(Version());
  std::optional<record::Event> event = DriftEventToRecord(&*last, *observed, std::move(base));
  if (!event) return true;
  if (Status s = record_.Write(*event); !s.ok()) {
    spdlog::warn("{}/{}: could not record drift yet: {}", due.env, due.app, s.ToString());
  }
  finding.state = event->resolved ? "resolved" : "drift";
  finding.reason = event->reason;
  if (event->resolved) {
    spdlog::info("{}/{}: {}", due.env, due.app, event->reason);
  } else {
    spdlog::warn("{}/{}: drift: {}", due.env, due.app, event->reason);
  }
  report.findings.push_back(std::move(finding));
  return true;
}

}  // namespace sluice::engine
