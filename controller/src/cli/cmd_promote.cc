#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "approval/forge.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_parts.h"
#include "cli/process_secrets.h"
#include "config/repository_config.h"
#include "config/settings.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "engine/execute_promotion.h"

namespace sluice::cli {
namespace {

struct PromoteOptions {
  std::string app;
  std::string from;
  std::string to;
  std::string repo = ".";
  std::string remote = "origin";
  std::string branch = "main";
  std::string workdir;
  std::string format = "text";
  std::string log_level = "warn";
  bool push = false;
  bool open_pr = false;
  // Secrets (SPEC 1.3 rule 5): the forge of --open-pr comes from the
  // controller's configuration file, never from sluice.yaml.
  std::string config_path;
  std::string forge_token_file;
  std::string controller_keys;  // --controller-keys: whose record the preview believes
};

void PrintGateTable(const engine::PromotionPreview& p) {
  if (!p.row) {
    std::cout << "gate preview unavailable: " << p.error << "\n";
    return;
  }
  std::cout << "gate preview (as if merged, as of " << FormatRfc3339(p.at)
            << "): " << gates::VerdictName(p.row->verdict) << "\n";
  for (const auto& g : p.row->gates) {
    std::cout << "  " << std::left << std::setw(18) << g.name << std::setw(6)
              << gates::VerdictName(g.verdict) << g.reason << "\n";
  }
}

// The forge of --open-pr (nullopt without it), from the controller's
// configuration file: never from sluice.yaml (SPEC 1.3 rule 5).
Result<std::optional<engine::ForgeAccess>> ForgeOfOpenPr(const PromoteOptions& o) {
  if (!o.open_pr) return std::optional<engine::ForgeAccess>();
  config::SecretSettings settings;
  if (!o.config_path.empty()) {
    auto read = ReadSecretSettingsFile(o.config_path);
    if (!read.ok()) return read.status();
    settings = std::move(*read);
    settings.notify.clear();  // promote notifies nobody
  }
  if (!settings.forge) {
    return Status::InvalidArgument(
        "--open-pr needs a forge: pass --config FILE whose forge: {type: github|gitlab, api: "
        "URL, repo: owner/name, tokenFile: FILE} names it (the controller's configuration, "
        "see docs/configuration.md; sluice.yaml cannot), or push with --push and open the pull "
        "request yourself");
  }
  auto secrets = LoadControllerSecrets(settings, o.forge_token_file);
  if (!secrets.ok()) return secrets.status();
  return std::optional<engine::ForgeAccess>(
      engine::ForgeAccess{*secrets->forge, secrets->forge_token});
}

int Run(const PromoteOptions& o) {
  ConfigureLogging(o.log_level);
  if (o.repo.find("://") != std::string::npos) {
    PrintError("--repo " + o.repo +
               ": promote works in a local clone of the environments repository (it commits "
               "there); git clone it, then run sluice promote inside it or give its path");
    return kExitUsage;
  }
  std::error_code ec;
  engine::PromotionRequest request;
  request.app = o.app;
  request.from = o.from;
  request.to = o.to;
  request.clone_path = std::filesystem::absolute(o.repo, ec).lexically_normal().string();
  request.remote = o.remote;
  request.branch = o.branch;
  request.preview_workdir = o.workdir;
  request.controller_keys_file = o.controller_keys;
  request.push = o.push;
  auto repo = git::Repository::Open(request.clone_path);
  if (!repo.ok()) {
    PrintError("--repo " + o.repo + " is not a git clone: " + repo.status().message());
    return kExitError;
  }

  auto plan = engine::PreparePromotion(**repo, request);
  if (!plan.ok()) {
    PrintError(plan.status().message());
    return kExitError;
  }
  using Outcome = engine::PromotionPlan::Outcome;
  if (plan->outcome == Outcome::kRefused) {
    PrintError(plan->reason);
    return kExitBlocked;
  }
  if (plan->outcome == Outcome::kNothingToPromote) {
    if (o.format == "json") {
      std::cout << DumpJson(nlohmann::ordered_json{{"result", "nothing-to-promote"},
                                                   {"app", o.app},
                                                   {"from", o.from},
                                                   {"to", o.to},
                                                   {"digest", plan->digest}})
                << "\n";
    } else {
      std::cout << plan->reason << "\n";
    }
    return kExitOk;
  }

  // A digest that already failed in --to: say so before anything else.
  if (plan->failed_in_to) {
    const auto& f = *plan->failed_in_to;
    std::cerr << "warning: " << plan->to << " already ran "
              << (plan->version.empty() ? plan->digest : plan->version + " (" + plan->digest + ")")
              << " and it FAILED there at " << FormatRfc3339(f.time) << " (release "
              << ShortId(f.commit) << (f.reason.empty() ? "" : ": " + f.reason)
              << "); promoting it again brings back what failed — make sure the fix is in this "
                 "build (sluice history "
              << plan->to << " " << plan->app << ")\n";
  }

  // Everything that can refuse is checked before anything is written.
  auto forge = ForgeOfOpenPr(o);
  if (!forge.ok()) {
    PrintError(forge.status().message());
    return kExitError;
  }
  EngineParts parts;
  auto done = engine::ExecutePromotion(**repo, *plan, request, *forge,
                                       {parts.runner, parts.verifier, parts.http, parts.clock});
  if (!done.ok()) {
    PrintError(done.status().message());
    return kExitError;
  }
  const std::string& commit = done->commit;
  const bool pushed = done->pushed;
  const engine::PromotionPreview& preview = done->preview;
  const std::optional<approval::OpenedPullRequest>& pr = done->pr;

  if (o.format == "json") {
    nlohmann::ordered_json out{{"result", "promoted"},
                               {"app", plan->app},
                               {"from", plan->from},
                               {"to", plan->to},
                               {"digest", plan->digest},
                               {"version", plan->version},
                               {"upstreamCommit", plan->upstream_commit},
                               {"base", plan->base},
                               {"branch", plan->branch},
                               {"commit", commit},
                               {"pushed", pushed},
                               {"approval", preview.approval}};
    out["pr"] = pr ? nlohmann::ordered_json{{"number", pr->number}, {"url", pr->url}}
                   : nlohmann::ordered_json(nullptr);
    if (plan->failed_in_to) {
      out["failedInTarget"] = {{"commit", plan->failed_in_to->commit},
                               {"time", FormatRfc3339(plan->failed_in_to->time)},
                               {"reason", plan->failed_in_to->reason}};
    } else {
      out["failedInTarget"] = nullptr;
    }
    if (preview.row) {
      nlohmann::ordered_json gates = nlohmann::ordered_json::array();
      for (const auto& g : preview.row->gates) {
        gates.push_back({{"name", g.name},
                         {"result", std::string(gates::VerdictName(g.verdict))},
                         {"reason", g.reason}});
      }
      out["preview"] = {{"result", std::string(gates::VerdictName(preview.row->verdict))},
                        {"gates", gates}};
    } else {
      out["preview"] = {{"error", preview.error}};
    }
    std::cout << DumpJson(out, 2) << "\n";
    return kExitOk;
  }

  std::cout << "promote " << plan->app << " " << (plan->version.empty() ? "" : plan->version + " ")
            << plan->digest << "\n  from " << plan->from << " (verified at "
            << ShortId(plan->upstream_commit) << ") to " << plan->to << " (was "
            << (plan->previous_version.empty() ? plan->previous_digest : plan->previous_version)
            << ")\n"
            << "commit " << ShortId(commit) << " on branch " << plan->branch << " (on " << o.remote
            << "/" << o.branch << " at " << ShortId(plan->base) << ")\n\n";
  PrintGateTable(preview);
  std::cout << "\n";
  if (pr) {
    std::cout << "opened pull request " << pr->number << ": " << pr->url << "\n"
              << "it needs " << preview.approval << "\n";
  } else {
    std::cout << "next:\n";
    std::vector<std::string> steps;
    if (!pushed) {
      steps.push_back("git push " + o.remote + " " + plan->branch +
                      "   (or run again with --push)");
    }
    steps.push_back("open a pull request from " + plan->branch + " into " + o.branch +
                    (pushed ? " (pushed to " + o.remote + ")" : "") +
                    "; with `forge:` in sluice.yaml, --open-pr does it");
    steps.push_back("it needs " + preview.approval);
    steps.push_back(
        "once it is merged, the controller judges and deploys it; `sluice status "
        "--env " +
        plan->to + "` follows it");
    for (size_t i = 0; i < steps.size(); ++i) {
      std::cout << "  " << i + 1 << ". " << steps[i] << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

Runner AddPromoteCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "promote",
      "Pin in --to the artifact that --from has verified: a commit on a new branch, pushed and "
      "opened as a pull request on request");
  cmd->footer(
      "Runs in a local clone of the environments repository. It fetches --branch and the record "
      "(refs/notes/sluice, refs/sluice/*) from --remote, reads the digest --from last verified "
      "(its last-known-good), and writes environments/<to>/apps/<app>.yaml with that digest, "
      "version and source plus promotedFrom, keeping every comment and the deploy section. The "
      "commit goes on a new branch sluice/promote/<app>-<to>-<digest> based on --branch as the "
      "remote has it (your working tree is not touched), with the trailer\n"
      "  Sluice-Promote: <app> <digest> <from> -> <to>\n"
      "and prints the gate table of `sluice plan` for it. Author and committer come from git "
      "config (user.name, user.email). The message and the pull request body come from "
      "templates/promotion-commit.md and templates/promotion-pr.md of the repository when it has "
      "them, else from Sluice's defaults (mustache).\n"
      "--open-pr opens the pull request (GitHub) or merge request (GitLab) through `forge:` of "
      "the controller's configuration file (--config), with the token from --forge-token-file, "
      "forge.tokenFile or SLUICE_FORGE_TOKEN (never from the repository).\n"
      "Examples:\n"
      "  sluice promote api --from staging --to prod            # branch + commit, then push "
      "yourself\n"
      "  sluice promote api --from staging --to prod --open-pr  # push and open the PR\n"
      "Exit codes: 0 promoted (or nothing to promote: --to already pins that digest), 3 refused "
      "(nothing verified in --from, --to not after --from in the pipeline, no pin in --to), 1 "
      "error, 2 usage.");
  auto o = std::make_shared<PromoteOptions>();
  cmd->add_option("APP", o->app, "The app to promote")->required();
  cmd->add_option("--from", o->from, "The environment whose verified digest is promoted")
      ->required();
  cmd->add_option("--to", o->to, "The environment to pin it in (after --from in the pipeline)")
      ->required();
  cmd->add_option("--repo", o->repo, "A local clone of the environments repository")
      ->capture_default_str();
  cmd->add_option("--remote", o->remote, "The clone's remote to fetch from and push to")
      ->capture_default_str();
  cmd->add_option("--branch", o->branch,
                  "The branch the promotion targets (base of the new "
                  "branch, target of the pull request)")
      ->capture_default_str();
  cmd->add_option("--workdir", o->workdir,
                  "Cache for the gate preview (default: ~/.cache/sluice/<clone>-promote)");
  cmd->add_option("--controller-keys", o->controller_keys,
                  "The controllers' public keys (ssh-ed25519 lines): the gate preview believes "
                  "only record entries they signed (trust.controllerKeys)");
  cmd->add_flag("--push", o->push, "Push the new branch to --remote");
  cmd->add_flag("--open-pr", o->open_pr,
                "Push, then open the pull/merge request (needs --config with forge:)");
  cmd->add_option("--config", o->config_path,
                  "The controller's YAML configuration; its forge: is used by --open-pr");
  cmd->add_option("--forge-token-file", o->forge_token_file,
                  "File holding the forge API token (overrides forge.tokenFile)");
  cmd->add_option("--format", o->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->add_option("--log-level", o->log_level, "Log detail on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  return [o] { return Run(*o); };
}

}  // namespace sluice::cli
