#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sluice::config {

struct HttpCheck {
  std::string url;
  int expect = 200;
  std::string body_contains;  // `bodyContains:` optional substring
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  int retries = 3;
};

struct PrometheusCheck {
  std::string url;
  std::string query;
  std::optional<double> max;
  std::optional<double> min;
  // `maxRatioToBaseline:` e.g. 1.5 means "no more than 1.5x the value read
  // just before the apply".
  std::optional<double> max_ratio_to_baseline;
};

struct VerificationCheck {
  std::optional<HttpCheck> http;  // exactly one of these is set
  std::optional<PrometheusCheck> prometheus;
};

// `verification:` in environment.yaml or a pin.
struct Verification {
  // `initialDelay:` wait this long after the apply before the first round,
  // so metrics scraped before the release stop answering the checks.
  std::chrono::milliseconds initial_delay{0};
  std::chrono::milliseconds duration{0};
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  std::vector<VerificationCheck> checks;
};

}  // namespace sluice::config
