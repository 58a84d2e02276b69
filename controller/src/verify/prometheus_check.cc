#include "verify/prometheus_check.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"
#include "core/text.h"

namespace sluice::verify {
namespace {

using nlohmann::json;

constexpr int kQueryAttempts = 3;
constexpr std::chrono::milliseconds kQueryTimeout{std::chrono::seconds(10)};

// Parses a Prometheus sample value: a decimal or exponent number, "NaN",
// "+Inf", "-Inf" (from_chars: locale-independent; it takes no leading '+').
std::optional<double> ParseSampleValue(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Reads `[<unix_time>, "<value>"]`.
Result<double> ParsePair(const json& pair, const std::string& where) {
  if (!pair.is_array() || pair.size() != 2) {
    return Status::InvalidArgument(where + " must be [<unix_time>, \"<value>\"], got " +
                                   DumpJson(pair));
  }
  const json& v = pair[1];
  if (v.is_number()) return v.get<double>();  // tolerated: the API documents a string
  if (!v.is_string()) {
    return Status::InvalidArgument(where + " value must be a string, got " + DumpJson(v));
  }
  std::string s = v.get<std::string>();
  std::optional<double> d = ParseSampleValue(s);
  if (!d) return Status::InvalidArgument(where + " value \"" + s + "\" is not a number");
  return *d;
}

std::string Labels(const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return "{}";
  std::string out = "{";
  for (const auto& [k, v] : labels) {
    if (out.size() > 1) out += ", ";
    out += k + "=\"" + v + "\"";
  }
  return out + "}";
}

std::string Series(size_t n) { return std::to_string(n) + " series"; }

std::string ApiUrl(std::string base, const std::string& query) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/query?query=" + net::UrlEncode(query);
}

}  // namespace

Result<PromInstantResult> ParsePrometheusInstantQuery(std::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    std::string head(TruncateUtf8(text, 80));
    return Status::InvalidArgument("the Prometheus response is not JSON: \"" + head +
                                   (text.size() > 80 ? "...\"" : "\""));
  }
  if (!doc.is_object() || !doc.contains("status") || !doc["status"].is_string()) {
    return Status::InvalidArgument("the Prometheus response has no \"status\"");
  }
  const std::string status = doc["status"].get<std::string>();
  if (status == "error") {
    std::string type = doc.value("errorType", std::string("unknown"));
    std::string error = doc.value("error", std::string("(no message)"));
    return Status::FailedPrecondition("Prometheus rejected the query: " + type + ": " + error);
  }
  if (status != "success") {
    return Status::InvalidArgument("the Prometheus response has status \"" + status +
                                   "\"; expected \"success\" or \"error\"");
  }
  if (!doc.contains("data") || !doc["data"].is_object()) {
    return Status::InvalidArgument("the Prometheus response has no \"data\" object");
  }
  const json& data = doc["data"];
  if (!data.contains("resultType") || !data["resultType"].is_string() || !data.contains("result")) {
    return Status::InvalidArgument("the Prometheus response has no data.resultType/data.result");
  }
  PromInstantResult out;
  out.result_type = data["resultType"].get<std::string>();
  if (doc.contains("warnings") && doc["warnings"].is_array()) {
    for (const auto& w : doc["warnings"]) {
      if (w.is_string()) out.warnings.push_back(w.get<std::string>());
    }
  }
  const json& result = data["result"];
  if (out.result_type == "scalar") {
    Result<double> v = ParsePair(result, "data.result");
    if (!v.ok()) return v.status();
    out.samples.push_back({{}, *v});
    return out;
  }
  if (out.result_type == "vector") {
    if (!result.is_array()) return Status::InvalidArgument("data.result must be a list");
    for (size_t i = 0; i < result.size(); ++i) {
      const json& item = result[i];
      std::string where = "data.result[" + std::to_string(i) + "]";
      if (!item.is_object() || !item.contains("value")) {
        return Status::InvalidArgument(where + " has no \"value\"");
      }
      PromSample s;
      if (item.contains("metric") && item["metric"].is_object()) {
        for (const auto& [k, v] : item["metric"].items()) {
          if (v.is_string()) s.labels[k] = v.get<std::string>();
        }
      }
      Result<double> v = ParsePair(item["value"], where + ".value");
      if (!v.ok()) return v.status();
      s.value = *v;
      out.samples.push_back(std::move(s));
    }
    return out;
  }
  if (out.result_type == "matrix") {
    return Status::InvalidArgument(
        "the query returned a range vector (matrix); a check needs an instant vector or a "
        "scalar: wrap the range selector in a function such as rate(...[5m])");
  }
  return Status::InvalidArgument("the query returned a result of type \"" + out.result_type +
                                 "\"; a check needs an instant vector or a scalar");
}

std::string PrometheusCheckName(const config::PrometheusCheck& check) {
  return "prometheus " + check.query;
}

