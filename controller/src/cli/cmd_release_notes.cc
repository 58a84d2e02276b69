#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trust_config.h"
#include "config/pin.h"
#include "config/repository_config.h"
#include "record/refs.h"
#include "reports/audit_reader.h"
#include "reports/markdown_template.h"
#include "reports/release_notes.h"

namespace sluice::cli {
namespace {

template <class T>
T ValueOr(Result<T> r, T fallback) {
  return r.ok() ? std::move(*r) : std::move(fallback);
}

// Decides which change the notes are about and fills `data` from the
// repository and the audit of (env, app).
Status Gather(record::Workspace& ws, const std::string& env, const std::string& app,
              reports::ReleaseNotesData* data) {
  reports::AuditOptions options;
  options.filter.env = env;
  options.filter.app = app;
  auto report = reports::ReadAudit(ws, options);
  if (!report.ok()) return report.status();

  std::lock_guard lock(ws.mutex());
  git::Repository& repo = ws.repo();
  const std::string path = config::PinPath(env, app);
  auto head = repo.ResolveRef("refs/remotes/origin/" + ws.branch());
  if (!head.ok()) return head.status().WithContext("branch " + ws.branch());
  auto head_blob = repo.BlobId(*head, path);
  if (!head_blob.ok()) {
    return Status::NotFound(path + " does not exist on branch " + ws.branch() +
                            ": check the environment and app names");
  }
  std::string deployed = ValueOr<std::string>(repo.ResolveRef(record::DeployedRef(env, app)), "");
  std::string deployed_blob;
  if (!deployed.empty()) deployed_blob = ValueOr<std::string>(repo.BlobId(deployed, path), "");

  std::string to;
  std::string from;
  if (deployed_blob != *head_blob) {
    data->pending = true;
    to = *head;
    // The controller keeps working on the commit that first carried this pin.
    if (auto cand = repo.ResolveRef(record::CandidateRef(env, app)); cand.ok()) {
      if (ValueOr<std::string>(repo.BlobId(*cand, path), "") == *head_blob) to = *cand;
    }
    from = deployed;
  } else {
    to = deployed;
    // What ran before: the latest other change the controller applied.
    const reports::Change* last = nullptr;
    for (const auto& c : report->changes) {
      if (c.commit == to) break;
      if (c.applied) last = &c;
    }
    if (last) from = last->commit;
  }
  data->to = reports::ReadReleaseSide(repo, to, env, app);
  data->from = reports::ReadReleaseSide(repo, from, env, app);
  for (const auto& c : report->changes) {
    if (c.commit == to) data->change = c;
  }
  return Status::Ok();
}

}  // namespace

Runner AddReleaseNotesCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "release-notes",
      "Write release notes for the pending change of ENV/APP (or the last one when nothing "
      "is pending): versions, source commit range, approvals, gates, deployment notes");
  cmd->footer(
      "The template is --template FILE when given, else templates/release-notes.md in the "
      "environments repository at the head of --branch when it exists there, else the "
      "built-in one (the same file in Sluice's source). Variables: see that file.\n"
      "Example:\n  sluice release-notes prod api --repo git://git.example.com/environments > "
      "notes.md");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto tmpl_path = std::make_shared<std::string>();
  cmd->add_option("ENV", *env, "The environment")->required();
  cmd->add_option("APP", *app_name, "The app")->required();
  AddCommonOptions(*cmd, *opts, /*with_format=*/false);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  cmd->add_option("--template", *tmpl_path, "A mustache template to render instead")
      ->check(CLI::ExistingFile);
  return [opts, env, app_name, tmpl_path] {
    ConfigureLogging(opts->log_level);
    std::string tmpl;
    if (!tmpl_path->empty()) {
      auto text = ReadTemplateFile(*tmpl_path);
      if (!text.ok()) {
        PrintError(text.status().message());
        return kExitError;
      }
      tmpl = std::move(*text);
    }
    auto ws = OpenSyncedWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    if (tmpl_path->empty())
      tmpl = RepositoryTemplate(**ws, reports::kReleaseNotesTemplatePath,
                                reports::DefaultReleaseNotesTemplate());
    reports::ReleaseNotesData data;
    data.env = *env;
    data.app = *app_name;
    if (Status s = Gather(**ws, *env, *app_name, &data); !s.ok()) {
      PrintError(s.message());
      return kExitError;
    }
    auto text = reports::RenderReleaseNotes(tmpl, data);
    if (!text.ok()) {
      PrintError(text.status().message());
      return kExitError;
    }
    std::cout << *text;
    return kExitOk;
  };
}

}  // namespace sluice::cli
