#include "cli/pass_output.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "core/json_dump.h"
#include "core/text.h"
#include "core/version.h"
#include "engine/pass_stamp.h"

namespace sluice::cli {

bool IsNormalOutcome(std::string_view state) {
  static constexpr std::string_view kNormal[] = {"in-sync",     "applied", "verified",
                                                 "rolled-back", "blocked", "waiting",
                                                 "removed",     "drift",   "drift-resolved"};
  return std::find(std::begin(kNormal), std::end(kNormal), state) != std::end(kNormal);
}

int PassExitCode(const engine::PassReport& report) {
  if (!report.problems.empty()) return kExitError;
  for (const auto& o : report.outcomes) {
    if (!IsNormalOutcome(o.state)) return kExitError;
  }
  return kExitOk;
}

void PrintPassReport(std::ostream& out, const engine::PassReport& report,
                     const std::string& format) {
  if (format == "json") {
    nlohmann::ordered_json outcomes = nlohmann::ordered_json::array();
    for (const auto& o : report.outcomes) {
      outcomes.push_back({{"env", o.env},
                          {"app", o.app},
                          {"commit", o.commit},
                          {"digest", o.digest},
                          {"state", o.state},
                          {"reason", o.reason}});
    }
    nlohmann::ordered_json j{{"head", report.head},
                             {"unchanged", report.unchanged},
                             {"pinsRead", report.pins_read},
                             {"driftChecks", report.drift_checks},
                             {"durationMs", report.duration.count()},
                             {"problems", report.problems},
                             {"outcomes", outcomes}};
    out << DumpJson(j) << "\n";
    return;
  }
  // A reason may quote a child's output: no control characters reach the
  // terminal.
  for (const auto& p : report.problems) out << "problem: " << StripControl(p) << "\n";
  for (const auto& o : report.outcomes) {
    out << o.env << "/" << o.app << ": " << o.state;
    if (!o.reason.empty()) out << " — " << StripControl(o.reason, /*keep_newlines=*/false);
    out << "\n";
  }
  out << "pass at " << report.head.substr(0, 12) << ": " << report.outcomes.size()
      << " change(s) handled, " << report.pins_read << " pin(s) read, ";
  if (report.drift_checks > 0) out << report.drift_checks << " drift check(s), ";
  out << report.duration.count() << " ms\n";
}

void StampPass(engine::Workspace& ws, const engine::PassReport& report, TimePoint now,
               std::chrono::seconds interval, const std::string& instance_id) {
  engine::PassStamp stamp;
  stamp.time = now;
  stamp.head = report.head;
  stamp.branch = ws.branch();
  stamp.interval = interval;
  stamp.controller_id = instance_id;
  stamp.controller_version = std::string(Version());
  auto written = engine::RecordPass(ws, stamp);
  if (!written.ok()) {
    spdlog::warn("could not record the pass stamp (refs/sluice/pass): {}",
                 written.status().ToString());
  }
}

}  // namespace sluice::cli
