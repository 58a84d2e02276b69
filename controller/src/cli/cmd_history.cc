#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trust_config.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "reports/history.h"

namespace sluice::cli {
namespace {

// "verified", "FAILED (verification) at ...", "rolled back by 1a2b3c4d5e6f".
std::string Result(const reports::Release& r) {
  std::string out;
  if (r.verified) {
    out = "verified";
  } else if (r.failed_at) {
    out = "FAILED at " + FormatRfc3339(*r.failed_at);
  } else if (r.outcome == "failed") {
    out = "FAILED";
  } else {
    out = r.outcome.empty() ? "unknown" : r.outcome;
  }
  if (r.verified && r.failed_at) out += ", then FAILED at " + FormatRfc3339(*r.failed_at);
  if (!r.rolled_back_by.empty()) out += ", rolled back by " + ShortId(r.rolled_back_by);
  if (!r.rolls_back.empty()) out += "; a rollback of " + ShortId(r.rolls_back);
  return out;
}

nlohmann::ordered_json ToJson(const reports::Release& r) {
  auto time_or_null = [](const std::optional<TimePoint>& t) {
    return t ? nlohmann::ordered_json(FormatRfc3339(*t)) : nlohmann::ordered_json(nullptr);
  };
  return {{"commit", r.commit},
          {"version", r.version},
          {"digest", r.digest},
          {"time", FormatRfc3339(r.when)},
          {"verified", r.verified},
          {"verifiedAt", time_or_null(r.verified_at)},
          {"failedAt", time_or_null(r.failed_at)},
          {"outcome", r.outcome},
          {"running", r.running},
          {"lkg", r.lkg},
          {"subject", r.subject},
          {"proposer", r.proposer},
          {"approvers", r.approvers},
          {"approval", r.approval},
          {"rollsBack", r.rolls_back},
          {"rolledBackBy", r.rolled_back_by},
          {"reason", r.reason}};
}

void PrintText(const std::string& env, const std::string& app,
               const std::vector<reports::Release>& releases, size_t shown) {
  if (releases.empty()) {
    std::cout << "no release of " << env << "/" << app
              << " is recorded (the controller has applied nothing there yet)\n";
    return;
  }
  std::cout << env << "/" << app << ": " << releases.size() << " release"
            << (releases.size() == 1 ? "" : "s") << ", newest first"
            << (shown < releases.size() ? " (the last " + std::to_string(shown) + ")" : "")
            << "; > running, * last-known-good\n";
  for (size_t i = 0; i < shown; ++i) {
    const reports::Release& r = releases[i];
    std::string mark = std::string(r.running ? ">" : " ") + (r.lkg ? "*" : " ");
    std::cout << mark << " " << ShortId(r.commit) << "  " << FormatRfc3339(r.when) << "  "
              << (r.version.empty() ? "-" : r.version) << "  " << r.digest.substr(0, 19) << "\n"
              << "     " << Result(r) << "\n";
    if (!r.subject.empty()) std::cout << "     \"" << r.subject << "\"\n";
    std::cout << "     proposed by " << (r.proposer.empty() ? "unknown" : r.proposer)
              << "; approved by " << NamesOrNobody(r.approvers)
              << (r.approval.empty() ? "" : " (" + r.approval + ")") << "\n";
  }
  std::cout << "\nroll back to a verified release:\n  sluice rollback " << env << " " << app
            << " --to COMMIT --push --sign\n"
            << "(without --to: the last-known-good; when that is what runs, the release "
               "verified before it)\n";
}

}  // namespace

Runner AddHistoryCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "history",
      "List the releases of APP in ENV, newest first: commit, when, version, digest, whether it "
      "was verified, who proposed and who approved it — what `sluice rollback --to` can name");
  cmd->footer(
      "Read-only: fetches the repository and its record (refs/notes/sluice, refs/sluice/*) and "
      "lists every change the controller started to apply in ENV/APP (blocked and waiting "
      "changes never ran and are not releases). Only record entries signed by a controller key "
      "count (--controller-keys).\n"
      "Each release shows its commit (12 hex; `rollback --to` takes it), when the controller "
      "started to apply it (UTC), its version and digest, and what happened: verified, FAILED "
      "(and when), rolled back by a later commit. `>` marks what runs now, `*` the "
      "last-known-good. `rollback --to` accepts only a release marked verified.\n"
      "Examples:\n"
      "  sluice history prod api --repo git://git.example.com/environments\n"
      "  sluice history prod api --repo ./environments --format json --limit 0\n"
      "  sluice rollback prod api --to 1a2b3c4d5e6f --push --sign --repo ...\n"
      "Exit codes: 0 listed (an empty history too), 1 error, 2 usage.");
  auto opts = std::make_shared<CommonOptions>();
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto limit = std::make_shared<size_t>(20);
  cmd->add_option("ENV", *env, "The environment")->required();
  cmd->add_option("APP", *app_name, "The app")->required();
  cmd->add_option("--limit", *limit, "Show at most this many releases (0: all)")
      ->capture_default_str();
  AddCommonOptions(*cmd, *opts, /*with_format=*/true);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  return [opts, env, app_name, limit] {
    ConfigureLogging(opts->log_level);
    auto ws = OpenSyncedWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    auto releases = reports::ReadHistory(**ws, *env, *app_name);
    if (!releases.ok()) {
      PrintError(releases.status().message());
      return kExitError;
    }
    const size_t shown =
        *limit == 0 ? releases->size() : std::min<size_t>(*limit, releases->size());
    if (opts->format == "json") {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (size_t i = 0; i < shown; ++i) out.push_back(ToJson((*releases)[i]));
      std::cout << DumpJson(out, 2) << "\n";
      return kExitOk;
    }
    PrintText(*env, *app_name, *releases, shown);
    return kExitOk;
  };
}

}  // namespace sluice::cli
