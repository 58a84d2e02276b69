#include "reports/delivery.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>

#include "core/strings.h"
#include "core/time_format.h"

namespace sluice::reports {
namespace {

constexpr auto kWeek = std::chrono::hours(24 * 7);

std::string Escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters (a version string is the pusher's text) are
        // dropped; UTF-8 passes through.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\n') out += c;
    }
  }
  return out;
}

std::string Day(TimePoint t) { return FormatRfc3339(t).substr(0, 10); }

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A duration unit fitting `max_seconds`: seconds, minutes, hours or days.
struct Unit {
  const char* name;
  double seconds;
};
Unit UnitFor(double max_seconds) {
  if (max_seconds < 120) return {"s", 1};
  if (max_seconds < 2 * 3600) return {"min", 60};
  if (max_seconds < 2 * 86400) return {"h", 3600};
  return {"d", 86400};
}

// 1, 2 or 5 times a power of ten, at least `v` (and at least 1).
double NiceCeiling(double v) {
  if (v <= 1) return 1;
  double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

std::string Number(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9) return Fixed(v, 0);
  return Fixed(v, v < 10 ? 1 : 0);
}

struct Series {
  std::string name;
  std::string color;
  std::vector<std::optional<double>> values;  // one per week
};

// One chart: bars (side by side per week) or lines, over the weeks, with
// the marks of each week (failed or rolled-back releases) as red triangles.
std::string Chart(const std::string& title, const std::string& unit,
                  const std::vector<TimePoint>& weeks, const std::vector<Series>& series, bool bars,
                  const std::vector<std::vector<DeliveryMark>>* marks) {
  constexpr double kW = 760, kH = 190, kLeft = 56, kRight = 12, kTop = 28, kBottom = 30;
  const double plot_w = kW - kLeft - kRight, plot_h = kH - kTop - kBottom;
  const size_t n = std::max<size_t>(weeks.size(), 1);
  const double slot = plot_w / static_cast<double>(n);
  double max = 0;
  for (const Series& s : series) {
    for (const auto& v : s.values) {
      if (v) max = std::max(max, *v);
    }
  }
  const double top = NiceCeiling(max);
  auto y = [&](double v) { return kTop + plot_h - (v / top) * plot_h; };
  auto x_center = [&](size_t i) { return kLeft + slot * (static_cast<double>(i) + 0.5); };

  std::ostringstream o;
  o << "<figure><svg role=\"img\" viewBox=\"0 0 " << kW << " " << kH << "\" width=\"" << kW
    << "\" height=\"" << kH << "\" xmlns=\"http://www.w3.org/2000/svg\"><title>" << Escape(title)
    << "</title>";
  o << "<text x=\"" << kLeft << "\" y=\"16\" class=\"t\">" << Escape(title);
  if (!unit.empty()) o << " (" << Escape(unit) << ")";
  o << "</text>";
  // Grid: 0, half, top.
  for (double g : {0.0, top / 2, top}) {
    o << "<line x1=\"" << kLeft << "\" x2=\"" << kW - kRight << "\" y1=\"" << Fixed(y(g), 1)
      << "\" y2=\"" << Fixed(y(g), 1) << "\" class=\"g\"/>";
    o << "<text x=\"" << kLeft - 6 << "\" y=\"" << Fixed(y(g) + 4, 1) << "\" class=\"yl\">"
      << Number(g) << "</text>";
  }
  // Week labels: at most about eight.
  const size_t step = std::max<size_t>(1, (weeks.size() + 7) / 8);
  for (size_t i = 0; i < weeks.size(); i += step) {
    o << "<text x=\"" << Fixed(x_center(i), 1) << "\" y=\"" << kH - 10 << "\" class=\"xl\">"
      << Day(weeks[i]) << "</text>";
  }
  if (bars) {
    const size_t per_week = std::max<size_t>(series.size(), 1);
    // Bars fill most of a week's slot, but stay bars when there are few weeks.
    const double group = std::min(slot * 0.8, 36.0 * static_cast<double>(per_week));
    const double bar = group / static_cast<double>(per_week);
    for (size_t s = 0; s < series.size(); ++s) {
      for (size_t i = 0; i < weeks.size() && i < series[s].values.size(); ++i) {
        const auto& v = series[s].values[i];
        if (!v) continue;
        const double x0 = kLeft + slot * static_cast<double>(i) + (slot - group) / 2 + bar * s;
        o << "<rect x=\"" << Fixed(x0, 1) << "\" y=\"" << Fixed(y(*v), 1) << "\" width=\""
          << Fixed(std::max(bar - 0.5, 0.5), 1) << "\" height=\"" << Fixed(kTop + plot_h - y(*v), 1)
          << "\" fill=\"" << series[s].color << "\"><title>"
          << "week of " << Day(weeks[i]) << ": " << Escape(series[s].name) << " " << Number(*v)
          << (unit.empty() ? "" : " " + Escape(unit)) << "</title></rect>";
      }
    }
  } else {
    for (const Series& s : series) {
      // One polyline per run of weeks that have a value.
      std::string points;
      auto flush = [&] {
        if (!points.empty()) {
          o << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\" points=\""
            << points << "\"/>";
        }
        points.clear();
      };
      for (size_t i = 0; i < weeks.size() && i < s.values.size(); ++i) {
        if (!s.values[i]) {
          flush();
          continue;
        }
        const std::string px = Fixed(x_center(i), 1), py = Fixed(y(*s.values[i]), 1);
        points += (points.empty() ? "" : " ") + px + "," + py;
        o << "<circle cx=\"" << px << "\" cy=\"" << py << "\" r=\"2.5\" fill=\"" << s.color
          << "\"><title>week of " << Day(weeks[i]) << ": " << Escape(s.name) << " "
          << Number(*s.values[i]) << " " << Escape(unit) << "</title></circle>";
      }
      flush();
    }
  }
  if (marks) {
    for (size_t i = 0; i < weeks.size() && i < marks->size(); ++i) {
      const auto& m = (*marks)[i];
      if (m.empty()) continue;
      const double cx = x_center(i);
      o << "<path class=\"mark\" d=\"M" << Fixed(cx - 5, 1) << "," << kTop - 8 << " L"
        << Fixed(cx + 5, 1) << "," << kTop - 8 << " L" << Fixed(cx, 1) << "," << kTop
        << " Z\"><title>";
      constexpr size_t kListed = 10;
      for (size_t k = 0; k < m.size() && k < kListed; ++k) {
        o << (k ? "&#10;" : "") << Escape(m[k].app) << " " << Escape(m[k].version) << " ("
          << ShortId(m[k].commit) << ") " << m[k].outcome << " " << FormatRfc3339(m[k].when);
      }
      if (m.size() > kListed) o << "&#10;and " << m.size() - kListed << " more";
      o << "</title></path>";
    }
  }
  o << "</svg>";
  if (series.size() > 1) {
    o << "<figcaption>";
    for (const Series& s : series) {
      o << "<span class=\"key\" style=\"background:" << s.color << "\"></span>" << Escape(s.name)
        << " ";
    }
    o << "</figcaption>";
  }
  o << "</figure>\n";
  return o.str();
}