Result<PromInstantResult> QueryPrometheus(net::HttpClient& http, const std::string& base_url,
                                          const std::string& query, const Waiter& wait) {
  net::HttpRequest req;
  req.url = ApiUrl(base_url, query);
  req.timeout = kQueryTimeout;
  req.headers = {{"Accept", "application/json"}};
  const std::string where = "query " + net::RedactUrl(base_url);
  Status last;
  for (int attempt = 1; attempt <= kQueryAttempts; ++attempt) {
    if (attempt > 1 && wait(BackoffDelay(attempt - 1))) {
      return Status::Cancelled(where + ": interrupted; last: " + last.message());
    }
    Result<net::HttpResponse> res = http.Send(req);
    if (!res.ok()) {
      last = res.status();
      continue;  // transport error or timeout: Prometheus may be restarting
    }
    // The API answers errors (400, 422, 503) with the JSON envelope too:
    // prefer its message over the bare status code.
    Result<PromInstantResult> parsed = ParsePrometheusInstantQuery(res->body);
    if (res->status >= 200 && res->status < 300) {
      if (!parsed.ok()) return parsed.status().WithContext(where);
      return parsed;
    }
    std::string msg = where + ": HTTP " + std::to_string(res->status);
    if (!parsed.ok() && parsed.status().code() == Status::Code::kFailedPrecondition) {
      msg += ": " + parsed.status().message();
    }
    if (res->status >= 500) {
      last = Status::IOError(msg);
      continue;
    }
    return Status::FailedPrecondition(msg);
  }
  return last.WithContext("after " + std::to_string(kQueryAttempts) + " attempts");
}

BaselineReading ReadPrometheusBaseline(net::HttpClient& http, const config::PrometheusCheck& check,
                                       const Waiter& wait) {
  BaselineReading out;
  Result<PromInstantResult> r = QueryPrometheus(http, check.url, check.query, wait);
  if (!r.ok()) {
    out.error = r.status().ToString();
  } else if (r->samples.empty()) {
    out.error = "query returned no series";
  } else if (r->samples.size() > 1) {
    out.error = "query returned " + Series(r->samples.size()) +
                "; maxRatioToBaseline needs exactly one (aggregate it, e.g. sum(...))";
  } else {
    out.value = r->samples.front().value;
  }
  return out;
}

CheckResult EvaluatePrometheusCheck(const config::PrometheusCheck& check,
                                    const PromInstantResult& result,
                                    const BaselineReading* baseline) {
  CheckResult out;
  out.name = PrometheusCheckName(check);
  const auto& samples = result.samples;
  if (samples.empty()) {
    out.detail = "query returned no series (a typo in the query, or the metric does not exist yet)";
    return out;
  }
  const bool one = samples.size() == 1;
  // The record keeps the value of a one-series result; with several series
  // the offending one is named (with its labels) in the detail.
  auto label = [&](const PromSample& s) { return one ? std::string() : " " + Labels(s.labels); };
  if (one) out.value = samples.front().value;

  for (const PromSample& s : samples) {
    if (std::isnan(s.value)) {
      out.value = s.value;
      out.detail = "value is NaN" + label(s) +
                   " (e.g. 0/0 when there is no traffic; use `or vector(0)` if that is healthy)";
      return out;
    }
    if (check.max && !(s.value <= *check.max)) {
      out.value = s.value;
      out.detail = FormatValue(s.value) + label(s) + " > max " + FormatValue(*check.max);
      return out;
    }
    if (check.min && !(s.value >= *check.min)) {
      out.value = s.value;
      out.detail = FormatValue(s.value) + label(s) + " < min " + FormatValue(*check.min);
      return out;
    }
  }

  // Passed max/min: describe the measurement and the bounds it met.
  std::vector<std::string> bounds;
  if (check.max) bounds.push_back("max " + FormatValue(*check.max));
  if (check.min) bounds.push_back("min " + FormatValue(*check.min));
  std::string measured;
  if (one) {
    measured = FormatValue(samples.front().value);
  } else {
    double lo = samples.front().value, hi = lo;
    for (const PromSample& s : samples) {
      lo = std::min(lo, s.value);
      hi = std::max(hi, s.value);
    }
    measured =
        Series(samples.size()) + ", lowest " + FormatValue(lo) + ", highest " + FormatValue(hi);
  }

  if (check.max_ratio_to_baseline) {
    const double ratio = *check.max_ratio_to_baseline;
    if (!one) {
      out.detail = "query returned " + Series(samples.size()) +
                   "; maxRatioToBaseline needs exactly one (aggregate it, e.g. sum(...))";
      return out;
    }
    const double v = samples.front().value;
    if (baseline == nullptr || !baseline->value) {
      out.detail = FormatValue(v) + ", but no baseline was read before the apply" +
                   (baseline != nullptr && !baseline->error.empty() ? ": " + baseline->error
                                                                    : std::string());
      return out;
    }
    const double base = *baseline->value;
    if (std::isnan(base) || base < 0) {
      out.detail = FormatValue(v) + ", but the baseline " + FormatValue(base) +
                   " is not a number >= 0, so maxRatioToBaseline cannot be judged";
      return out;
    }
    const double bound = ratio * base;
    const std::string rel =
        FormatValue(ratio) + " x baseline " + FormatValue(base) + " = " + FormatValue(bound);
    if (!(v <= bound)) {
      out.detail = FormatValue(v) + " > " + rel;
      if (base == 0) out.detail += " (a zero baseline admits only values <= 0)";
      return out;
    }
    bounds.push_back(rel);
  }

  out.ok = true;
  out.detail = measured;
  if (!bounds.empty()) {
    out.detail += " (within ";
    for (size_t i = 0; i < bounds.size(); ++i) out.detail += (i ? ", " : "") + bounds[i];
    out.detail += ")";
  }
  return out;
}

CheckResult RunPrometheusCheck(net::HttpClient& http, const config::PrometheusCheck& check,
                               const BaselineReading* baseline, const Waiter& wait) {
  Result<PromInstantResult> r = QueryPrometheus(http, check.url, check.query, wait);
  if (!r.ok()) {
    CheckResult out;
    out.name = PrometheusCheckName(check);
    out.cancelled = r.status().IsCancelled();
    out.detail = r.status().ToString();
    return out;
  }
  return EvaluatePrometheusCheck(check, *r, baseline);
}

}  // namespace sluice::verify
