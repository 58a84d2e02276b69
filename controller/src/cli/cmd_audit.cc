#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/trust_config.h"
#include "core/json_dump.h"
#include "core/strings.h"
#include "record/verify.h"
#include "reports/audit.h"
#include "reports/audit_reader.h"
#include "reports/audit_render.h"
#include "reports/delivery.h"

namespace sluice::cli {

namespace {

// `sluice audit --verify`: every entry of the repository's record against
// the listed keys (not this workdir's own): exit 0 all verify, 3 some do not.
int RunVerify(const CommonOptions& opts) {
  if (opts.trust.controller_keys_file.empty()) {
    PrintError("--verify needs --controller-keys FILE: the public keys of every controller");
    return kExitUsage;
  }
  std::ifstream in(opts.trust.controller_keys_file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    PrintError("cannot read --controller-keys " + opts.trust.controller_keys_file);
    return kExitError;
  }
  auto keys = crypto::ParsePublicKeys(text.str(), opts.trust.controller_keys_file);
  if (!keys.ok()) {
    PrintError(keys.status().message());
    return kExitError;
  }
  auto ws = OpenSyncedWorkspace(opts);
  if (!ws.ok()) return WorkspaceFailure(opts, ws.status());
  auto result = record::VerifyRecord(**ws, *keys);
  if (!result.ok()) {
    PrintError(result.status().message());
    return kExitError;
  }
  if (opts.format == "json") {
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& p : result->problems) problems.push_back(nlohmann::json::parse(p.ToJson()));
    nlohmann::json out = {{"lines", result->lines},
                          {"refs", result->refs},
                          {"verified", result->problems.empty()},
                          {"problems", problems}};
    std::cout << DumpJson(out, 2) << "\n";
  } else {
    std::cout << "checked " << result->lines << " record lines and " << result->refs
              << " record refs against " << keys->size() << " key(s): "
              << (result->problems.empty()
                      ? "all verify"
                      : std::to_string(result->problems.size()) + " do not verify")
              << "\n";
    for (const auto& p : result->problems) {
      std::cout << "  " << p.kind << " " << (p.kind == "ref" ? p.ref : p.env + "/" + p.app)
                << " on " << ShortId(p.commit) << ": " << p.reason << "\n";
    }
  }
  return result->problems.empty() ? kExitOk : kExitBlocked;
}

}  // namespace

Runner AddAuditCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "audit",
      "Print the release history from the record in Git: every change with who proposed "
      "and approved it, its gates, when it was applied and verified, its outcome and "
      "rollbacks; the exceptions first; and the DORA figures");
  cmd->footer(
      "Read-only: fetches the repository and its record (refs/notes/sluice).\n"
      "Exceptions: changes the controller applied in an environment that requires approval\n"
      "with no recorded approver, or with a gate that did not pass. An environment requires\n"
      "approval when named by --require-approval, or (by default) when any of its events\n"
      "carried an `approval` gate. Definitions: docs/record.md, \"sluice audit\".\n"
      "Example:\n"
      "  sluice audit --repo git://git.example.com/environments --env prod \\\n"
      "      --since 2026-07-01 --until 2026-10-01 --format md > q3-prod-audit.md\n"
      "  sluice audit --repo ./environments --format csv > changes.csv\n"
      "  sluice audit --repo ./environments --env prod --since 2026-07-01 --format html > "
      "prod-delivery.html\n"
      "  sluice audit --repo ./environments --verify --controller-keys replicas.pub\n"
      "Untrusted record entries (unsigned, or signed by no listed key) are left out of the\n"
      "history and listed in their own section. --verify exits 3 when any entry does not\n"
      "verify (--format json for a machine-readable list).");
  auto opts = std::make_shared<CommonOptions>();
  opts->format = "md";
  auto env = std::make_shared<std::string>();
  auto app_name = std::make_shared<std::string>();
  auto since = std::make_shared<std::string>();
  auto until = std::make_shared<std::string>();
  auto require = std::make_shared<std::vector<std::string>>();
  auto verify = std::make_shared<bool>(false);
  AddCommonOptions(*cmd, *opts, /*with_format=*/false);
  AddTrustOptions(*cmd, *opts, /*with_signing_key=*/false);
  cmd->add_option("--format", opts->format,
                  "Output format: md (Markdown), json, csv, or html (one self-contained page "
                  "of delivery charts per environment: deploys per week, lead time, change "
                  "failure rate, time to restore)")
      ->check(CLI::IsMember({"md", "json", "csv", "html"}))
      ->capture_default_str();
  cmd->add_option("--env", *env, "Only this environment");
  cmd->add_option("--app", *app_name, "Only this app");
  cmd->add_option("--since", *since,
                  "Only changes from this time (RFC 3339, or YYYY-MM-DD = midnight UTC)");
  cmd->add_option("--until", *until, "Only changes before this time (RFC 3339 or YYYY-MM-DD)");
  cmd->add_option("--require-approval", *require,
                  "An environment whose policy requires approval (repeatable; default: every "
                  "environment whose events carried an `approval` gate)");
  cmd->add_flag("--verify", *verify,
                "Check the signature of every record entry of the repository (every note line, "
                "every deployed/lkg/applied/candidate ref) against --controller-keys only; "
                "exit 3 when one does not verify");
  return [opts, env, app_name, since, until, require, verify] {
    ConfigureLogging(opts->log_level);
    if (*verify) return RunVerify(*opts);
    reports::AuditOptions options;
    options.filter.env = *env;
    options.filter.app = *app_name;
    if (Status s = ParseTimeRange(*since, *until, &options.filter.since, &options.filter.until);
        !s.ok()) {
      PrintError(s.message());
      return kExitUsage;
    }
    options.require_approval.insert(require->begin(), require->end());
    auto ws = OpenSyncedWorkspace(*opts);
    if (!ws.ok()) return WorkspaceFailure(*opts, ws.status());
    auto report = reports::ReadAudit(**ws, options);
    if (!report.ok()) {
      PrintError(report.status().message());
      return kExitError;
    }
    if (opts->format == "json") {
      std::cout << reports::RenderAuditJson(*report);
    } else if (opts->format == "csv") {
      std::cout << reports::RenderAuditCsv(*report);
    } else if (opts->format == "html") {
      std::cout << reports::RenderDeliveryHtml(
          *report, "Delivery: " + (env->empty() ? std::string("every environment") : *env));
    } else {
      std::cout << reports::RenderAuditMarkdown(*report);
    }
    return kExitOk;
  };
}

}  // namespace sluice::cli