std::optional<double> Scaled(const std::optional<double>& seconds, const Unit& u) {
  if (!seconds) return std::nullopt;
  return *seconds / u.seconds;
}

std::string DurationCell(const std::optional<double>& seconds) {
  if (!seconds) return "—";
  const Unit u = UnitFor(*seconds);
  return Number(*seconds / u.seconds) + " " + u.name;
}

constexpr char kStyle[] = R"(<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1b1f24; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; }
figure { margin: 8px 0 16px; }
svg .t { font-size: 13px; font-weight: 600; fill: #1b1f24; }
svg .yl { font-size: 11px; text-anchor: end; fill: #57606a; }
svg .xl { font-size: 11px; text-anchor: middle; fill: #57606a; }
svg .g { stroke: #d0d7de; stroke-width: 1; }
svg .mark { fill: #cf222e; }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #d0d7de; padding: 2px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #57606a; }
</style>)";

}  // namespace

TimePoint WeekStart(TimePoint t) {
  // 1970-01-01 was a Thursday: day d is in the week starting on day
  // floor((d + 3) / 7) * 7 - 3 (a Monday).
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  auto floor_div = [](long long a, long long b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
  };
  const long long day = floor_div(secs, 86400);
  const long long monday = floor_div(day + 3, 7) * 7 - 3;
  return TimePoint(std::chrono::seconds(monday * 86400));
}

std::map<std::string, std::vector<DeliveryWeek>> WeeklyDelivery(const AuditReport& report) {
  std::map<std::string, std::vector<DeliveryWeek>> out;
  if (!report.window_start || !report.window_end || report.changes.empty()) return out;
  TimePoint first = WeekStart(*report.window_start);
  const TimePoint last = WeekStart(*report.window_end);
  if (last < first) return out;
  size_t count = static_cast<size_t>((last - first) / kWeek) + 1;
  if (count > kMaxDeliveryWeeks) {
    first += kWeek * static_cast<long long>(count - kMaxDeliveryWeeks);
    count = kMaxDeliveryWeeks;
  }
  // Changes by environment and week.
  std::map<std::string, std::vector<std::vector<const Change*>>> placed;
  for (const Change& c : report.changes) {
    auto t = ChangeTime(c);
    if (!t || *t < first) continue;
    const size_t week = static_cast<size_t>((WeekStart(*t) - first) / kWeek);
    if (week >= count) continue;
    auto& weeks = placed[c.env];
    if (weeks.empty()) weeks.resize(count);
    weeks[week].push_back(&c);
  }
  for (auto& [env, weeks] : placed) {
    std::vector<DeliveryWeek>& dw = out[env];
    dw.resize(count);
    for (size_t i = 0; i < count; ++i) {
      const TimePoint start = first + kWeek * static_cast<long long>(i);
      dw[i].start = start;
      dw[i].dora = ComputeDora(weeks[i], start, start + kWeek, report.changes);
      for (const Change* c : weeks[i]) {
        if (c->outcome == "failed" || c->outcome == "rolled-back") {
          TimePoint when = c->failed ? *c->failed : c->rolled_back.value_or(start);
          dw[i].marks.push_back({c->app, c->version, c->commit, c->outcome, when});
        }
      }
    }
  }
  return out;
}

std::string RenderDeliveryHtml(const AuditReport& report, const std::string& title) {
  std::ostringstream o;
  o << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << Escape(title)
    << "</title>" << kStyle << "</head><body>\n<h1>" << Escape(title) << "</h1>\n";
  if (report.window_start && report.window_end) {
    o << "<p class=\"note\">From " << FormatRfc3339(*report.window_start) << " to "
      << FormatRfc3339(*report.window_end) << ": " << report.changes.size()
      << " change(s); weeks start on Monday, 00:00 UTC. Each week counts the changes that "
         "started in it (their first <code>applying</code>). The figures are those of "
         "<code>sluice audit</code>, week by week.</p>\n";
  }
  const auto envs = WeeklyDelivery(report);
  if (envs.empty()) {
    o << "<p>No releases recorded"
      << (report.filter.env.empty() ? "" : " in " + Escape(report.filter.env))
      << " in this window.</p>\n";
  }
  for (const auto& [env, weeks] : envs) {
    std::vector<TimePoint> starts;
    Series deploys{"verified deploys", "#1f6feb", {}};
    Series lead50{"lead time p50", "#1f6feb", {}}, lead90{"lead time p90", "#8250df", {}};
    Series cfr{"change failure rate", "#cf222e", {}};
    Series ttr{"time to restore (median)", "#bf8700", {}};
    double lead_max = 0, ttr_max = 0;
    for (const DeliveryWeek& w : weeks) {
      if (w.dora.lead_time.p90_seconds)
        lead_max = std::max(lead_max, *w.dora.lead_time.p90_seconds);
      if (w.dora.time_to_restore.median_seconds)
        ttr_max = std::max(ttr_max, *w.dora.time_to_restore.median_seconds);
    }
    const Unit lead_unit = UnitFor(lead_max), ttr_unit = UnitFor(ttr_max);
    std::vector<std::vector<DeliveryMark>> marks;
    size_t marked = 0;
    for (const DeliveryWeek& w : weeks) {
      starts.push_back(w.start);
      deploys.values.push_back(static_cast<double>(w.dora.deploys));
      lead50.values.push_back(Scaled(w.dora.lead_time.median_seconds, lead_unit));
      lead90.values.push_back(Scaled(w.dora.lead_time.p90_seconds, lead_unit));
      cfr.values.push_back(w.dora.change_failure_rate
                               ? std::optional<double>(*w.dora.change_failure_rate * 100)
                               : std::nullopt);
      ttr.values.push_back(Scaled(w.dora.time_to_restore.median_seconds, ttr_unit));
      marks.push_back(w.marks);
      marked += w.marks.size();
    }
    o << "<section id=\"env-" << Escape(env) << "\"><h2>" << Escape(env) << "</h2>\n";
    o << "<p class=\"note\">" << marked
      << " failed or rolled-back release(s), marked <span style=\"color:#cf222e\">&#9660;</span> "
         "above the deploys (hover for which).</p>\n";
    o << Chart("Deploys per week", "", starts, {deploys}, true, &marks);
    o << Chart("Lead time", lead_unit.name, starts, {lead50, lead90}, false, nullptr);
    o << Chart("Change failure rate", "%", starts, {cfr}, true, &marks);
    o << Chart("Time to restore", ttr_unit.name, starts, {ttr}, true, &marks);
    o << "<details><summary>The figures, week by week</summary><table><tr><th>week of</th>"
         "<th>deploys</th><th>lead p50</th><th>lead p90</th><th>change failure rate</th>"
         "<th>time to restore</th><th>failed or rolled back</th></tr>\n";
    for (const DeliveryWeek& w : weeks) {
      o << "<tr><td>" << Day(w.start) << "</td><td>" << w.dora.deploys << "</td><td>"
        << DurationCell(w.dora.lead_time.median_seconds) << "</td><td>"
        << DurationCell(w.dora.lead_time.p90_seconds) << "</td><td>"
        << (w.dora.change_failure_rate ? Fixed(*w.dora.change_failure_rate * 100, 0) + "% (" +
                                             std::to_string(w.dora.failed_changes) + "/" +
                                             std::to_string(w.dora.applied) + ")"
                                       : "—")
        << "</td><td>" << DurationCell(w.dora.time_to_restore.median_seconds) << "</td><td>";
      for (size_t k = 0; k < w.marks.size() && k < 10; ++k) {
        o << (k ? ", " : "") << Escape(w.marks[k].app) << " " << Escape(w.marks[k].version);
      }
      if (w.marks.size() > 10) o << " and " << w.marks.size() - 10 << " more";
      o << "</td></tr>\n";
    }
    o << "</table></details></section>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace sluice::reports
