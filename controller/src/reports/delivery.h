#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "reports/audit.h"

namespace sluice::reports {

// A release that failed or was rolled back, marked on the charts.
struct DeliveryMark {
  std::string app;
  std::string version;
  std::string commit;
  std::string outcome;  // failed | rolled-back
  TimePoint when{};     // the failure, else the rollback
};

// One week (Monday 00:00 UTC to the next) of one environment.
struct DeliveryWeek {
  TimePoint start{};
  Dora dora;  // ComputeDora over the changes placed in this week
  std::vector<DeliveryMark> marks;
};

// The weeks of each environment of `report`, from the week of its window's
// start to the week of its end, empty weeks included, by environment name.
// Each week's figures are ComputeDora over the changes whose ChangeTime falls
// in it, with restores looked up among all the report's changes: the same
// computation as `sluice audit`'s figures, so the weeks' deploys, applied
// and failed changes add up to the report's. At most kMaxWeeks (the latest).
// Pure.
inline constexpr size_t kMaxDeliveryWeeks = 520;
std::map<std::string, std::vector<DeliveryWeek>> WeeklyDelivery(const AuditReport& report);

// Monday 00:00 UTC of the week holding `t`.
TimePoint WeekStart(TimePoint t);

// One self-contained HTML page (inline CSS and SVG, no script, nothing
// fetched) with, per environment, four charts over weeks — deploys per week,
// lead time p50/p90, change failure rate, time to restore — the failed and
// rolled-back releases marked, and the figures as a table. `title` heads it.
// Deterministic: the same report gives the same bytes. Pure.
std::string RenderDeliveryHtml(const AuditReport& report, const std::string& title);

}  // namespace sluice::reports
