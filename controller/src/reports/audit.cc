#include "reports/audit.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <tuple>
#include <unordered_map>

#include "core/time_format.h"
#include "git/repo.h"

namespace sluice::reports {
namespace {

double Seconds(TimePoint from, TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

void First(std::optional<TimePoint>& slot, TimePoint t) {
  if (!slot || t < *slot) slot = t;
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) &&
           !std::isupper(static_cast<unsigned char>(c));
  });
}

// True when `ref` (a full or abbreviated id, at least 7 hex) names `commit`.
bool SameCommit(const std::string& ref, const std::string& commit) {
  return ref.size() >= 7 && IsHex(ref) && commit.compare(0, ref.size(), ref) == 0;
}

// The first run of at least 7 hex digits after `key` in `text`, or "".
std::string HexAfter(const std::string& text, const std::string& key) {
  size_t at = text.find(key);
  if (at == std::string::npos) return "";
  size_t b = at + key.size();
  while (b < text.size() && text[b] == ' ') ++b;
  size_t e = b;
  while (e < text.size() && std::isxdigit(static_cast<unsigned char>(text[e]))) ++e;
  return e - b >= 7 ? text.substr(b, e - b) : "";
}

// How approval was established, from the `approval` gate's pass reason
// (approval/approval_gate.cc writes these shapes).
std::string ApprovalMethod(const record::GateRecord& gate) {
  if (gate.result != "pass") return "";
  const std::string& r = gate.reason;
  if (r.rfind("no approval required", 0) == 0) return "not-required";
  bool forge = r.rfind("approved by ", 0) == 0;
  bool signed_merge = r.find("merge signed by ") != std::string::npos;
  if (forge && signed_merge) return "forge+signed";
  if (forge) return "forge";
  if (signed_merge) return "signed";
  return "other";
}

// Fills a change's summary fields from its events.
void Summarise(Change& c) {
  const record::Event* applying = nullptr;
  const record::Event* last_lifecycle = nullptr;
  bool applied_seen = false;
  for (const record::Event& e : c.events) {
    First(c.first_event, e.time);
    if (!e.digest.empty()) c.digest = e.digest;
    if (!e.version.empty()) c.version = e.version;
    for (const auto& a : e.approvers) {
      if (std::find(c.approvers.begin(), c.approvers.end(), a) == c.approvers.end()) {
        c.approvers.push_back(a);
      }
    }
    switch (e.kind) {
      case record::EventKind::kApplying:
        First(c.applying, e.time);
        if (!applying) applying = &e;
        break;
      case record::EventKind::kApplied:
        First(c.applied, e.time);
        applied_seen = true;
        break;
      case record::EventKind::kVerified:
        First(c.verified, e.time);
        break;
      case record::EventKind::kFailed:
        if (!e.interrupted && !c.failed) {
          c.failed = e.time;
          c.failure = applied_seen ? "verification" : "adapter";
        }
        break;
      case record::EventKind::kDrift:
        if (!e.resolved) First(c.drift, e.time);
        break;
      case record::EventKind::kStep:
        // deploy.strategy: the release took traffic with its first weight
        // step (or the blue-green deploy): applied from then on.
        if (e.phase == "verifying" && e.action != "abort") {
          First(c.applied, e.time);
          applied_seen = true;
        }
        break;
      case record::EventKind::kRolledBack:
        if (!e.rollback_target.empty()) {
          // Written on the rollback commit itself (it carries `rollbackTo`):
          // the rollback was applied. It is a deploy, not a failure.
          First(c.applied, e.time);
          applied_seen = true;
        } else {
          First(c.rolled_back, e.time);
        }
        break;
      default:
        break;
    }
    if (e.kind != record::EventKind::kDrift && e.kind != record::EventKind::kStep) {
      last_lifecycle = &e;
    }
  }
  const record::Event* gates_from =
      applying ? applying : (c.events.empty() ? nullptr : &c.events.back());
  if (gates_from) c.gates = gates_from->gates;
  // The approval gate that let the change through; else the latest verdict.
  for (const auto& g : c.gates) {
    if (g.name == "approval") c.approval_reason = g.reason, c.approval_method = ApprovalMethod(g);
  }
  if (c.approval_reason.empty()) {
    for (const record::Event& e : c.events) {
      for (const auto& g : e.gates) {
        if (g.name == "approval")
          c.approval_reason = g.reason, c.approval_method = ApprovalMethod(g);
      }
    }
  }
  if (!c.events.empty()) c.reason = c.events.back().reason;
  if (!last_lifecycle) {
    c.outcome = c.events.empty() ? "" : "drift";
    return;
  }
  switch (last_lifecycle->kind) {
    case record::EventKind::kFailed:
      c.outcome = last_lifecycle->interrupted ? "interrupted" : "failed";
      break;
    default:
      c.outcome = std::string(record::EventKindName(last_lifecycle->kind));
      break;
  }
}

