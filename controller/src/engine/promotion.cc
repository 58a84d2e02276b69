#include "engine/promotion.h"

#include <algorithm>
#include <cctype>
#include <kainjow/mustache.hpp>

#include "config/pin.h"
#include "config/pin_edit.h"
#include "config/policy.h"
#include "config/repository_config.h"
#include "config/settings.h"
#include "core/lines.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "git/incremental.h"
#include "record/event.h"
#include "record/refs.h"
#include "record/trust.h"

namespace sluice::engine {
namespace {

namespace mst = kainjow::mustache;

std::string Or(const std::string& s, const std::string& fallback) {
  return s.empty() ? fallback : s;
}

// A section variable: absent (false) when empty so {{#x}}...{{/x}} hides it.
void SetIf(mst::data& d, const std::string& key, const std::string& value) {
  d.set(key, value.empty() ? mst::data(false) : mst::data(value));
}

// The hex of a digest without its algorithm, shortened.
std::string ShortDigest(const std::string& digest, size_t n) {
  auto colon = digest.find(':');
  std::string hex = colon == std::string::npos ? digest : digest.substr(colon + 1);
  return hex.substr(0, n);
}

PromotionPlan Refuse(PromotionPlan plan, std::string reason) {
  plan.outcome = PromotionPlan::Outcome::kRefused;
  plan.reason = std::move(reason);
  return plan;
}

// The variables both templates share.
mst::data PlanData(const PromotionPlan& p) {
  mst::data d;
  d.set("app", p.app);
  d.set("from", p.from);
  d.set("to", p.to);
  d.set("digest", p.digest);
  d.set("short_digest", ShortDigest(p.digest, 12));
  d.set("version", Or(p.version, ShortDigest(p.digest, 12)));
  SetIf(d, "has_version", p.version);
  SetIf(d, "source", p.source);
  d.set("image", Or(p.image, "-"));
  d.set("upstream_commit", p.upstream_commit);
  d.set("upstream_short", ShortId(p.upstream_commit));
  SetIf(d, "verified_at", p.verified_at ? FormatRfc3339(*p.verified_at) : "");
  d.set("promoted_from", p.promoted_from);
  SetIf(d, "previous_digest", p.previous_digest);
  d.set(
      "previous_version",
      Or(p.previous_version, p.previous_digest.empty() ? "-" : ShortDigest(p.previous_digest, 12)));
  SetIf(d, "previous_source", p.previous_source);
  SetIf(d, "source_range",
        !p.previous_source.empty() && !p.source.empty() && p.previous_source != p.source
            ? p.previous_source + ".." + p.source
            : "");
  d.set("pin_path", p.pin_path);
  d.set("branch", p.branch);
  d.set("base", ShortId(p.base));
  d.set("pipeline", Join(p.pipeline, " -> "));
  return d;
}

Result<std::string> Render(const std::string& what, const std::string& tmpl, const mst::data& d) {
  mst::mustache view{tmpl};
  if (!view.is_valid()) {
    return Status::InvalidArgument(what + " template: " + view.error_message());
  }
  // Git messages and Markdown, not HTML: no entity escaping.
  view.set_custom_escape([](const std::string& s) { return s; });
  std::string out = view.render(d);
  if (!view.error_message().empty()) {
    return Status::InvalidArgument(what + " template: " + view.error_message());
  }
  return out;
}

// "Key: value" with a token-shaped key, as git interpret-trailers reads it.
bool IsTrailerLine(const std::string& line) {
  auto colon = line.find(": ");
  if (colon == std::string::npos || colon == 0) return false;
  return std::all_of(line.begin(), line.begin() + static_cast<long>(colon),
                     [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      out.push_back(text.substr(pos));
      break;
    }
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::string EvidenceWords(config::Evidence e) {
  switch (e) {
    case config::Evidence::kForge:
      return "as approving reviews on the pull request's final commit";
    case config::Evidence::kSigned:
      return "as a merge commit signed with an approver's SSH key (listed in signers)";
    case config::Evidence::kForgeAndSigned:
      return "as approving reviews on the final commit AND a merge signed by an approver";
  }
  return "";
}

// The newest `failed` event (not an interrupted apply) of (env, app) with
// `digest` in the record of `repo`, unless a `verified` event of that
// digest there is newer. With `keys`, only lines they signed count. Reads
// every note once (git::ForEachNote), skipping lines that do not name env.
std::optional<PromotionPlan::Failure> LastFailureOf(const git::Repository& repo,
                                                    const std::string& env, const std::string& app,
                                                    const std::string& digest,
                                                    const std::vector<crypto::PublicKey>* keys) {
  std::optional<PromotionPlan::Failure> failed;
  std::optional<TimePoint> verified;
  const std::string quoted_env = "\"" + env + "\"";
  Status s = git::ForEachNote(
      repo, record::kNotesRef, [&](const std::string& commit, std::string_view text) {
        ForEachLine(text, [&](std::string_view line) {
          if (line.find(quoted_env) == std::string_view::npos ||
              line.find(digest) == std::string_view::npos) {
            return;
          }
          if (keys && !record::VerifyEventLine(line, commit, *keys).trusted) return;
          auto e = record::ParseEventLine(line);
          if (!e.ok() || e->env != env || e->app != app || e->digest != digest) return;
          if (e->kind == record::EventKind::kVerified) {
            if (!verified || e->time > *verified) verified = e->time;
          } else if (e->kind == record::EventKind::kFailed && !e->interrupted) {
            if (!failed || e->time > failed->time) {
              failed = PromotionPlan::Failure{commit, e->time, e->reason};
            }
          }
        });
        return true;
      });
  // The warning is advice: a record that cannot be read gives none.
  if (!s.ok() || !failed || (verified && *verified > failed->time)) return std::nullopt;
  return failed;
}

}  // namespace

Result<PromotionPlan> PlanPromotion(const git::Repository& repo, const std::string& base,
                                    const std::string& app, const std::string& from,
                                    const std::string& to,
                                    const std::vector<crypto::PublicKey>* controller_keys) {
  PromotionPlan plan;
  plan.app = app;
  plan.from = from;
  plan.to = to;
  plan.base = base;
  plan.pin_path = config::PinPath(to, app);

  for (const auto& [flag, name] : {std::pair{"APP", app}, {"--from", from}, {"--to", to}}) {
    if (!config::IsValidName(name)) {
      return Refuse(
          plan, std::string(flag) + " \"" + name + "\" is not a valid name ([a-z0-9][a-z0-9._-]*)");
    }
  }

  auto settings_text = repo.ReadFile(base, config::SettingsPath());
  if (!settings_text.ok()) {
    return settings_text.status().WithContext("read sluice.yaml at " + ShortId(base));
  }
  config::Diagnostics diags;
  auto settings = config::ParseRepoSettings(*settings_text, config::SettingsPath(), diags);
  if (!settings) return Status::InvalidArgument(config::FormatDiagnostics(diags));
  plan.pipeline = settings->pipeline;
  const auto& pl = plan.pipeline;
  const std::string order = "[" + Join(pl, ", ") + "]";
  auto from_it = std::find(pl.begin(), pl.end(), from);
  auto to_it = std::find(pl.begin(), pl.end(), to);
  if (from_it == pl.end() || to_it == pl.end()) {
    return Refuse(plan, "\"" + (from_it == pl.end() ? from : to) +
                            "\" is not in the pipeline of sluice.yaml " + order +
                            "; promote between environments it lists");
  }
  if (to_it <= from_it) {
    std::string hint;
    if (from_it + 1 != pl.end()) hint = "; e.g. --from " + from + " --to " + *(from_it + 1);
    return Refuse(plan, "cannot promote from " + from + " to " + to + ": the pipeline is " + order +
                            " and a digest only moves forward, from an environment to "
                            "one after it" +
                            hint);
  }

  auto lkg = repo.ResolveRef(record::LkgRef(from, app));
  if (!lkg.ok()) {
    if (!lkg.status().IsNotFound()) return lkg.status();
    return Refuse(plan, from + " has nothing verified for " + app + " (no " +
                            record::LkgRef(from, app) +
                            " in the record): let the controller deploy and verify it in " + from +
                            " first (`sluice status --env " + from + "` tells where it is)");
  }
  plan.upstream_commit = *lkg;
  auto upstream_text = repo.ReadFile(plan.upstream_commit, config::PinPath(from, app));
  if (!upstream_text.ok()) {
    return upstream_text.status().WithContext("read " + config::PinPath(from, app) +
                                              " at the last-known-good " +
                                              ShortId(plan.upstream_commit));
  }
  config::Diagnostics up_diags;
  auto upstream = config::ParsePin(*upstream_text, config::PinPath(from, app), up_diags);
  if (!upstream) {
    return Status::InvalidArgument(
        "the pin " + from + " verified does not parse: " + config::FormatDiagnostics(up_diags));
  }
  plan.digest = upstream->artifact.digest;
  plan.version = upstream->artifact.version;
  plan.source = upstream->artifact.source;
  plan.promoted_from = from + "@" + plan.upstream_commit;
  plan.branch = "sluice/promote/" + app + "-" + to + "-" + ShortDigest(plan.digest, 8);
  bool confirmed = false;
  if (auto note = repo.ReadNote(record::kNotesRef, plan.upstream_commit); note.ok()) {
    ForEachLine(*note, [&](std::string_view line) {
      if (controller_keys &&
          !record::VerifyEventLine(line, plan.upstream_commit, *controller_keys).trusted) {
        return;
      }
      auto e = record::ParseEventLine(line);
      if (!e.ok()) return;
      if (e->env == from && e->app == app && e->kind == record::EventKind::kVerified) {
        plan.verified_at = e->time;
        confirmed = true;
      }
    });
  }
  if (controller_keys && !confirmed) {
    return Refuse(plan, record::LkgRef(from, app) + " points at " + ShortId(plan.upstream_commit) +
                            ", but no verified event there is signed by a key of "
                            "--controller-keys: the record is not trusted (sluice audit --verify "
                            "lists what does not verify)");
  }

  auto target_text = repo.ReadFile(base, plan.pin_path);
  if (!target_text.ok()) {
    if (!target_text.status().IsNotFound()) return target_text.status();
    return Refuse(plan, plan.pin_path + " does not exist on the branch: write the first pin of " +
                            app + " in " + to + " by hand (its deploy section belongs to " + to +
                            "), then promote");
  }
  config::Diagnostics t_diags;
  if (auto current = config::ParsePin(*target_text, plan.pin_path, t_diags)) {
    plan.image = current->artifact.image;
    plan.previous_digest = current->artifact.digest;
    plan.previous_version = current->artifact.version;
    plan.previous_source = current->artifact.source;
  }
  if (plan.previous_digest == plan.digest) {
    plan.outcome = PromotionPlan::Outcome::kNothingToPromote;
    plan.reason = "nothing to promote: " + to + " already pins " + Or(plan.version, plan.digest) +
                  " (" + plan.digest + "), the digest " + from + " verified";
    return plan;
  }

  auto edited = config::EditPinArtifact(*target_text,
                                        {{"digest", plan.digest},
                                         {"version", plan.version},
                                         {"source", plan.source},
                                         {"promotedFrom", plan.promoted_from}},
                                        plan.pin_path);
  if (!edited.ok()) return edited.status();
  config::Diagnostics e_diags;
  auto reparsed = config::ParsePin(*edited, plan.pin_path, e_diags);
  if (!reparsed) {
    return Status::InvalidArgument("the promoted pin would not be valid, so nothing was written: " +
                                   config::FormatDiagnostics(e_diags) + " (fix " + plan.pin_path +
                                   " on " + ShortId(base) + " first)");
  }
  const config::Artifact& a = reparsed->artifact;
  if (a.digest != plan.digest || a.version != plan.version || a.source != plan.source ||
      a.promoted_from != plan.promoted_from) {
    return Status::InvalidArgument(
        plan.pin_path + ": the edited pin does not read back as the promoted artifact (is a key " +
        "of artifact written twice, or quoted as a key?); edit it by hand");
  }
  plan.new_content = std::move(*edited);
  plan.failed_in_to = LastFailureOf(repo, to, app, plan.digest, controller_keys);
  plan.outcome = PromotionPlan::Outcome::kReady;
  return plan;
}

std::string ApprovalRequirement(const trust::PolicyInForce& pif, const std::string& to) {
  const std::string at = pif.commit.empty() ? std::string("?") : ShortId(pif.commit);
  if (!pif.error.empty() || !pif.settings || !pif.policy) {
    return "unknown: the policy in force (" + at +
           ") cannot be read: " + (pif.error.empty() ? std::string("no policy") : pif.error);
  }
  const auto& settings = pif.settings;
  const auto& policy = pif.policy;
  if (!policy->approval || policy->approval->required <= 0) {
    return "no approval: " + to + "'s policy does not require one";
  }
  const config::ApprovalPolicy& ap = *policy->approval;
  std::vector<std::string> groups;
  for (const auto& g : ap.from) {
    auto it = settings->groups.find(g);
    groups.push_back(
        g + " (" + (it == settings->groups.end() ? "no such group" : Join(it->second, ", ")) + ")");
  }
  std::string out = std::to_string(ap.required) + " approval" + (ap.required == 1 ? "" : "s") +
                    " from " + (groups.empty() ? "anyone" : Join(groups, " or ")) + ", " +
                    EvidenceWords(ap.evidence);
  if (ap.separate_author) out += "; the promotion's author does not count";
  return out;
}

std::string PromotionTemplate(const git::Repository& repo, const std::string& commit,
                              const std::string& name) {
  if (auto own = repo.ReadFile(commit, "templates/" + name); own.ok()) return *own;
  if (name == "promotion-commit.md") return std::string(DefaultPromotionCommitTemplate());
  return std::string(DefaultPromotionPrTemplate());
}

std::string PromoteTrailer(const PromotionPlan& plan) {
  return "Sluice-Promote: " + plan.app + " " + plan.digest + " " + plan.from + " -> " + plan.to;
}

Result<std::string> RenderPromotionCommit(const std::string& tmpl, const PromotionPlan& plan) {
  auto text = Render("promotion-commit", tmpl, PlanData(plan));
  if (!text.ok()) return text.status();
  std::vector<std::string> lines = Lines(*text);
  // Trim blank lines at both ends; git would strip them anyway.
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string::npos) {
    lines.pop_back();
  }
  while (!lines.empty() && lines.front().find_first_not_of(" \t\r") == std::string::npos) {
    lines.erase(lines.begin());
  }
  if (lines.empty()) {
    return Status::InvalidArgument("promotion-commit template renders an empty message");
  }
  const std::string trailer = PromoteTrailer(plan);
  if (std::find(lines.begin(), lines.end(), trailer) == lines.end()) {
    // The last paragraph is a trailer block when every line of it is one.
    size_t start = lines.size();
    while (start > 0 && !lines[start - 1].empty()) --start;
    bool trailer_block = start > 0 && std::all_of(lines.begin() + static_cast<long>(start),
                                                  lines.end(), IsTrailerLine);
    if (!trailer_block) lines.push_back("");
    lines.push_back(trailer);
  }
  return Join(lines, "\n") + "\n";
}

Result<std::string> RenderPromotionPr(const std::string& tmpl, const PromotionPlan& plan,
                                      const PromotionPreview& preview) {
  mst::data d = PlanData(plan);
  auto cell = [](std::string s) {
    std::string out;
    for (char c : s) {
      if (c == '|') {
        out += "\\|";
      } else if (c == '\n') {
        out += ' ';
      } else {
        out += c;
      }
    }
    return out;
  };
  d.set("commit", preview.commit);
  d.set("commit_short", ShortId(preview.commit));
  d.set("preview_time", FormatRfc3339(preview.at));
  d.set("approval_rule", preview.approval);
  if (preview.row) {
    mst::data gates = mst::data::type::list;
    for (const auto& g : preview.row->gates) {
      gates.push_back(mst::object{{"name", g.name},
                                  {"result", std::string(gates::VerdictName(g.verdict))},
                                  {"reason", cell(g.reason)}});
    }
    mst::data row;
    row.set("result", std::string(gates::VerdictName(preview.row->verdict)));
    row.set("gates", gates);
    d.set("preview", row);
    d.set("no_preview", false);
  } else {
    d.set("preview", false);
    d.set("no_preview", mst::data(Or(preview.error, "no pending change found")));
  }
  return Render("promotion-pr", tmpl, d);
}

}  // namespace sluice::engine
