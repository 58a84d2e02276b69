#include "config/verification.h"

#include "config/parse_internal.h"
#include "config/yaml_reader.h"

namespace sluice::config::internal {
namespace {

// Reads a URL key and checks its scheme.
std::optional<std::string> Url(MapReader& m, std::string_view key) {
  std::optional<std::string> url = m.String(key, Req::kRequired);
  if (url && !IsHttpUrl(*url)) {
    m.diags().Add(m.Get(key),
                  m.Where(key) + " must be an http:// or https:// URL, got '" + Quote(*url) + "'");
    return std::nullopt;
  }
  return url;
}

std::optional<HttpCheck> ParseHttp(FileDiags& d, const YAML::Node& node, const std::string& where,
                                   int owner_line) {
  MapReader m(d, node, where, owner_line, {"url", "expect", "bodyContains", "timeout", "retries"});
  if (!m.valid()) return std::nullopt;
  bool ok = true;
  HttpCheck c;
  if (auto v = Url(m, "url"))
    c.url = *v;
  else
    ok = false;
  if (m.Present("expect")) {
    if (auto v = m.Int("expect", 100, 599))
      c.expect = *v;
    else
      ok = false;
  }
  if (!m.Read("bodyContains", c.body_contains)) ok = false;
  if (m.Present("timeout")) {
    auto v = m.Duration("timeout");
    if (v && v->count() == 0) {
      d.Add(m.Get("timeout"), m.Where("timeout") + " must be longer than 0");
      v.reset();
    }
    if (v)
      c.timeout = *v;
    else
      ok = false;
  }
  if (m.Present("retries")) {
    if (auto v = m.Int("retries", 0, 100))
      c.retries = *v;
    else
      ok = false;
  }
  if (!ok) return std::nullopt;
  return c;
}

std::optional<PrometheusCheck> ParsePrometheus(FileDiags& d, const YAML::Node& node,
                                               const std::string& where, int owner_line) {
  MapReader m(d, node, where, owner_line, {"url", "query", "max", "min", "maxRatioToBaseline"});
  if (!m.valid()) return std::nullopt;
  bool ok = true;
  PrometheusCheck c;
  if (auto v = Url(m, "url"))
    c.url = *v;
  else
    ok = false;
  if (auto v = m.String("query", Req::kRequired))
    c.query = *v;
  else
    ok = false;
  if (m.Present("max")) {
    if (auto v = m.Number("max"))
      c.max = *v;
    else
      ok = false;
  }
  if (m.Present("min")) {
    if (auto v = m.Number("min"))
      c.min = *v;
    else
      ok = false;
  }
  if (m.Present("maxRatioToBaseline")) {
    auto v = m.Number("maxRatioToBaseline");
    if (v && *v <= 0) {
      d.Add(m.Get("maxRatioToBaseline"),
            m.Where("maxRatioToBaseline") + " must be greater than 0 (e.g. 1.5)");
      v.reset();
    }
    if (v)
      c.max_ratio_to_baseline = *v;
    else
      ok = false;
  }
  if (ok && !c.max && !c.min && !c.max_ratio_to_baseline) {
    d.Add(owner_line,
          where + " needs a threshold: set at least one of max, min, maxRatioToBaseline");
    ok = false;
  }
  if (ok && c.max && c.min && *c.min > *c.max) {
    d.Add(m.Get("min"), where +
                            ": min is greater than max, so the check can never pass; "
                            "swap them");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return c;
}

}  // namespace

std::optional<Verification> ParseVerification(FileDiags& d, const YAML::Node& node,
                                              const std::string& where, int owner_line) {
  MapReader m(d, node, where, owner_line, {"initialDelay", "duration", "interval", "checks"});
  if (!m.valid()) return std::nullopt;
  bool ok = true;
  Verification v;
  if (!m.Read("initialDelay", v.initial_delay)) ok = false;
  if (!m.Read("duration", v.duration)) ok = false;
  if (m.Present("interval")) {
    auto x = m.Duration("interval");
    if (x && x->count() == 0) {
      d.Add(m.Get("interval"), m.Where("interval") + " must be longer than 0 (e.g. 30s)");
      x.reset();
    }
    if (x)
      v.interval = *x;
    else
      ok = false;
  }
  YAML::Node checks = m.Get("checks");
  std::string cw = m.Where("checks");
  if (checks.IsDefined() && !checks.IsNull()) {
    if (!checks.IsSequence()) {
      d.Add(checks, cw + " must be a list of checks ({http: ...} or {prometheus: ...}), got " +
                        Describe(checks));
      ok = false;
    } else {
      size_t i = 0;
      for (const auto& item : checks) {
        std::string iw = Item(cw, i++);
        int line = LineOf(item) > 0 ? LineOf(item) : LineOf(checks);
        MapReader cm(d, item, iw, line, {"http", "prometheus"});
        if (!cm.valid()) {
          ok = false;
          continue;
        }
        bool has_http = cm.Present("http");
        bool has_prom = cm.Present("prometheus");
        if (has_http == has_prom) {
          d.Add(line, iw + (has_http ? " has both http and prometheus" : " names no check") +
                          "; each check must have exactly one of: http, prometheus");
          ok = false;
          continue;
        }
        VerificationCheck vc;
        if (has_http) {
          vc.http = ParseHttp(d, cm.Get("http"), cm.Where("http"), cm.KeyLine("http"));
          if (!vc.http) ok = false;
        } else {
          vc.prometheus = ParsePrometheus(d, cm.Get("prometheus"), cm.Where("prometheus"),
                                          cm.KeyLine("prometheus"));
          if (!vc.prometheus) ok = false;
        }
        if (vc.http || vc.prometheus) v.checks.push_back(std::move(vc));
      }
    }
  }
  if (!ok) return std::nullopt;
  return v;
}

}  // namespace sluice::config::internal
