#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "approval/forge.h"
#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_parts.h"
#include "cli/process_secrets.h"
#include "config/repository_config.h"
#include "config/settings.h"
#include "core/json_dump.h"
#include "core/time_format.h"
#include "engine/promotion.h"
#include "engine/reconciler.h"
#include "engine/refs.h"

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

// The gate table of the promotion as `sluice plan` computes it: the clone
// (where the promotion branch now exists, beside the mirrored record) is the
// repository a throw-away controller workspace fetches from, and the branch
// is its tracked branch. Same Plan/Judge code as the controller; writes
// nothing but that workspace's cache.
engine::PromotionPreview Preview(const PromoteOptions& o, const std::string& clone_path,
                                 const engine::PromotionPlan& plan, const std::string& commit) {
  engine::PromotionPreview preview;
  preview.commit = commit;
  EngineParts parts;
  preview.at = parts.clock.Now();
  std::string workdir =
      o.workdir.empty() ? engine::DefaultWorkdir(clone_path) + "-promote" : o.workdir;
  engine::TrustOptions trust;
  trust.controller_keys_file = o.controller_keys;
  auto ws = engine::Workspace::Open(workdir, clone_path, plan.branch, trust);
  if (!ws.ok()) {
    preview.error = ws.status().message();
    return preview;
  }
  CancelToken cancel;
  engine::Reconciler reconciler(**ws, parts.runner, parts.verifier, parts.http, parts.clock, cancel,
                                {});
  auto rows = reconciler.Plan(plan.to, plan.app, preview.at);
  if (!rows.ok()) {
    preview.error = rows.status().message();
    return preview;
  }
  // Who must approve: the policy in force at the promotion branch's head,
  // found by the same rule the controller judges with.
  if (auto head = (*ws)->Head(); head.ok()) {
    preview.approval = engine::ApprovalRequirement(reconciler.PolicyFor(plan.to, *head), plan.to);
  } else {
    preview.approval = "unknown: " + head.status().message();
  }
  for (auto& r : *rows) {
    if (r.env == plan.to && r.app == plan.app) preview.row = std::move(r);
  }
  // Judged before any review, the branch commit looks like a direct push;
  // say instead what the merge will need.
  if (preview.row) {
    for (auto& g : preview.row->gates) {
      if (g.name == "approval" && g.verdict == gates::Verdict::kBlock) {
        g.reason = "not approved yet: needs " + preview.approval;
      }
    }
  }
  if (!preview.row)
    preview.error =
        "the controller sees no pending change for " + plan.to + "/" + plan.app + " on the branch";
  return preview;
}

// Whether `tip` is exactly the commit this promotion would write: one
// commit on the plan's base changing only the pin, to the same content.
bool IsSamePromotion(const git::Repository& r, const std::string& tip,
                     const engine::PromotionPlan& plan) {
  auto info = r.GetCommit(tip);
  if (!info.ok() || info->parents != std::vector<std::string>{plan.base}) return false;
  auto content = r.ReadFile(tip, plan.pin_path);
  if (!content.ok() || *content != plan.new_content) return false;
  auto diff = r.DiffTrees(plan.base, tip, "");
  return diff.ok() && diff->size() == 1 && (*diff)[0].path == plan.pin_path;
}

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

