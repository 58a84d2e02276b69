#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/controller_config.h"
#include "cli/engine_parts.h"
#include "cli/process_secrets.h"
#include "cli/trust_config.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "engine/reconciler.h"

namespace sluice::cli {

Runner AddPlanCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "plan",
      "Show the gate table of each pending change (gate, result, reason) without applying "
      "anything");
  cmd->footer(
      "Judges the head of --branch with the policy in force, exactly as the controller would, "
      "and writes nothing. On a PR branch it previews what merging would do. Changes are "
      "listed in the order a pass handles them: an app after the apps its deploy.dependsOn "
      "names (\"after: db\"; JSON: dependsOn, order).\n"
      "Examples:\n  sluice plan --repo git://git.example.com/environments --env prod\n"
      "  sluice plan --repo ... --branch promote-api-2.5.3 --at 2026-11-24T10:00:00+01:00\n"
      "Exit codes: 0 every gate passes (or nothing is pending), 3 a gate blocks, 4 a gate "
      "waits and none blocks, 1 error.");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto at = std::make_shared<std::string>();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  cmd->add_option("--env", *env, "Only this environment");
  cmd->add_option("--app", *app_name, "Only this app");
  cmd->add_option("--at", *at, "Evaluate as of this time (RFC 3339) instead of now");
  // The controller's configuration: its trust: section decides where trust
  // starts; its forge (SPEC 1.3 rule 5) serves `forge` evidence, never the
  // previewed branch's.
  auto config_path = std::make_shared<std::string>();
  auto forge_token_file = std::make_shared<std::string>();
  cmd->add_option("--config", *config_path,
                  "The controller's YAML configuration: its trust: section and forge: (and "
                  "gitUsername, gitPasswordFile) are used, so the plan judges exactly as the "
                  "controller does");
  cmd->add_option("--forge-token-file", *forge_token_file,
                  "File holding the forge API token (overrides forge.tokenFile)");
  return [cmd, opts, env, app_name, at, config_path, forge_token_file] {
    ControllerSettings settings;
    if (Status s = LoadCommandConfig(*cmd, *config_path, *opts, settings); !s.ok()) {
      PrintError(s.message());
      return kExitError;
    }
    ConfigureLogging(opts->log_level);
    config::SecretSettings secret_settings = settings.secrets;
    secret_settings.notify.clear();  // plan notifies nobody
    auto secrets = LoadControllerSecrets(secret_settings, *forge_token_file);
    if (!secrets.ok()) {
      PrintError(secrets.status().message());
      return kExitError;
    }
    EngineParts parts;
    TimePoint when = parts.clock.Now();
    if (!at->empty()) {
      auto parsed = ParseRfc3339(*at);
      if (!parsed.ok()) {
        PrintError("--at: " + parsed.status().message());
        return kExitUsage;
      }
      when = *parsed;
    }
    auto ws = OpenWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    CancelToken cancel;
    engine::ReconcileOptions ropts;
    ropts.trust.bootstrap = settings.trust_bootstrap;
    ropts.forge = secrets->forge;
    ropts.forge_token = secrets->forge_token;
    engine::Reconciler reconciler(**ws, parts.runner, parts.verifier, parts.http, parts.clock,
                                  cancel, ropts);
    auto rows = reconciler.Plan(*env, *app_name, when);
    if (!rows.ok()) {
      PrintError(rows.status().message());
      return kExitError;
    }
    bool any_block = false, any_wait = false;
    for (const auto& r : *rows) {
      any_block |= r.verdict == gates::Verdict::kBlock;
      any_wait |= r.verdict == gates::Verdict::kWait;
    }
    if (opts->format == "json") {
      // Row by row, as DumpJson(array, 2) would print it: the whole array as
      // one JSON value and then one string held 45 MB at 10,000 pending pins.
      std::cout << (rows->empty() ? "[" : "[\n");
      bool first = true;
      for (const auto& r : *rows) {
        nlohmann::ordered_json gates = nlohmann::ordered_json::array();
        for (const auto& g : r.gates) {
          gates.push_back({{"name", g.name},
                           {"result", std::string(gates::VerdictName(g.verdict))},
                           {"reason", g.reason},
                           {"evidence", g.evidence}});
        }
        nlohmann::ordered_json row = {{"env", r.env},
                                      {"app", r.app},
                                      {"commit", r.commit},
                                      {"digest", r.digest},
                                      {"version", r.version},
                                      {"result", std::string(gates::VerdictName(r.verdict))},
                                      {"gates", gates},
                                      {"policyNotes", r.policy_notes},
                                      {"dependsOn", r.depends_on},
                                      {"order", r.order}};
        // One level deeper than a top-level value: every line indented by
        // two more (JSON strings hold no raw newline).
        const std::string text = DumpJson(row, 2);
        std::string indented = first ? "  " : ",\n  ";
        first = false;
        indented.reserve(indented.size() + text.size() + text.size() / 8);
        for (char c : text) {
          indented.push_back(c);
          if (c == '\n') indented.append("  ");
        }
        std::cout << indented;
      }
      std::cout << (rows->empty() ? "]\n" : "\n]\n");
    } else {
      std::cout << "plan as of " << FormatRfc3339(when) << "\n";
      if (rows->empty()) std::cout << "nothing pending: every pin is in sync\n";
      for (const auto& r : *rows) {
        std::cout << "\n"
                  << r.env << "/" << r.app << "  " << (r.version.empty() ? "" : r.version + " ")
                  << (r.digest.empty() ? "" : r.digest.substr(0, 19) + "…") << " at "
                  << ShortId(r.commit) << "  => " << gates::VerdictName(r.verdict) << "\n";
        if (!r.depends_on.empty()) {
          std::cout << "  order " << r.order << " in " << r.env
                    << ", after: " << Join(r.depends_on, ", ") << "\n";
        }
        for (const auto& g : r.gates) {
          std::cout << "  " << std::left << std::setw(18) << g.name << std::setw(6)
                    << gates::VerdictName(g.verdict) << g.reason << "\n";
        }
        for (const auto& n : r.policy_notes) std::cout << "  policy: " << n << "\n";
      }
    }
    if (any_block) return kExitBlocked;
    if (any_wait) return kExitWaiting;
    return kExitOk;
  };
}

}  // namespace sluice::cli
