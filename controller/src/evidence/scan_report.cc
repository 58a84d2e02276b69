#include "evidence/scan_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/text.h"

namespace sluice::evidence {

using nlohmann::json;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// At most 60 bytes of `s` for a message, control bytes escaped.
std::string Quoted(std::string_view s) {
  std::string out = "'";
  const std::string_view head = TruncateUtf8(s, 60);  // never half a character
  for (size_t i = 0; i < head.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(head[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 60) out += "...";
  return out + "'";
}

ScanSummary EmptySummary(std::string format) {
  ScanSummary s;
  s.format = std::move(format);
  for (const char* bucket : kSeverityBuckets) s.counts[bucket] = 0;
  return s;
}

void Count(ScanSummary& s, const std::string& bucket) {
  ++s.counts[bucket];
  ++s.total;
}

// Parses JSON without letting an exception out; a truncated or malformed
// document becomes InvalidArgument with nlohmann's position ("at line 3,
// column 1: ... unexpected end of input").
Result<json> ParseJson(std::string_view text, const char* what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    std::string msg = e.what();
    // Drop the "[json.exception.parse_error.101] " prefix: noise for humans.
    if (!msg.empty() && msg.front() == '[') {
      size_t close = msg.find("] ");
      if (close != std::string::npos) msg = msg.substr(close + 2);
    }
    return Status::InvalidArgument(std::string(what) + " is not valid JSON (" + msg +
                                   "); is the file truncated?");
  }
}

// The member `key` of object `obj` if present and not null.
const json* Member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string TypeOf(const json& v) { return v.type_name(); }

Status WrongType(const char* what, const std::string& where, const char* expected,
                 const json& got) {
  return Status::InvalidArgument(std::string(what) + ": " + where + " must be " + expected +
                                 ", got " + TypeOf(got));
}

// ------------------------------------------------------------------ trivy

std::optional<std::string> TrivyBucket(const std::string& severity) {
  std::string s = Lower(severity);
  if (s == "critical" || s == "high" || s == "medium" || s == "low" || s == "unknown") return s;
  return std::nullopt;
}

Status CountTrivyResults(const json& results, ScanSummary& summary) {
  constexpr const char* kWhat = "Trivy report";
  if (!results.is_array()) return WrongType(kWhat, "Results", "an array", results);
  for (size_t i = 0; i < results.size(); ++i) {
    const json& result = results[i];
    const std::string where = "Results[" + std::to_string(i) + "]";
    if (!result.is_object()) return WrongType(kWhat, where, "an object", result);
    const json* vulns = Member(result, "Vulnerabilities");
    if (vulns == nullptr) continue;
    if (!vulns->is_array()) return WrongType(kWhat, where + ".Vulnerabilities", "an array", *vulns);
    for (size_t j = 0; j < vulns->size(); ++j) {
      const json& v = (*vulns)[j];
      const std::string vwhere = where + ".Vulnerabilities[" + std::to_string(j) + "]";
      if (!v.is_object()) return WrongType(kWhat, vwhere, "an object", v);
      const json* sev = Member(v, "Severity");
      if (sev == nullptr) {
        return Status::InvalidArgument(std::string(kWhat) + ": " + vwhere + " has no Severity");
      }
      if (!sev->is_string()) return WrongType(kWhat, vwhere + ".Severity", "a string", *sev);
      std::optional<std::string> bucket = TrivyBucket(sev->get<std::string>());
      if (!bucket) {
        return Status::InvalidArgument(std::string(kWhat) + ": " + vwhere + ": unknown severity " +
                                       Quoted(sev->get<std::string>()) +
                                       " (expected CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN)");
      }
      Count(summary, *bucket);
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------------ sarif

// CVSS score -> bucket, as GitHub code scanning maps security-severity.
std::string BucketForScore(double score) {
  if (score >= 9.0) return "critical";
  if (score >= 7.0) return "high";
  if (score >= 4.0) return "medium";
  if (score > 0.0) return "low";
  return "unknown";
}

// Reads a `security-severity` property (a string per GitHub's docs; a
// number is tolerated). nullopt when absent.
Result<std::optional<double>> SecuritySeverity(const json& holder, const std::string& where) {
  const json* props = Member(holder, "properties");
  if (props == nullptr) return std::optional<double>();
  const json* sev = Member(*props, "security-severity");
  if (sev == nullptr) return std::optional<double>();
  const std::string field = where + ".properties.security-severity";
  double score = 0;
  if (sev->is_number()) {
    score = sev->get<double>();
  } else if (sev->is_string()) {
    const std::string text = sev->get<std::string>();
    try {
      size_t used = 0;
      score = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      return Status::InvalidArgument("SARIF log: " + field + " " + Quoted(text) +
                                     " is not a CVSS score (a number from 0.0 to 10.0)");
    }
  } else {
    return WrongType("SARIF log", field, "a string holding a number", *sev);
  }
  if (!std::isfinite(score) || score < 0.0 || score > 10.0) {
    return Status::InvalidArgument("SARIF log: " + field + " " + std::to_string(score) +
                                   " is outside the CVSS range 0.0-10.0");
  }
  return std::optional<double>(score);
}

// Rules of a run, by index (driver only: that is what ruleIndex refers to)
// and by id (driver and extensions).
struct RunRules {
  std::vector<const json*> driver;
  std::map<std::string, const json*> by_id;
};

Result<RunRules> CollectRules(const json& run, const std::string& where) {
  RunRules rules;
  const json* tool = Member(run, "tool");
  if (tool == nullptr) return rules;
  auto add_component = [&](const json& component, const std::string& cwhere,
                           bool is_driver) -> Status {
    const json* list = Member(component, "rules");
    if (list == nullptr) return Status::Ok();
    if (!list->is_array()) return WrongType("SARIF log", cwhere + ".rules", "an array", *list);
    for (const json& rule : *list) {
      if (is_driver) rules.driver.push_back(&rule);
      const json* id = Member(rule, "id");
      if (id != nullptr && id->is_string()) rules.by_id.emplace(id->get<std::string>(), &rule);
    }
    return Status::Ok();
  };
  if (const json* driver = Member(*tool, "driver")) {
    SLUICE_RETURN_IF_ERROR(add_component(*driver, where + ".tool.driver", true));
  }
  if (const json* extensions = Member(*tool, "extensions")) {
    if (!extensions->is_array()) {
      return WrongType("SARIF log", where + ".tool.extensions", "an array", *extensions);
    }
    for (size_t i = 0; i < extensions->size(); ++i) {
      SLUICE_RETURN_IF_ERROR(add_component(
          (*extensions)[i], where + ".tool.extensions[" + std::to_string(i) + "]", false));
    }
  }
  return rules;
}

const json* FindRule(const json& result, const RunRules& rules) {
  auto by_index = [&](const json* index) -> const json* {
    if (index == nullptr || !index->is_number_integer()) return nullptr;
    long long i = index->get<long long>();
    if (i < 0 || static_cast<size_t>(i) >= rules.driver.size()) return nullptr;
    return rules.driver[static_cast<size_t>(i)];
  };
  auto by_id = [&](const json* id) -> const json* {
    if (id == nullptr || !id->is_string()) return nullptr;
    auto it = rules.by_id.find(id->get<std::string>());
    return it == rules.by_id.end() ? nullptr : it->second;
  };
  if (const json* r = by_index(Member(result, "ruleIndex"))) return r;
  const json* ref = Member(result, "rule");
  if (ref != nullptr) {
    if (const json* r = by_index(Member(*ref, "index"))) return r;
    if (const json* r = by_id(Member(*ref, "id"))) return r;
  }
  return by_id(Member(result, "ruleId"));
}

Result<std::string> LevelBucket(const std::string& level, const std::string& where) {
  if (level == "error") return std::string("high");
  if (level == "warning") return std::string("medium");
  if (level == "note") return std::string("low");
  if (level == "none") return std::string();
  return Status::InvalidArgument("SARIF log: " + where + ": unknown level " + Quoted(level) +
                                 " (expected error, warning, note or none)");
}

// "" when the result is not a finding.
Result<std::string> SarifResultBucket(const json& result, const json* rule,
                                      const std::string& where) {
  if (const json* kind = Member(result, "kind")) {
    if (!kind->is_string()) return WrongType("SARIF log", where + ".kind", "a string", *kind);
    if (kind->get<std::string>() != "fail") return std::string();
  }
  // A result suppressed with every suppression accepted (status absent or
  // "accepted", SARIF 3.27.23 / 3.35.3) was reviewed away, like Grype's
  // ignoredMatches; one still underReview or rejected keeps it a finding.
  if (const json* suppressions = Member(result, "suppressions")) {
    if (!suppressions->is_array()) {
      return WrongType("SARIF log", where + ".suppressions", "an array", *suppressions);
    }
    bool accepted = !suppressions->empty();
    for (const json& sup : *suppressions) {
      const json* status = Member(sup, "status");
      if (status != nullptr && (!status->is_string() || status->get<std::string>() != "accepted")) {
        accepted = false;
      }
    }
    if (accepted) return std::string();
  }
  std::string level;
  std::string level_where = where + ".level";
  if (const json* l = Member(result, "level")) {
    if (!l->is_string()) return WrongType("SARIF log", level_where, "a string", *l);
    level = l->get<std::string>();
  } else if (rule != nullptr) {
    const json* config = Member(*rule, "defaultConfiguration");
    const json* l = config == nullptr ? nullptr : Member(*config, "level");
    if (l != nullptr) {
      const json* id = Member(*rule, "id");
      level_where =
          "rule " +
          Quoted(id != nullptr && id->is_string() ? id->get<std::string>() : std::string("?")) +
          " defaultConfiguration.level";
      if (!l->is_string()) return WrongType("SARIF log", level_where, "a string", *l);
      level = l->get<std::string>();
    }
  }
  if (level.empty()) level = "warning";  // SARIF 2.1.0 3.27.10: the default level
  Result<std::string> by_level = LevelBucket(level, level_where);
  if (!by_level.ok()) return by_level.status();
  if (by_level->empty()) return std::string();  // level "none": not a problem

  Result<std::optional<double>> score = SecuritySeverity(result, where);
  if (!score.ok()) return score.status();
  if (!score->has_value() && rule != nullptr) {
    score = SecuritySeverity(*rule, "rule");
    if (!score.ok()) return score.status();
  }
  if (score->has_value()) return BucketForScore(**score);
  return *by_level;
}

}  // namespace

Result<ScanSummary> ParseTrivyJson(std::string_view text) {
  Result<json> doc = ParseJson(text, "Trivy report");
  if (!doc.ok()) return doc.status();
  ScanSummary summary = EmptySummary("trivy");
  if (doc->is_array()) {  // Trivy < 0.20: the results themselves
    SLUICE_RETURN_IF_ERROR(CountTrivyResults(*doc, summary));
    return summary;
  }
  if (!doc->is_object()) return WrongType("Trivy report", "the document", "an object", *doc);
  if (const json* results = Member(*doc, "Results")) {
    SLUICE_RETURN_IF_ERROR(CountTrivyResults(*results, summary));
  }
  return summary;
}

Result<ScanSummary> ParseGrypeJson(std::string_view text) {
  constexpr const char* kWhat = "Grype report";
  Result<json> doc = ParseJson(text, kWhat);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return WrongType(kWhat, "the document", "an object", *doc);
  ScanSummary summary = EmptySummary("grype");
  const json* matches = Member(*doc, "matches");
  if (matches == nullptr) return summary;
  if (!matches->is_array()) return WrongType(kWhat, "matches", "an array", *matches);
  for (size_t i = 0; i < matches->size(); ++i) {
    const json& m = (*matches)[i];
    const std::string where = "matches[" + std::to_string(i) + "]";
    if (!m.is_object()) return WrongType(kWhat, where, "an object", m);
    const json* vuln = Member(m, "vulnerability");
    if (vuln == nullptr || !vuln->is_object()) {
      return Status::InvalidArgument(std::string(kWhat) + ": " + where +
                                     " has no vulnerability object");
    }
    const json* sev = Member(*vuln, "severity");
    if (sev == nullptr) {
      return Status::InvalidArgument(std::string(kWhat) + ": " + where +
                                     ".vulnerability has no severity");
    }
    if (!sev->is_string()) {
      return WrongType(kWhat, where + ".vulnerability.severity", "a string", *sev);
    }
    std::string s = Lower(sev->get<std::string>());
    if (s == "negligible") s = "low";
    if (s != "critical" && s != "high" && s != "medium" && s != "low" && s != "unknown") {
      return Status::InvalidArgument(std::string(kWhat) + ": " + where +
                                     ".vulnerability: unknown severity " +
                                     Quoted(sev->get<std::string>()) +
                                     " (expected Critical, High, Medium, Low, Negligible or "
                                     "Unknown)");
    }
    Count(summary, s);
  }
  return summary;
}

Result<ScanSummary> ParseSarif(std::string_view text) {
  constexpr const char* kWhat = "SARIF log";
  Result<json> doc = ParseJson(text, kWhat);
  if (!doc.ok()) return doc.status();
  if (!doc->is_object()) return WrongType(kWhat, "the document", "an object", *doc);
  if (const json* version = Member(*doc, "version")) {
    if (!version->is_string() || version->get<std::string>() != "2.1.0") {
      return Status::InvalidArgument(
          std::string(kWhat) + ": version " +
          Quoted(version->is_string() ? version->get<std::string>() : version->dump()) +
          " is not supported (expected 2.1.0)");
    }
  }
  const json* runs = Member(*doc, "runs");
  if (runs == nullptr) {
    return Status::InvalidArgument(std::string(kWhat) + " has no runs array");
  }
  if (!runs->is_array()) return WrongType(kWhat, "runs", "an array", *runs);
  ScanSummary summary = EmptySummary("sarif");
  for (size_t r = 0; r < runs->size(); ++r) {
    const json& run = (*runs)[r];
    const std::string rwhere = "runs[" + std::to_string(r) + "]";
    if (!run.is_object()) return WrongType(kWhat, rwhere, "an object", run);
    Result<RunRules> rules = CollectRules(run, rwhere);
    if (!rules.ok()) return rules.status();
    const json* results = Member(run, "results");
    if (results == nullptr) continue;
    if (!results->is_array()) return WrongType(kWhat, rwhere + ".results", "an array", *results);
    for (size_t i = 0; i < results->size(); ++i) {
      const json& result = (*results)[i];
      const std::string where = rwhere + ".results[" + std::to_string(i) + "]";
      if (!result.is_object()) return WrongType(kWhat, where, "an object", result);
      Result<std::string> bucket = SarifResultBucket(result, FindRule(result, *rules), where);
      if (!bucket.ok()) return bucket.status();
      if (!bucket->empty()) Count(summary, *bucket);
    }
  }
  return summary;
}

std::string ScanFormatForFileName(std::string_view filename) {
  size_t slash = filename.find_last_of('/');
  std::string name = Lower(slash == std::string_view::npos ? filename : filename.substr(slash + 1));
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".sarif") || ends_with(".sarif.json")) return "sarif";
  if (ends_with(".json")) {
    if (name.rfind("trivy", 0) == 0) return "trivy";
    if (name.rfind("grype", 0) == 0) return "grype";
  }
  return "";
}

Result<ScanSummary> DetectAndParseScanReport(std::string_view filename, std::string_view text) {
  const std::string file(filename);
  std::string format = ScanFormatForFileName(filename);
  if (format.empty()) {
    Result<json> doc = ParseJson(text, "scan report");
    if (!doc.ok()) return doc.status().WithContext(file);
    if (doc->is_array()) {
      format = "trivy";
    } else if (doc->is_object() && doc->contains("runs")) {
      format = "sarif";
    } else if (doc->is_object() && doc->contains("matches")) {
      format = "grype";
    } else if (doc->is_object() && (doc->contains("Results") || doc->contains("SchemaVersion"))) {
      format = "trivy";
    } else {
      return Status::InvalidArgument(file +
                                     ": not a scan report Sluice knows (expected Trivy JSON, "
                                     "Grype JSON or SARIF 2.1.0)");
    }
  }
  Result<ScanSummary> summary = format == "trivy"   ? ParseTrivyJson(text)
                                : format == "grype" ? ParseGrypeJson(text)
                                                    : ParseSarif(text);
  if (!summary.ok()) return summary.status().WithContext(file);
  return summary;
}

}  // namespace sluice::evidence