int Run(const PromoteOptions& o) {
  ConfigureLogging(o.log_level);
  if (o.repo.find("://") != std::string::npos) {
    PrintError("--repo " + o.repo +
               ": promote works in a local clone of the environments repository (it commits "
               "there); git clone it, then run sluice promote inside it or give its path");
    return kExitUsage;
  }
  std::error_code ec;
  const std::string clone_path = std::filesystem::absolute(o.repo, ec).lexically_normal().string();
  auto repo = git::Repository::Open(clone_path);
  if (!repo.ok()) {
    PrintError("--repo " + o.repo + " is not a git clone: " + repo.status().message());
    return kExitError;
  }
  git::Repository& r = **repo;

  // The record as the controller pushed it: the judgement below is made
  // from what it recorded, not from anything local.
  const std::string tracking = "refs/remotes/" + o.remote + "/" + o.branch;
  if (Status s = r.Fetch({"+refs/heads/" + o.branch + ":" + tracking,
                          std::string("+") + engine::kNotesRef + ":" + engine::kNotesRef,
                          "+refs/sluice/*:refs/sluice/*"},
                         o.remote);
      !s.ok()) {
    PrintError(s.WithContext("fetch the branch and the record from " + o.remote).message());
    return kExitError;
  }
  auto base = r.ResolveRef(tracking);
  if (!base.ok()) {
    PrintError("branch " + o.branch + " does not exist on " + o.remote +
               " (choose the target branch with --branch)");
    return kExitError;
  }

  std::optional<std::vector<crypto::PublicKey>> keys;
  if (!o.controller_keys.empty()) {
    std::ifstream in(o.controller_keys);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = crypto::ParsePublicKeys(text.str(), o.controller_keys);
    if (!in || !parsed.ok()) {
      PrintError(!in ? "cannot read --controller-keys " + o.controller_keys
                     : parsed.status().message());
      return kExitError;
    }
    keys = std::move(*parsed);
  }
  auto plan = engine::PlanPromotion(r, *base, o.app, o.from, o.to, keys ? &*keys : nullptr);
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

  // Everything that can refuse is checked before anything is written.
  std::optional<ControllerSecrets> forge;
  if (o.open_pr) {
    config::SecretSettings settings;
    if (!o.config_path.empty()) {
      auto read = ReadSecretSettingsFile(o.config_path);
      if (!read.ok()) {
        PrintError(read.status().message());
        return kExitError;
      }
      settings = std::move(*read);
      settings.notify.clear();  // promote notifies nobody
    }
    if (!settings.forge) {
      PrintError(
          "--open-pr needs a forge: pass --config FILE whose forge: {type: github|gitlab, api: "
          "URL, repo: owner/name, tokenFile: FILE} names it (the controller's configuration, "
          "see docs/configuration.md; sluice.yaml cannot), or push with --push and open the pull "
          "request yourself");
      return kExitError;
    }
    auto secrets = LoadControllerSecrets(settings, o.forge_token_file);
    if (!secrets.ok()) {
      PrintError(secrets.status().message());
      return kExitError;
    }
    forge = std::move(*secrets);
  }
  auto who = r.DefaultIdentity();
  if (!who.ok()) {
    PrintError(who.status().message());
    return kExitError;
  }
  auto message = engine::RenderPromotionCommit(
      engine::PromotionTemplate(r, *base, "promotion-commit.md"), *plan);
  if (!message.ok()) {
    PrintError(message.status().message() + " (templates/promotion-commit.md)");
    return kExitError;
  }
  const std::string branch_ref = "refs/heads/" + plan->branch;
  std::optional<std::string> commit;
  if (auto existing = r.ResolveRef(branch_ref); existing.ok()) {
    if (IsSamePromotion(r, *existing, *plan)) {
      // Run again after a failed push or PR: the same commit, nothing new.
      commit = *existing;
    } else {
      // A branch of an earlier promotion of this digest may be moved only
      // when everything on it is already on the target branch.
      auto merged = r.IsAncestor(*existing, *base);
      if (!merged.ok() || !*merged) {
        PrintError("branch " + plan->branch + " already exists with commits that are not on " +
                   o.branch + " (an open promotion of this digest?); finish or delete it first: " +
                   "git branch -D " + plan->branch);
        return kExitError;
      }
      if (r.CurrentBranch() == plan->branch) {
        PrintError("branch " + plan->branch + " is checked out; switch to another branch first");
        return kExitError;
      }
    }
  }
  if (!commit) {
    auto created =
        r.CreateCommit(*base, {{plan->pin_path, plan->new_content}}, *message, *who, *who);
    if (!created.ok()) {
      PrintError(created.status().message());
      return kExitError;
    }
    commit = *created;
    if (Status s = r.SetRef(branch_ref, *commit, "sluice promote"); !s.ok()) {
      PrintError(s.message());
      return kExitError;
    }
  }

  engine::PromotionPreview preview = Preview(o, clone_path, *plan, *commit);

  bool pushed = false;
  if (o.push || o.open_pr) {
    Status s = r.Push({branch_ref + ":" + branch_ref}, o.remote);
    if (!s.ok()) {
      PrintError(s.IsConflict()
                     ? o.remote + " already has a branch " + plan->branch +
                           " with other commits; delete it there or merge it, then run again (" +
                           s.message() + ")"
                     : s.message());
      return kExitError;
    }
    (void)r.SetRef("refs/remotes/" + o.remote + "/" + plan->branch, *commit, "sluice promote");
    pushed = true;
  }

  std::optional<approval::OpenedPullRequest> pr;
  if (o.open_pr) {
    EngineParts parts;
    auto client = approval::MakeForge(*forge->forge, parts.http, forge->forge_token, &parts.clock);
    if (!client.ok()) {
      PrintError(client.status().message());
      return kExitError;
    }
    auto body = engine::RenderPromotionPr(engine::PromotionTemplate(r, *base, "promotion-pr.md"),
                                          *plan, preview);
    if (!body.ok()) {
      PrintError(body.status().message() + " (templates/promotion-pr.md)");
      return kExitError;
    }
    std::string title = message->substr(0, message->find('\n'));
    auto opened = (*client)->OpenPullRequest({title, *body, plan->branch, o.branch});
    if (!opened.ok()) {
      PrintError("branch " + plan->branch +
                 " is pushed, but the pull request was not opened: " + opened.status().message());
      return kExitError;
    }
    pr = *opened;
  }

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
                               {"commit", *commit},
                               {"pushed", pushed},
                               {"approval", preview.approval}};
    out["pr"] = pr ? nlohmann::ordered_json{{"number", pr->number}, {"url", pr->url}}
                   : nlohmann::ordered_json(nullptr);
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
            << plan->upstream_commit.substr(0, 12) << ") to " << plan->to << " (was "
            << (plan->previous_version.empty() ? plan->previous_digest : plan->previous_version)
            << ")\n"
            << "commit " << commit->substr(0, 12) << " on branch " << plan->branch << " (on "
            << o.remote << "/" << o.branch << " at " << plan->base.substr(0, 12) << ")\n\n";
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
