#include "record/pass_stamp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "core/json_dump.h"
#include "core/time_format.h"
#include "core/version.h"

namespace sluice::record {

std::string PassStampMessage(const PassStamp& s) {
  nlohmann::ordered_json j;
  j["v"] = 1;
  j["time"] = FormatRfc3339Millis(s.time);
  j["head"] = s.head;
  j["branch"] = s.branch;
  j["intervalSeconds"] = s.interval.count();
  j["controller"] = {{"id", s.controller_id}, {"version", s.controller_version}};
  return "sluice pass " + FormatRfc3339(s.time) + " by " + s.controller_id + "\n\n" + DumpJson(j) +
         "\n";
}

Result<PassStamp> ParsePassStampMessage(std::string_view message) {
  size_t pos = 0;
  while (pos < message.size()) {
    size_t nl = message.find('\n', pos);
    if (nl == std::string_view::npos) nl = message.size();
    std::string_view line = message.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line.front() != '{') continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("time") || !j["time"].is_string()) continue;
    auto t = ParseRfc3339(j["time"].get<std::string>());
    if (!t.ok()) continue;
    PassStamp s;
    s.time = *t;
    if (j.contains("head") && j["head"].is_string()) s.head = j["head"].get<std::string>();
    if (j.contains("branch") && j["branch"].is_string()) s.branch = j["branch"].get<std::string>();
    if (j.contains("intervalSeconds") && j["intervalSeconds"].is_number_integer()) {
      s.interval = std::chrono::seconds(j["intervalSeconds"].get<long long>());
    }
    if (j.contains("controller") && j["controller"].is_object()) {
      const auto& c = j["controller"];
      if (c.contains("id") && c["id"].is_string()) s.controller_id = c["id"].get<std::string>();
      if (c.contains("version") && c["version"].is_string()) {
        s.controller_version = c["version"].get<std::string>();
      }
    }
    return s;
  }
  return Status::InvalidArgument("not a sluice pass stamp");
}

namespace {

std::optional<PassStamp> StampAt(const git::Repository& repo, const std::string& ref) {
  auto id = repo.ResolveRef(ref);
  if (!id.ok()) return std::nullopt;
  auto info = repo.GetCommit(*id);
  if (!info.ok()) return std::nullopt;
  auto s = ParsePassStampMessage(info->message);
  if (!s.ok()) return std::nullopt;
  return *s;
}

}  // namespace

std::optional<PassStamp> ReadPassStamp(const git::Repository& repo) {
  std::optional<PassStamp> local = StampAt(repo, kPassRef);
  std::optional<PassStamp> remote = StampAt(repo, kRemotePassRef);
  if (!local) return remote;
  if (!remote) return local;
  return remote->time > local->time ? remote : local;
}

Result<bool> RecordPass(Workspace& ws, const PassStamp& stamp, std::chrono::seconds every,
                        RecordStore* store) {
  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  // A new head is news (status shows which head the controller last saw);
  // the same head is re-stamped only every `every`.
  if (auto last = ReadPassStamp(repo); last && last->head == stamp.head &&
                                       stamp.time >= last->time &&
                                       stamp.time - last->time < every) {
    return false;
  }
  git::Person who = Workspace::Identity();
  who.when = stamp.time;
  auto commit = repo.CreateCommit("", {}, PassStampMessage(stamp), who, who);
  if (!commit.ok()) return commit.status().WithContext("record the pass stamp");
  SLUICE_RETURN_IF_ERROR(repo.SetRef(kPassRef, *commit, "sluice: pass"));
  if (store != nullptr) {
    SLUICE_RETURN_IF_ERROR(store->StageLocked({kPassRef}));
  } else {
    SLUICE_RETURN_IF_ERROR(ws.PushRecordLocked({kPassRef}));
  }
  return true;
}

Freshness JudgeFreshness(const std::optional<PassStamp>& stamp, TimePoint now,
                         std::optional<std::chrono::seconds> stale_after) {
  Freshness f;
  if (stale_after) {
    f.stale_after = *stale_after;
  } else if (stamp && stamp->interval.count() > 0) {
    f.stale_after = std::max(std::chrono::seconds(300), 3 * stamp->interval);
  } else {
    f.stale_after = std::chrono::seconds(900);
  }
  if (!stamp) {
    f.state = "unknown";
    f.reason =
        "no controller pass recorded (refs/sluice/pass): the controller is older than "
        "this sluice, or has never completed a pass";
    return f;
  }
  double age = std::chrono::duration<double>(now - stamp->time).count();
  f.age_seconds = age;
  const std::string ago = FormatDuration(std::chrono::milliseconds(
                              static_cast<long long>(std::max(0.0, age) * 1000) / 1000 * 1000)) +
                          " ago";
  const std::string who = stamp->controller_id.empty() ? "" : " by " + stamp->controller_id;
  if (age <= std::chrono::duration<double>(f.stale_after).count()) {
    f.state = "fresh";
    f.reason = "last pass " + ago + who;
  } else {
    f.state = "stale";
    f.reason =
        "last pass " + ago + who + ", longer than " +
        FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(f.stale_after)) +
        ": is the controller running?";
  }
  return f;
}

void StampPass(Workspace& ws, const PassReport& report, TimePoint now,
               std::chrono::seconds interval, const std::string& instance_id, RecordStore* store,
               std::chrono::seconds every) {
  PassStamp stamp;
  stamp.time = now;
  stamp.head = report.head;
  stamp.branch = ws.branch();
  stamp.interval = interval;
  stamp.controller_id = instance_id;
  stamp.controller_version = std::string(Version());
  auto written = RecordPass(ws, stamp, every, store);
  if (!written.ok()) {
    spdlog::warn("could not record the pass stamp (refs/sluice/pass): {}",
                 written.status().ToString());
  }
}

}  // namespace sluice::record
