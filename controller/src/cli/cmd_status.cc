#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/controller_config.h"
#include "cli/engine_parts.h"
#include "cli/ha_config.h"
#include "cli/process_secrets.h"
#include "cli/trust_config.h"
#include "config/repository_config.h"
#include "config/settings.h"
#include "core/duration.h"
#include "core/strings.h"
#include "core/text.h"
#include "core/time_format.h"
#include "engine/reconciler.h"
#include "ha/etcd_client.h"
#include "ha/ownership.h"
#include "net/http_client.h"
#include "reports/status_view.h"

namespace sluice::cli {
namespace {

// Text lines stay within this many columns, so the output reads well in a
// terminal and pasted into an incident channel.
constexpr size_t kColumns = 100;

std::string VersionOf(const reports::PinRef& p) {
  if (p.commit.empty()) return "-";
  std::string digest = p.digest.empty() ? "?" : p.digest.substr(0, 19);
  return (p.version.empty() ? "" : p.version + " ") + "(" + digest + ")";
}

// `text` cut to `width` characters (UTF-8 aware enough: never splits a
// multi-byte sequence) with "..." when cut.
std::string Fit(const std::string& text, size_t width) {
  if (text.size() <= width) return text;
  return std::string(TruncateUtf8(text, width > 3 ? width - 3 : 0)) + "...";
}

// Characters (code points) of UTF-8 `s`, for column counts.
size_t Utf8Length(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Writes `text` after `label` (11 columns, e.g. "  why      "), wrapped at
// word boundaries to kColumns, continuation lines indented under the text:
// a reason is the cause, and cutting it hid exactly that. A word longer
// than a line (a URL, a digest) gets a line of its own.
void PrintWrapped(std::ostream& out, const std::string& label, const std::string& text) {
  const std::string indent(label.size(), ' ');
  const size_t width = kColumns > label.size() ? kColumns - label.size() : 20;
  std::istringstream words(text);
  std::string word, line;
  bool first = true;
  auto flush = [&] {
    out << (first ? label : indent) << line << "\n";
    first = false;
    line.clear();
  };
  while (words >> word) {
    if (!line.empty() && Utf8Length(line) + 1 + Utf8Length(word) > width) flush();
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || first) flush();
}

// Trust rule 1: an edit of an environment's policy files that was not
// approved under the policy it changes has no effect; every row of that
// environment says so ("policy: edit of … in c0ffee… ignored: …").
void AddIgnoredPolicyEdits(record::Workspace& ws, const ControllerSettings& settings,
                           std::vector<reports::StatusRow>& rows) {
  if (rows.empty()) return;
  auto head = ws.Head();
  if (!head.ok()) return;
  EngineParts parts;
  CancelToken cancel;
  engine::ReconcileOptions ropts;
  ropts.trust.bootstrap = settings.trust_bootstrap;
  // Edits judged under `forge` evidence need the controller's forge.
  config::SecretSettings secret_settings = settings.secrets;
  secret_settings.notify.clear();
  if (auto secrets = LoadControllerSecrets(secret_settings); secrets.ok()) {
    ropts.forge = secrets->forge;
    ropts.forge_token = secrets->forge_token;
  } else {
    spdlog::warn("{}", secrets.status().message());
  }
  engine::Reconciler reconciler(ws, parts.runner, parts.verifier, parts.http, parts.clock, cancel,
                                ropts);
  std::vector<std::string> envs;
  for (const auto& r : rows) {
    if (std::find(envs.begin(), envs.end(), r.env) == envs.end()) envs.push_back(r.env);
  }
  reconciler.PrefetchPolicies(envs, *head);
  std::map<std::string, std::vector<std::string>> notes;  // env -> lines
  for (auto& r : rows) {
    auto it = notes.find(r.env);
    if (it == notes.end()) {
      std::vector<std::string> lines;
      for (const auto& e : reconciler.PolicyFor(r.env, *head).ignored) {
        lines.push_back("policy: " + trust::DescribeIgnored(e));
      }
      it = notes.emplace(r.env, std::move(lines)).first;
    }
    r.reasons.insert(r.reasons.end(), it->second.begin(), it->second.end());
  }
}

void PrintRow(std::ostream& out, const reports::StatusRow& r) {
  out << r.env << "/" << r.app << "  " << r.state;
  // In sync with Git, yet the last drift check found something else running.
  if (r.state == "in-sync" && !r.reasons.empty() && r.reasons[0].rfind("drift: ", 0) == 0) {
    out << ", drifted";
  }
  out << "\n";
  if (r.owner) {
    out << "  owner    "
        << (r.owner->empty() ? "none (no live replica holds " + r.env + ")" : *r.owner) << "\n";
  }
  out << "  running  " << VersionOf(r.deployed);
  if (!r.deployed.commit.empty()) {
    out << " at " << ShortId(r.deployed.commit) << " since "
        << (r.deployed_time.empty() ? "?" : r.deployed_time);
  }
  out << "\n";
  if (!r.deployed.commit.empty()) {
    std::string approved =
        r.approvers.empty() ? "no approvers recorded" : "approved by " + Join(r.approvers, ", ");
    const std::string indent = "           ";
    std::string subject = r.deployed_subject.empty() ? "(no subject)" : r.deployed_subject;
    approved = Fit(approved, kColumns - indent.size() - 25);
    const size_t used = indent.size() + approved.size() + 4;  // quotes and ", "
    const size_t room = std::max<size_t>(used < kColumns ? kColumns - used : 0, 20);
    out << indent << "\"" << Fit(subject, room) << "\", " << approved << "\n";
    if (!r.previous.commit.empty()) {
      std::string from =
          r.previous.version.empty() ? r.previous.digest.substr(0, 19) : r.previous.version;
      std::string to =
          r.deployed.version.empty() ? r.deployed.digest.substr(0, 19) : r.deployed.version;
      std::string line =
          "  changed  " + from + " → " + to + " (was " + ShortId(r.previous.commit) + ")";
      if (!r.source_range.empty()) line += ", source " + r.source_range;
      out << line << "\n";
    } else {
      out << "  changed  unknown (first release, or recorded before Sluice kept the previous "
             "release)\n";
    }
  }
  if (!r.step.empty()) out << "  step     " << r.step << "\n";
  if (r.state != "in-sync") {
    out << "  desired  " << VersionOf(r.desired) << " at " << ShortId(r.desired.commit) << "\n";
  }
  if (!r.desired.depends_on.empty()) {
    out << "  after    " << Join(r.desired.depends_on, ", ")
        << (r.order == 0 ? std::string(" (no order: a cycle or a missing app; run sluice validate)")
                         : " (order " + std::to_string(r.order) + " in " + r.env + ")")
        << "\n";
  }
  out << "  lkg      " << VersionOf(r.lkg);
  if (!r.lkg.commit.empty()) out << " at " << ShortId(r.lkg.commit);
  out << "\n";
  if (r.last_failure && r.state != "failed") {
    PrintWrapped(out, "  failed   ",
                 (r.last_failure->version.empty() ? "" : r.last_failure->version + " ") + "at " +
                     ShortId(r.last_failure->commit) + ", " + r.last_failure->time + ": " +
                     r.last_failure->reason);
  }
  for (const auto& reason : r.reasons) PrintWrapped(out, "  why      ", reason);
  if (r.reasons_as_of && !r.reasons.empty()) {
    out << "  as of    " << FormatRfc3339(*r.reasons_as_of) << " (the pass that recorded it)\n";
  }
  if (!r.rollback_command.empty()) out << "  rollback " << r.rollback_command << "\n";
  for (const auto& u : r.untrusted) {
    out << "  UNTRUSTED " << Fit(u + " (ignored)", kColumns - 11) << "\n";
  }
}

// SPEC 1.3 rule 5: keys of sluice.yaml that name the forge or a secret file
// have no effect; say so on stderr (the JSON on stdout keeps its shape).
void WarnIgnoredSettings(record::Workspace& ws) {
  std::lock_guard lock(ws.mutex());
  auto head = ws.repo().ResolveRef("refs/remotes/origin/" + ws.branch());
  if (!head.ok()) return;
  auto text = ws.repo().ReadFile(*head, config::SettingsPath());
  if (!text.ok()) return;
  config::Diagnostics diags;
  auto settings = config::ParseRepoSettings(*text, config::SettingsPath(), diags);
  if (!settings) return;
  for (const auto& d : settings->ignored) std::cerr << "sluice: warning: " << d.ToString() << "\n";
}

}  // namespace

Runner AddStatusCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "status",
      "Show, per environment and app, what runs, since when, who approved it, what changed "
      "since the previous release, the last-known-good, what is waiting or blocked and why, "
      "and whether the controller's last pass is fresh");
  cmd->footer(
      "Read-only: fetches the repository and its record (refs/notes/sluice, refs/sluice/*).\n"
      "The first line says whether the controller is alive: fresh (its last pass, recorded\n"
      "at refs/sluice/pass, is younger than --stale-after), STALE, or unknown (none recorded).\n"
      "Exit code 0 whatever the states; read them from the output. With --exit-code (for\n"
      "scripts and monitors): 3 when a row is blocked or failed, else 4 when one waits.\n"
      "An in-sync row whose reasons start with 'drift:' runs something other than its pin "
      "(found by the controller's drift checks; see 'sluice controller --help').\n"
      "An app with deploy.dependsOn shows 'after  migrate (order 2 in prod)': it is applied "
      "after those apps; a reason starting 'dependsOn:' names the dependency that holds it.\n"
      "A canary or blue-green release under way (deploy.strategy) shows where it stands:\n"
      "'step     canary 50%, verifying (step 3 of 4)' (JSON: step); a restarted controller\n"
      "resumes it at that step.\n"
      "Example:\n  sluice status --repo git://git.example.com/environments --env prod\n"
      "  sluice status --repo ... --format json   # one object per (env, app)\n"
      "Fields and freshness rules: docs/record.md (\"sluice status\").");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto stale_after = std::make_shared<std::string>();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  cmd->add_option("--env", *env, "Only this environment");
  cmd->add_option("--app", *app_name, "Only this app");
  cmd->add_option("--stale-after", *stale_after,
                  "Call the controller stale when its last pass is older than this (e.g. 10m; "
                  "default: 3 x its poll interval, at least 5m; 15m for reconcile --once)");
  auto config_path = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path,
                  "The controller's configuration file (its trust: section decides where trust "
                  "starts, so ignored policy edits are found as the controller finds them; its "
                  "etcd keys stand for --etcd and the etcd TLS/auth flags)");
  auto ha = std::make_shared<HaSettings>();
  AddEtcdClientOptions(*cmd, *ha);
  auto exit_code = std::make_shared<bool>(false);
  cmd->add_flag("--exit-code", *exit_code,
                "Exit 3 when a row is blocked or failed, else 4 when a row waits, else 0 (as "
                "git diff --exit-code; without it status exits 0 whatever the states)");
  return [cmd, opts, env, app_name, stale_after, config_path, ha, exit_code] {
    ConfigureLogging(opts->log_level);
    std::optional<std::chrono::seconds> stale;
    if (!stale_after->empty()) {
      auto d = ParseDuration(*stale_after);
      if (!d.ok()) {
        PrintError("--stale-after: " + d.status().message());
        return kExitUsage;
      }
      stale = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
    ControllerSettings settings;
    settings.ha = *ha;
    if (Status s = LoadControllerConfigFile(*config_path, settings, GivenHaFlags(*cmd)); !s.ok()) {
      spdlog::warn("{}", s.message());
    }
    // With --etcd (or etcd: in --config): who owns each environment, read
    // from etcd; without it, etcd is never contacted.
    auto etcd_options = MakeEtcdOptions(settings.ha);
    if (!etcd_options.ok()) {
      PrintError(etcd_options.status().message());
      return etcd_options.status().code() == Status::Code::kInvalidArgument ? kExitUsage
                                                                            : kExitError;
    }
    auto ws = OpenSyncedWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    SystemClock clock;
    auto rows = reports::ComputeStatus(**ws, *env, *app_name, clock.Now(), stale);
    if (!rows.ok()) {
      PrintError(rows.status().message());
      return kExitError;
    }
    if (*etcd_options) {
      net::CurlHttpClient http;
      ha::EtcdClient etcd(http, **etcd_options);
      auto owners = ha::ReadOwners(etcd, ha::KeyPrefixFor(opts->repo));
      if (!owners.ok()) {
        PrintError("--etcd: " + owners.status().message() +
                   " (run without --etcd for everything but the owners)");
        return kExitError;
      }
      reports::SetOwners(*rows, *owners);
    }
    AddIgnoredPolicyEdits(**ws, settings, *rows);
    if (settings.secrets.forge) reports::SetCommitLinks(*rows, *settings.secrets.forge);
    WarnIgnoredSettings(**ws);
    // --exit-code: the worst state shown, as plan's codes.
    int code = kExitOk;
    if (*exit_code) {
      for (const auto& r : *rows) {
        if (r.state == "blocked" || r.state == "failed") {
          code = kExitBlocked;
        } else if (r.state == "waiting" && code == kExitOk) {
          code = kExitWaiting;
        }
      }
    }
    if (opts->format == "json") {
      std::cout << reports::RenderStatusJson(*rows) << "\n";
      return code;
    }
    std::ostringstream text;
    if (!rows->empty()) {
      const record::Freshness& f = rows->front().freshness;
      std::string state = f.state == "stale" ? "STALE" : f.state;
      std::string line = "controller  " + state + ": " + f.reason;
      if (const auto& p = rows->front().last_pass; p && !p->head.empty()) {
        line += " (head " + ShortId(p->head) + ")";
      }
      text << Fit(line, kColumns) << "\n";
    }
    for (const auto& r : *rows) PrintRow(text, r);
    // Reasons and subjects may quote a child's output or a commit: no
    // terminal escape sequence or control character reaches the terminal.
    std::cout << StripControl(text.str());
    return code;
  };
}

}  // namespace sluice::cli
