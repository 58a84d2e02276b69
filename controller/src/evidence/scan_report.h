#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::evidence {

// The severity buckets every scan report is reduced to (the keys of
// gates::ScanEvidence::counts).
inline constexpr const char* kSeverityBuckets[] = {"critical", "high", "medium", "low", "unknown"};

// What a vulnerability scan report says, reduced to counts per severity.
struct ScanSummary {
  std::string format;                 // "trivy" | "grype" | "sarif"
  std::map<std::string, int> counts;  // every bucket of kSeverityBuckets, zero if none
  int total = 0;                      // findings counted (sum of counts)
};

// Trivy's JSON report (`trivy image -f json`): the findings are
// `Results[].Vulnerabilities[]`, each with `Severity` one of CRITICAL, HIGH,
// MEDIUM, LOW, UNKNOWN (case-insensitive here). `Results` or
// `Vulnerabilities` may be absent or null (nothing found). The legacy shape
// of Trivy < 0.20 (a top-level array of results) is accepted too.
// Misconfigurations and secrets are not vulnerabilities and are not counted.
// Errors (InvalidArgument): text that is not JSON (truncated, ...) with the
// parser's position, a wrong shape, or an unknown severity (named).
Result<ScanSummary> ParseTrivyJson(std::string_view text);

// Grype's JSON report (`grype -o json`): the findings are
// `matches[].vulnerability.severity`, one of Critical, High, Medium, Low,
// Negligible, Unknown (case-insensitive). Negligible is counted as low.
// `matches` may be absent or empty. Ignored matches (`ignoredMatches`) are
// not counted. Errors as ParseTrivyJson.
Result<ScanSummary> ParseGrypeJson(std::string_view text);

// A SARIF 2.1.0 log: the findings are `runs[].results[]`. Results whose
// `kind` is not "fail" (pass, notApplicable, informational, review, open),
// results with level "none" and results suppressed with every suppression
// accepted (status absent or "accepted") are not findings. A finding's
// severity is, in order of preference:
//   1. the CVSS score in `properties["security-severity"]` of the result, or
//      else of its rule (found by `ruleIndex`, `rule.index`, `ruleId` or
//      `rule.id` in `tool.driver.rules` or `tool.extensions[].rules`), as
//      GitHub code scanning reads it: >= 9.0 critical, >= 7.0 high,
//      >= 4.0 medium, > 0.0 low, 0.0 (CVSS "None") unknown;
//   2. else the result's `level`, or its rule's
//      `defaultConfiguration.level`, or "warning" (the SARIF default):
//      error -> high, warning -> medium, note -> low.
// Errors as ParseTrivyJson; a security-severity that is not a number in
// [0, 10] and an unknown level are named.
Result<ScanSummary> ParseSarif(std::string_view text);

// The format a report file is in, from its name: "trivy*.json" -> trivy,
// "grype*.json" -> grype, "*.sarif" or "*.sarif.json" -> sarif (names
// compared case-insensitively, directories ignored); "" for anything else
// (build.yaml, notes).
std::string ScanFormatForFileName(std::string_view filename);

// Parses `text` in the format its file name says (ScanFormatForFileName);
// when the name says nothing, the format is recognised from the content
// (`runs` -> sarif, `matches` -> grype, `Results`/`SchemaVersion` or a
// top-level array -> trivy). InvalidArgument naming the file when the
// format cannot be told or the report does not parse.
Result<ScanSummary> DetectAndParseScanReport(std::string_view filename, std::string_view text);

}  // namespace sluice::evidence