// Is `c` a rollback, and of what? Returns the reference it gives.
bool IsRollback(const Change& c) {
  if (!c.source.rollback_to.empty() || !c.source.reverts.empty()) return true;
  for (const record::Event& e : c.events) {
    if (!HexAfter(e.reason, "Sluice-Rollback:").empty()) return true;
  }
  return false;
}

std::string RollbackTo(const Change& c) {
  if (!c.source.rollback_to.empty()) return c.source.rollback_to;
  for (const record::Event& e : c.events) {
    if (auto h = HexAfter(e.reason, "Sluice-Rollback:"); !h.empty()) return h;
  }
  return "";
}

bool Names(const std::string& ref, const Change& c) {
  return SameCommit(ref, c.commit) ||
         (!c.source.landing_commit.empty() && SameCommit(ref, c.source.landing_commit));
}

std::string Key(const std::string& env, const std::string& app) { return env + "\n" + app; }

void LinkRollbacks(std::vector<Change>& changes) {
  // Changes per (env, app), in time order (changes are sorted already).
  std::unordered_map<std::string, std::vector<size_t>> by_app;
  for (size_t i = 0; i < changes.size(); ++i) {
    by_app[Key(changes[i].env, changes[i].app)].push_back(i);
  }
  auto link = [&](Change& rollback, Change& target, std::optional<TimePoint> when) {
    rollback.rolls_back = target.commit;
    target.rolled_back_by = rollback.commit;
    if (when) First(target.rolled_back, *when);
  };
  for (auto& [key, idx] : by_app) {
    for (size_t k = 0; k < idx.size(); ++k) {
      Change& c = changes[idx[k]];
      // A `rolled-back` event on a change may name the change that did it.
      for (const record::Event& e : c.events) {
        if (e.kind != record::EventKind::kRolledBack || !c.rolled_back_by.empty()) continue;
        for (size_t j : idx) {
          if (j == idx[k]) continue;
          std::string ref = HexAfter(e.reason, "by ");
          if (ref.empty()) ref = HexAfter(e.reason, "Sluice-Rollback:");
          if (!ref.empty() && Names(ref, changes[j])) {
            changes[j].rolls_back = c.commit;
            c.rolled_back_by = changes[j].commit;
          }
        }
      }
      // A rollback the controller never started (blocked: pushed without
      // the approval it needs) rolled nothing back.
      if (!IsRollback(c) || !c.rolls_back.empty() || !c.applying) continue;
      // When the rollback was asked for: the rollback commit's time, else its
      // first event.
      std::optional<TimePoint> asked = c.first_event;
      if (c.source.known && c.source.committed != TimePoint{}) asked = c.source.committed;
      if (!c.source.reverts.empty()) {
        // A plain `git revert` names the bad commit itself.
        for (size_t j = 0; j < k; ++j) {
          if (Names(c.source.reverts, changes[idx[j]])) link(c, changes[idx[j]], asked);
        }
        if (!c.rolls_back.empty()) continue;
      }
      // `Sluice-Rollback: <lkg>` names what it restores; what it rolled back
      // is the latest change the controller started on before it, other than
      // the LKG itself.
      const std::string to = RollbackTo(c);
      for (size_t j = k; j-- > 0;) {
        Change& prev = changes[idx[j]];
        if (!prev.applying || (!to.empty() && Names(to, prev))) continue;
        if (c.applying && *prev.applying > *c.applying) continue;
        link(c, prev, asked);
        break;
      }
    }
  }
}

