#include "record/event.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/json_dump.h"
#include "core/time_format.h"

namespace sluice::record {
namespace {

constexpr std::string_view kKindNames[] = {"waiting",     "blocked",  "applying",
                                           "applied",     "verified", "failed",
                                           "rolled-back", "drift",    "step"};

}  // namespace

std::string_view EventKindName(EventKind kind) { return kKindNames[static_cast<int>(kind)]; }

std::optional<EventKind> ParseEventKind(std::string_view name) {
  for (size_t i = 0; i < std::size(kKindNames); ++i) {
    if (kKindNames[i] == name) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

std::string EventToJsonLine(const Event& e) {
  // ordered_json keeps insertion order: the key order below is the format.
  nlohmann::ordered_json j;
  j["v"] = e.schema;
  j["time"] = FormatRfc3339Millis(e.time);
  j["env"] = e.env;
  j["app"] = e.app;
  j["event"] = EventKindName(e.kind);
  j["digest"] = e.digest;
  if (!e.version.empty()) j["version"] = e.version;
  j["commit"] = e.commit;
  if (!e.landing.empty()) j["landing"] = e.landing;
  if (!e.reason.empty()) j["reason"] = e.reason;
  nlohmann::ordered_json gates = nlohmann::ordered_json::array();
  for (const auto& g : e.gates) {
    nlohmann::ordered_json gate = {{"name", g.name}, {"result", g.result}, {"reason", g.reason}};
    if (g.until) gate["until"] = FormatRfc3339(*g.until);
    gates.push_back(std::move(gate));
  }
  j["gates"] = std::move(gates);
  j["approvers"] = e.approvers;
  if (e.adapter) {
    j["adapter"] = {{"name", e.adapter->name},
                    {"exitCode", e.adapter->exit_code},
                    {"durationMs", e.adapter->duration_ms}};
  }
  if (!e.output.empty()) j["output"] = e.output;
  if (e.interrupted) j["interrupted"] = true;
  if (!e.rollback_target.empty()) j["rollbackTo"] = e.rollback_target;
  if (!e.previous.empty()) j["previous"] = e.previous;
  if (e.resolved) j["resolved"] = true;
  if (e.step > 0) {
    j["step"] = e.step;
    j["steps"] = e.steps;
    if (e.weight) j["weight"] = *e.weight;
    if (!e.slot.empty()) j["slot"] = e.slot;
    if (!e.action.empty()) j["action"] = e.action;
    if (!e.phase.empty()) j["phase"] = e.phase;
    if (e.until) j["until"] = FormatRfc3339Millis(*e.until);
  }
  j["controller"] = {{"id", e.controller_id}, {"version", e.controller_version}};
  // Replace invalid UTF-8 from a child's output instead of throwing.
  return DumpJson(j);
}

namespace {
// The integer at `key`, or `fallback` when it is absent, not an integer, or
// out of T's range. nlohmann's own conversion of 1e40 (a number the parser
// keeps as a double) to int is undefined behaviour; a record line is input
// from whoever can push.
template <typename T>
T IntAt(const nlohmann::json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end()) return fallback;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    return v <= static_cast<std::uint64_t>(std::numeric_limits<T>::max()) ? static_cast<T>(v)
                                                                          : fallback;
  }
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max()
               ? static_cast<T>(v)
               : fallback;
  }
  return fallback;
}
}  // namespace

Result<Event> ParseEventLine(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("event") || !j.contains("env") || !j.contains("app")) {
    return Status::InvalidArgument("not a sluice event line");
  }
  try {
    Event e;
    e.schema = IntAt(j, "v", 1);
    auto kind = ParseEventKind(j.at("event").get<std::string>());
    if (!kind) return Status::InvalidArgument("unknown event kind");
    e.kind = *kind;
    e.env = j.at("env").get<std::string>();
    e.app = j.at("app").get<std::string>();
    if (auto t = ParseRfc3339(j.value("time", "")); t.ok()) e.time = *t;
    e.digest = j.value("digest", "");
    e.version = j.value("version", "");
    e.commit = j.value("commit", "");
    e.landing = j.value("landing", "");
    e.reason = j.value("reason", "");
    e.output = j.value("output", "");
    e.interrupted = j.value("interrupted", false);
    e.rollback_target = j.value("rollbackTo", "");
    e.previous = j.value("previous", "");
    e.resolved = j.value("resolved", false);
    e.step = IntAt(j, "step", 0);
    e.steps = IntAt(j, "steps", 0);
    if (int weight = IntAt(j, "weight", -1); weight >= 0) e.weight = weight;
    e.slot = j.value("slot", "");
    e.action = j.value("action", "");
    e.phase = j.value("phase", "");
    if (j.contains("until") && j["until"].is_string()) {
      if (auto t = ParseRfc3339(j["until"].get<std::string>()); t.ok()) e.until = *t;
    }
    if (j.contains("gates") && j["gates"].is_array()) {
      for (const auto& g : j["gates"]) {
        if (!g.is_object()) continue;
        GateRecord gate{g.value("name", ""), g.value("result", ""), g.value("reason", ""), {}};
        if (auto until = ParseRfc3339(g.value("until", "")); until.ok()) gate.until = *until;
        e.gates.push_back(std::move(gate));
      }
    }
    if (j.contains("approvers") && j["approvers"].is_array()) {
      for (const auto& a : j["approvers"]) {
        if (a.is_string()) e.approvers.push_back(a.get<std::string>());
      }
    }
    if (j.contains("adapter") && j["adapter"].is_object()) {
      const auto& a = j["adapter"];
      e.adapter = AdapterRecord{a.value("name", ""), IntAt(a, "exitCode", -1),
                                IntAt(a, "durationMs", std::int64_t{0})};
    }
    if (j.contains("controller") && j["controller"].is_object()) {
      e.controller_id = j["controller"].value("id", "");
      e.controller_version = j["controller"].value("version", "");
    }
    return e;
  } catch (const nlohmann::json::exception& ex) {
    return Status::InvalidArgument(std::string("malformed sluice event: ") + ex.what());
  }
}

std::vector<Event> ParseNote(std::string_view note_text) {
  std::vector<Event> out;
  size_t pos = 0;
  while (pos <= note_text.size()) {
    size_t nl = note_text.find('\n', pos);
    if (nl == std::string_view::npos) nl = note_text.size();
    std::string_view line = note_text.substr(pos, nl - pos);
    if (!line.empty()) {
      if (auto e = ParseEventLine(line); e.ok()) out.push_back(std::move(*e));
    }
    pos = nl + 1;
  }
  return out;
}

const Event* LastEventFor(const std::vector<Event>& events, const std::string& env,
                          const std::string& app) {
  const Event* last = nullptr;
  for (const Event& e : events) {
    if (e.env == env && e.app == app && (last == nullptr || e.time >= last->time)) last = &e;
  }
  return last;
}

}  // namespace sluice::record
