#include "cli/pass_output.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "record/pass_stamp.h"

namespace sluice::cli {

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
    out << j.dump() << "\n";
    return;
  }
  for (const auto& p : report.problems) out << "problem: " << p << "\n";
  for (const auto& o : report.outcomes) {
    out << o.env << "/" << o.app << ": " << record::OutcomeName(o.state);
    if (!o.reason.empty()) out << " — " << o.reason;
    out << "\n";
  }
  out << "pass at " << ShortId(report.head) << ": " << report.outcomes.size()
      << " change(s) handled, " << report.pins_read << " pin(s) read, ";
  if (report.drift_checks > 0) out << report.drift_checks << " drift check(s), ";
  out << report.duration.count() << " ms\n";
}
}  // namespace sluice::cli