void FindExceptions(AuditReport& r) {
  for (const Change& c : r.changes) {
    // "Applied" for this rule: the controller started applying it.
    if (!c.applying) continue;
    if (c.approvers.empty() && r.require_approval.count(c.env)) {
      r.exceptions.push_back({c.env, c.app, c.commit, "no-approvers",
                              "applied " + FormatRfc3339(*c.applying) +
                                  " without recorded approvers; " + c.env + " requires approval"});
    }
    for (const auto& g : c.gates) {
      if (g.result == "pass") continue;
      r.exceptions.push_back({c.env, c.app, c.commit, "gate-not-pass",
                              "applied " + FormatRfc3339(*c.applying) + " with gate " + g.name +
                                  " = " + g.result + (g.reason.empty() ? "" : ": " + g.reason)});
    }
  }
}

}  // namespace

std::optional<TimePoint> ChangeTime(const Change& c) {
  return c.applying ? c.applying : c.first_event;
}

namespace {

// The text `"name"` must appear in an event line about `name` when every
// character of the name is one that JSON writers emit as is.
std::string QuotedNeedle(std::string_view name) {
  if (name.empty()) return "";
  for (char c : name) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
    if (!plain) return "";
  }
  return "\"" + std::string(name) + "\"";
}

}  // namespace

std::vector<record::Event> ParseNoteFor(std::string_view note_text, std::string_view env,
                                        std::string_view app) {
  if (env.empty() && app.empty()) return record::ParseNote(note_text);
  const std::string env_needle = QuotedNeedle(env);
  const std::string app_needle = QuotedNeedle(app);
  std::vector<record::Event> out;
  size_t pos = 0;
  while (pos <= note_text.size()) {
    size_t nl = note_text.find('\n', pos);
    if (nl == std::string_view::npos) nl = note_text.size();
    std::string_view line = note_text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    if (!env_needle.empty() && line.find(env_needle) == std::string_view::npos) continue;
    if (!app_needle.empty() && line.find(app_needle) == std::string_view::npos) continue;
    auto e = record::ParseEventLine(line);
    if (!e.ok()) continue;
    if (!env.empty() && e->env != env) continue;
    if (!app.empty() && e->app != app) continue;
    out.push_back(std::move(*e));
  }
  return out;
}

CollectResult CollectChanges(const std::vector<AnnotatedCommit>& notes, const AuditFilter& filter) {
  CollectResult out;
  std::map<std::tuple<std::string, std::string, std::string>, Change> by_key;
  for (const AnnotatedCommit& note : notes) {
    for (const record::Event& e : note.events) {
      if (!filter.env.empty() && e.env != filter.env) continue;
      if (!filter.app.empty() && e.app != filter.app) continue;
      for (const auto& g : e.gates) {
        if (g.name == "approval") out.envs_with_approval_gate.insert(e.env);
      }
      Change& c = by_key[{e.env, e.app, note.commit}];
      if (c.commit.empty()) {
        c.env = e.env;
        c.app = e.app;
        c.commit = note.commit;
      }
      c.events.push_back(e);
    }
  }
  for (auto& [key, c] : by_key) {
    Summarise(c);
    std::optional<TimePoint> t = ChangeTime(c);
    if (filter.since && (!t || *t < *filter.since)) continue;
    if (filter.until && (!t || *t >= *filter.until)) continue;
    out.changes.push_back(std::move(c));
  }
  return out;
}

AuditReport BuildAudit(std::vector<Change> changes, const AuditOptions& options,
                       const std::set<std::string>& envs_with_approval_gate) {
  AuditReport r;
  r.filter = options.filter;
  r.require_approval =
      options.require_approval.empty() ? envs_with_approval_gate : options.require_approval;
  for (Change& c : changes) {
    // CollectChanges summarised already; tests may hand in raw changes.
    if (c.outcome.empty()) Summarise(c);
  }
  std::sort(changes.begin(), changes.end(), [](const Change& a, const Change& b) {
    auto ta = ChangeTime(a).value_or(TimePoint{});
    auto tb = ChangeTime(b).value_or(TimePoint{});
    return std::tie(ta, a.env, a.app, a.commit) < std::tie(tb, b.env, b.app, b.commit);
  });
  r.changes = std::move(changes);
  LinkRollbacks(r.changes);
  for (Change& c : r.changes) {
    if (c.rolled_back && (c.outcome == "verified" || c.outcome == "applied" ||
                          c.outcome == "failed" || c.outcome == "rolled-back")) {
      c.outcome = "rolled-back";
    }
  }
  r.window_start = options.filter.since;
  r.window_end = options.filter.until;
  for (const Change& c : r.changes) {
    if (!options.filter.since) {
      if (auto t = ChangeTime(c); t && (!r.window_start || *t < *r.window_start))
        r.window_start = t;
    }
    if (!options.filter.until) {
      for (const record::Event& e : c.events) {
        if (!r.window_end || e.time > *r.window_end) r.window_end = e.time;
      }
    }
  }
  FindExceptions(r);
  std::vector<const Change*> all;
  all.reserve(r.changes.size());
  for (const Change& c : r.changes) all.push_back(&c);
  r.dora = ComputeDora(all, r.window_start, r.window_end, r.changes);
  return r;
}

