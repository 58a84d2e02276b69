#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/verification.h"
#include "core/result.h"
#include "net/http_client.h"
#include "verify/check.h"

namespace sluice::verify {

// One sample of an instant query: the series labels (empty for a scalar)
// and its value (may be NaN or +/-Inf).
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// The data of a successful instant query.
struct PromInstantResult {
  std::string result_type;          // "vector" or "scalar"
  std::vector<PromSample> samples;  // a scalar gives exactly one sample
  std::vector<std::string> warnings;
};

// Parses the body of `GET /api/v1/query` as documented in the Prometheus
// HTTP API ("Format overview", "Instant queries", "Expression query result
// formats": https://prometheus.io/docs/prometheus/latest/querying/api/):
//   {"status":"success","data":{"resultType":"vector",
//     "result":[{"metric":{...},"value":[<unix_time>,"<sample_value>"]}]}}
//   {"status":"success","data":{"resultType":"scalar","result":[<t>,"<v>"]}}
//   {"status":"error","errorType":"bad_data","error":"..."}
// Sample values are JSON strings ("0.5", "NaN", "+Inf", "-Inf"). Pure.
//
// Errors: FailedPrecondition for `"status":"error"` (message carries
// errorType and error); InvalidArgument for malformed JSON, a missing or
// unexpected field, a value that is not a number, and for result types an
// instant check cannot judge (matrix, string). An empty vector is a valid
// result with no samples.
Result<PromInstantResult> ParsePrometheusInstantQuery(std::string_view text);

// "prometheus <query>": the name of a Prometheus check.
std::string PrometheusCheckName(const config::PrometheusCheck& check);

// Runs the instant query `query` against the Prometheus at `base_url`
// (`GET <base_url>/api/v1/query?query=<urlencoded>`). Transport errors and
// HTTP 5xx are retried twice, waiting BackoffDelay(n) through `wait`; a
// rejected query (HTTP 4xx, `"status":"error"`) fails at once. Returns
// Cancelled when `wait` reports cancellation. Thread-safe if `http` is.
Result<PromInstantResult> QueryPrometheus(net::HttpClient& http, const std::string& base_url,
                                          const std::string& query, const Waiter& wait);

// A value read before the apply, for `maxRatioToBaseline`.
struct BaselineReading {
  std::optional<double> value;  // set when the read succeeded
  std::string error;            // why there is no value
};

// Reads the baseline of `check`: the query must return exactly one sample
// (a scalar or a one-series vector); otherwise `error` says why.
BaselineReading ReadPrometheusBaseline(net::HttpClient& http, const config::PrometheusCheck& check,
                                       const Waiter& wait);

// Judges `result` against the thresholds of `check` (pure):
// - no samples: fails with "query returned no series";
// - every sample must be a number (NaN fails) with value <= max and
//   value >= min when those are set;
// - maxRatioToBaseline needs exactly one sample and a `baseline` with a
//   value >= 0; it passes when value <= ratio * baseline, so a zero
//   baseline admits only a value <= 0. No baseline fails (fail closed).
// The detail names the measured value(s) and the bound they met or broke.
CheckResult EvaluatePrometheusCheck(const config::PrometheusCheck& check,
                                    const PromInstantResult& result,
                                    const BaselineReading* baseline);

// QueryPrometheus + EvaluatePrometheusCheck: one round of a Prometheus
// check. Query errors become a failed CheckResult naming the error.
CheckResult RunPrometheusCheck(net::HttpClient& http, const config::PrometheusCheck& check,
                               const BaselineReading* baseline, const Waiter& wait);

}  // namespace sluice::verify
