#include "cli/pass_output.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "core/text.h"

namespace sluice::cli {

bool IsNormalOutcome(record::Outcome state) {
  switch (state) {
    case record::Outcome::kInSync:
    case record::Outcome::kApplied:
    case record::Outcome::kVerified:
    case record::Outcome::kRolledBack:
    case record::Outcome::kBlocked:
    case record::Outcome::kWaiting:
    case record::Outcome::kRemoved:
    case record::Outcome::kDrift:
    case record::Outcome::kDriftResolved:
      return true;
    case record::Outcome::kFailed:
    case record::Outcome::kError:
      return false;
  }
  return false;
}

int PassExitCode(const record::PassReport& report) {
  if (!report.problems.empty()) return kExitError;
  for (const auto& o : report.outcomes) {
    if (!IsNormalOutcome(o.state)) return kExitError;
  }
  return kExitOk;
}

void PrintPassReport(std::ostream& out, const record::PassReport& report,
                     const std::string& format) {
  if (format == "json") {
    nlohmann::ordered_json outcomes = nlohmann::ordered_json::array();
    for (const auto& o : report.outcomes) {
      outcomes.push_back({{"env", o.env},
                          {"app", o.app},
                          {"commit", o.commit},
                          {"digest", o.digest},
                          {"state", record::OutcomeName(o.state)},
                          {"reason", o.reason}});
    }
    nlohmann::ordered_json j{{"head", report.head},
                             {"unchanged", report.unchanged},
                             {"pinsRead", report.pins_read},
                             {"driftChecks", report.drift_checks},
                             {"durationMs", report.duration.count()},
                             {"problems", report.problems},
                             {"outcomes", outcomes}};
    if (!report.pull_requests.empty() || !report.pull_request_problems.empty()) {
      nlohmann::ordered_json prs = nlohmann::ordered_json::array();
      for (const auto& p : report.pull_requests) {
        prs.push_back({{"change", p.change},
                       {"head", p.head},
                       {"context", "sluice/" + p.env},
                       {"state", p.state},
                       {"description", p.description},
                       {"posted", p.posted},
                       {"error", p.error}});
      }
      j["pullRequests"] = prs;
      j["pullRequestProblems"] = report.pull_request_problems;
    }
    out << DumpJson(j) << "\n";
    return;
  }
  // A reason may quote a child's output: no control characters reach the
  // terminal.
  for (const auto& p : report.problems) out << "problem: " << StripControl(p) << "\n";
  for (const auto& o : report.outcomes) {
    out << o.env << "/" << o.app << ": " << record::OutcomeName(o.state);
    if (!o.reason.empty()) out << " — " << StripControl(o.reason, /*keep_newlines=*/false);
    out << "\n";
  }
  for (const auto& p : report.pull_requests) {
    out << "pull request " << p.change << " sluice/" << p.env << ": " << p.state << " — "
        << StripControl(p.description, /*keep_newlines=*/false)
        << (p.posted          ? " (posted)"
            : p.error.empty() ? " (unchanged)"
                              : " (not posted)")
        << "\n";
  }
  for (const auto& p : report.pull_request_problems) {
    out << "warning: " << StripControl(p, /*keep_newlines=*/false) << "\n";
  }
  out << "pass at " << ShortId(report.head) << ": " << report.outcomes.size()
      << " change(s) handled, " << report.pins_read << " pin(s) read, ";
  if (report.drift_checks > 0) out << report.drift_checks << " drift check(s), ";
  out << report.duration.count() << " ms\n";
}
}  // namespace sluice::cli