Dora ComputeDora(const std::vector<const Change*>& changes, std::optional<TimePoint> start,
                 std::optional<TimePoint> end, const std::vector<Change>& restores_from) {
  Dora d;
  if (start && end) {
    d.window_days = std::max(1.0, Seconds(*start, *end) / 86400.0);
  }
  std::vector<double> lead;
  for (const Change* c : changes) {
    if (c->verified) {
      ++d.deploys;
      if (c->source.known && c->source.committed != TimePoint{}) {
        lead.push_back(std::max(0.0, Seconds(c->source.committed, *c->verified)));
      }
    }
    if (c->applied) {
      ++d.applied;
      if (c->failure == "verification" || c->rolled_back) ++d.failed_changes;
    }
  }
  if (d.window_days > 0) d.deploys_per_day = static_cast<double>(d.deploys) / d.window_days;
  d.lead_time = Stats(std::move(lead));
  if (d.applied > 0) {
    d.change_failure_rate = static_cast<double>(d.failed_changes) / static_cast<double>(d.applied);
  }
  std::unordered_map<std::string, std::vector<TimePoint>> verified_at;
  for (const Change& c : restores_from) {
    if (c.verified) verified_at[Key(c.env, c.app)].push_back(*c.verified);
  }
  for (auto& [key, times] : verified_at) std::sort(times.begin(), times.end());
  std::vector<double> restore;
  for (const Change* c : changes) {
    std::optional<TimePoint> failure = c->failed ? c->failed : c->rolled_back;
    if (!failure) continue;
    ++d.failures;
    auto it = verified_at.find(Key(c->env, c->app));
    if (it != verified_at.end()) {
      // Event times have second precision, so the restoring deploy may share
      // the failure's second; a failed change has no `verified` of its own,
      // so "at or after" cannot pick the failure itself.
      auto next = std::lower_bound(it->second.begin(), it->second.end(), *failure);
      if (next != it->second.end()) {
        restore.push_back(Seconds(*failure, *next));
        continue;
      }
    }
    ++d.unrestored;
  }
  d.time_to_restore = Stats(std::move(restore));
  return d;
}

Result<TimePoint> ParseAuditTime(const std::string& text) {
  bool date_only = text.size() == 10 && text[4] == '-' && text[7] == '-';
  auto t = ParseRfc3339(date_only ? text + "T00:00:00Z" : text);
  if (!t.ok()) {
    return Status::InvalidArgument("'" + text +
                                   "' is not a time: use RFC 3339 (2026-11-22T10:00:00Z) or "
                                   "a date (2026-11-22, midnight UTC)");
  }
  return *t;
}

void ReadRollbackReferences(const std::string& message, ChangeSource* source) {
  git::CommitInfo info;
  info.message = message;
  auto trailers = info.Trailer("Sluice-Rollback");
  if (!trailers.empty()) source->rollback_to = trailers.front();
  source->reverts = HexAfter(message, "This reverts commit ");
}

DurationStats Stats(std::vector<double> seconds) {
  DurationStats s;
  s.samples = seconds.size();
  if (seconds.empty()) return s;
  std::sort(seconds.begin(), seconds.end());
  size_t n = seconds.size();
  s.median_seconds = n % 2 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2.0;
  // Nearest rank in integers: ceil(0.9 n) without floating-point surprises.
  size_t rank = (9 * n + 9) / 10;
  s.p90_seconds = seconds[rank - 1];
  return s;
}

}  // namespace sluice::reports
