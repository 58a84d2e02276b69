#include "adapters/helm.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

namespace sluice::adapters {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr size_t kTailLines = 20;
// JSON documents are parsed whole: keep far more than the default tail.
constexpr size_t kQueryOutputCap = 16 * 1024 * 1024;
constexpr milliseconds kKillGrace = kHelmKillGrace;
constexpr milliseconds kMaxExtraWait = std::chrono::seconds(30);

std::string PinPath(const ApplyRequest& req) {
  return "environments/" + req.env + "/apps/" + req.app + ".yaml";
}

// "image.digest", "a_b.c-d": non-empty segments of letters, digits, '_', '-'.
// Anything else could change the meaning of a --set-string expression.
bool IsDottedKey(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  char prev = 0;
  for (char c : key) {
    if (c == '.' && prev == '.') return false;
    if (c != '.' && c != '_' && c != '-' && !std::isalnum(static_cast<unsigned char>(c))) {
      return false;
    }
    prev = c;
  }
  return true;
}

// --set-string splits on ',' and treats '\' as an escape (helm's strvals
// parser); neither may change what the value says.
std::string EscapeSetValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == ',') out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> CommonQueryTail(const config::HelmDeploy& helm) {
  std::vector<std::string> args = {"--namespace", HelmNamespace(helm), "-o", "json"};
  if (!helm.kube_context.empty()) {
    args.push_back("--kube-context");
    args.push_back(helm.kube_context);
  }
  return args;
}

const json* Find(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}

std::string StringAt(const json& obj, std::string_view key) {
  const json* v = Find(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int IntAt(const json& obj, std::string_view key) {
  const json* v = Find(obj, key);
  return v != nullptr && v->is_number_integer() ? v->get<int>() : 0;
}

std::optional<std::string> LookupDotted(const json& root, std::string_view key) {
  if (key.empty()) return std::nullopt;
  const json* node = &root;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    std::string_view part =
        key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    node = Find(*node, part);
    if (node == nullptr) return std::nullopt;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (!node->is_string()) return std::nullopt;
  return node->get<std::string>();
}

milliseconds UpgradeProcessTimeout(milliseconds helm_timeout) {
  return HelmUpgradeProcessTimeout(helm_timeout);
}

Result<std::string> HelmProgram(const std::map<std::string, std::string>& env) {
  auto path = env.find("PATH");
  return process::FindOnPath("helm", path == env.end() ? std::string() : path->second);
}

// The chart argument: a path of the checkout becomes absolute; a path
// leaving it is refused; references (oci://, repo/name) pass unchanged.
Result<std::string> ChartArg(const ApplyRequest& req, const std::string& chart) {
  std::string what = PinPath(req) + ": deploy.helm.chart";
  if (chart.empty()) return Status::InvalidArgument(what + " is empty");
  if (chart.find("://") != std::string::npos) return chart;
  bool looks_like_path = chart.front() == '/' || chart.front() == '.' ||
                         chart.find('\\') != std::string::npos ||
                         chart.find("..") != std::string::npos;
  if (looks_like_path) return ResolveCheckoutPath(req.checkout_dir, chart, what);
  // "repo/name" is a repository reference unless the commit has that path:
  // helm itself looks for a local chart first.
  std::error_code ec;
  if (config::IsContainedPath(chart) &&
      fs::symlink_status(fs::path(req.checkout_dir) / chart, ec).type() !=
          fs::file_type::not_found &&
      !ec) {
    return ResolveCheckoutPath(req.checkout_dir, chart, what);
  }
  return chart;
}

}  // namespace

// Helm waits up to `timeout` itself and, with --atomic, as long again for
// the rollback: the process is only killed once both had their chance.
milliseconds HelmUpgradeProcessTimeout(milliseconds helm_timeout) {
  if (helm_timeout.count() <= 0) return milliseconds(0);
  return helm_timeout * 2 + std::min(helm_timeout, kMaxExtraWait);
}

std::string HelmNamespace(const config::HelmDeploy& helm) {
  return helm.namespace_.empty() ? std::string("default") : helm.namespace_;
}

Result<std::vector<std::string>> BuildHelmUpgradeArgs(const ApplyRequest& req, HelmMode mode) {
  if (req.pin == nullptr) return Status::InvalidArgument("helm apply without a pin");
  const config::Pin& pin = *req.pin;
  if (!pin.deploy.helm.has_value()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.helm is missing");
  }
  const config::HelmDeploy& helm = *pin.deploy.helm;
  if (helm.release.empty()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.helm.release is empty");
  }
  if (!IsDottedKey(helm.digest_key)) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.helm.digestKey \"" + helm.digest_key +
                                   "\" must be a dotted key such as image.digest");
  }
  if (!helm.repository_key.empty() && !IsDottedKey(helm.repository_key)) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.helm.repositoryKey \"" +
                                   helm.repository_key +
                                   "\" must be a dotted key such as image.repository");
  }
  // A value starting with '-' would be read by helm as a flag
  // ("--post-renderer=..."), not as the release, chart, version or context.
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"release", &helm.release},
                             {"chart", &helm.chart},
                             {"version", &helm.version},
                             {"namespace", &helm.namespace_},
                             {"kubeContext", &helm.kube_context}}) {
    if (!value->empty() && value->front() == '-') {
      return Status::InvalidArgument(PinPath(req) + ": deploy.helm." + name + " \"" + *value +
                                     "\" must not start with '-'");
    }
  }
  if (req.checkout_dir.empty() || req.checkout_dir[0] != '/') {
    return Status::InvalidArgument("helm apply needs an absolute checkout directory, got \"" +
                                   req.checkout_dir + "\"");
  }
  Result<std::string> chart = ChartArg(req, helm.chart);
  if (!chart.ok()) return chart.status();

  std::vector<std::string> args = {"upgrade", "--install", helm.release, *chart};
  if (!helm.version.empty()) {
    args.push_back("--version");
    args.push_back(helm.version);
  }
  args.insert(args.end(), {"--namespace", HelmNamespace(helm), "--atomic", "--wait", "--timeout",
                           GoDuration(helm.timeout)});
  for (size_t i = 0; i < helm.values.size(); ++i) {
    Result<std::string> file =
        ResolveCheckoutPath(req.checkout_dir, helm.values[i],
                            PinPath(req) + ": deploy.helm.values[" + std::to_string(i) + "]");
    if (!file.ok()) return file.status();
    std::error_code ec;
    if (!fs::is_regular_file(*file, ec)) {
      return Status::InvalidArgument(PinPath(req) + ": deploy.helm.values[" + std::to_string(i) +
                                     "] \"" + helm.values[i] + "\" is not a regular file");
    }
    args.push_back("-f");
    args.push_back(*file);
  }
  args.push_back("--set-string");
  args.push_back(helm.digest_key + "=" + EscapeSetValue(pin.artifact.digest));
  if (!helm.repository_key.empty()) {
    args.push_back("--set-string");
    args.push_back(helm.repository_key + "=" + EscapeSetValue(pin.artifact.image));
  }
  if (std::optional<int> weight = CanaryWeight(req)) {
    // An integer, so --set (not --set-string); the key is checked like digestKey.
    const std::string& key = pin.deploy.strategy.weight_value;
    if (!IsDottedKey(key)) {
      return Status::InvalidArgument(PinPath(req) + ": deploy.strategy.canary.weightValue \"" +
                                     key + "\" must be a dotted key such as canary.weight");
    }
    args.push_back("--set");
    args.push_back(key + "=" + std::to_string(*weight));
  }
  if (!helm.kube_context.empty()) {
    args.push_back("--kube-context");
    args.push_back(helm.kube_context);
  }
  if (mode == HelmMode::kDryRun) args.push_back("--dry-run");
  return args;
}

std::vector<std::string> BuildHelmStatusArgs(const config::HelmDeploy& helm) {
  std::vector<std::string> args = {"status", helm.release};
  std::vector<std::string> tail = CommonQueryTail(helm);
  args.insert(args.end(), tail.begin(), tail.end());
  return args;
}

std::vector<std::string> BuildHelmGetValuesArgs(const config::HelmDeploy& helm) {
  std::vector<std::string> args = {"get", "values", helm.release};
  std::vector<std::string> tail = CommonQueryTail(helm);
  args.insert(args.end(), tail.begin(), tail.end());
  return args;
}

std::vector<std::string> BuildHelmHistoryArgs(const config::HelmDeploy& helm, int max) {
  std::vector<std::string> args = {"history", helm.release, "--namespace", HelmNamespace(helm),
                                   "-o",      "json",       "--max",       std::to_string(max)};
  if (!helm.kube_context.empty()) {
    args.push_back("--kube-context");
    args.push_back(helm.kube_context);
  }
  return args;
}

Result<HelmRelease> ParseHelmStatusJson(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("helm status -o json: not a JSON object");
  }
  HelmRelease r;
  r.name = StringAt(doc, "name");
  r.namespace_ = StringAt(doc, "namespace");
  r.revision = IntAt(doc, "version");
  const json* info = Find(doc, "info");
  if (info != nullptr) {
    r.status = StringAt(*info, "status");
    // Helm 3 writes "description"; some releases of it wrote "Description".
    r.description = StringAt(*info, "description");
    if (r.description.empty()) r.description = StringAt(*info, "Description");
    r.last_deployed = StringAt(*info, "last_deployed");
  }
  if (r.name.empty() || r.status.empty()) {
    return Status::InvalidArgument("helm status -o json: no \"name\" or \"info.status\"");
  }
  return r;
}

HelmRelease ParseHelmReleaseTable(std::string_view text) {
  HelmRelease r;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    auto value = [&](std::string_view prefix) -> std::optional<std::string> {
      if (!line.starts_with(prefix)) return std::nullopt;
      std::string_view v = line.substr(prefix.size());
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.remove_suffix(1);
      return std::string(v);
    };
    if (auto v = value("NAME: ")) r.name = *v;
    if (auto v = value("NAMESPACE: ")) r.namespace_ = *v;
    if (auto v = value("STATUS: ")) r.status = *v;
    if (auto v = value("LAST DEPLOYED: ")) r.last_deployed = *v;
    if (auto v = value("REVISION: ")) {
      int n = 0;
      auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec == std::errc() && end == v->data() + v->size()) r.revision = n;
    }
  }
  return r;
}

Result<std::vector<HelmRevision>> ParseHelmHistoryJson(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return Status::InvalidArgument("helm history -o json: not a JSON array");
  }
  std::vector<HelmRevision> out;
  for (const json& item : doc) {
    if (!item.is_object()) {
      return Status::InvalidArgument("helm history -o json: an entry is not an object");
    }
    HelmRevision r;
    r.revision = IntAt(item, "revision");
    r.updated = StringAt(item, "updated");
    r.status = StringAt(item, "status");
    r.chart = StringAt(item, "chart");
    r.app_version = StringAt(item, "app_version");
    r.description = StringAt(item, "description");
    out.push_back(std::move(r));
  }
  return out;
}

Result<HelmValues> ParseHelmValuesJson(std::string_view text, std::string_view digest_key,
                                       std::string_view repository_key) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("helm get values -o json: invalid JSON");
  HelmValues v;
  if (doc.is_null()) return v;  // a release without user-supplied values
  if (!doc.is_object()) {
    return Status::InvalidArgument("helm get values -o json: not a JSON object");
  }
  v.digest = LookupDotted(doc, digest_key);
  v.repository = LookupDotted(doc, repository_key);
  return v;
}

bool IsHelmReleaseNotFound(std::string_view stderr_text) {
  return stderr_text.find("release: not found") != std::string_view::npos;
}

Result<ApplyResult> HelmAdapter::Apply(const ApplyRequest& req) {
  return Upgrade(req, HelmMode::kApply);
}

Result<ApplyResult> HelmAdapter::Preview(const ApplyRequest& req) {
  return Upgrade(req, HelmMode::kDryRun);
}

Result<ApplyResult> HelmAdapter::Upgrade(const ApplyRequest& req, HelmMode mode) {
  // Everything that can be refused is refused before a process starts.
  Result<std::vector<std::string>> args = BuildHelmUpgradeArgs(req, mode);
  if (!args.ok()) return args.status();
  Result<std::string> program = HelmProgram(base_env_);
  if (!program.ok()) return program.status().WithContext(PinPath(req) + ": helm adapter");
  const config::HelmDeploy& helm = *req.pin->deploy.helm;

  process::ProcessSpec spec;
  spec.repository_code = true;  // runs as runAs when configured
  spec.argv.push_back(*program);
  spec.argv.insert(spec.argv.end(), args->begin(), args->end());
  spec.env = base_env_;
  spec.cwd = req.checkout_dir;
  spec.timeout = UpgradeProcessTimeout(helm.timeout);
  spec.kill_grace = kKillGrace;
  spec.on_line = req.log;
  Result<process::ProcessResult> run = runner_.Run(spec, req.cancel);
  if (!run.ok()) {
    return run.status().WithContext("helm upgrade of " + req.env + "/" + req.app);
  }

  ApplyResult result;
  result.exit_code = run->exit_code;
  result.timed_out = run->timed_out;
  result.cancelled = run->cancelled;
  result.duration = run->duration;
  result.ok = run->exit_code == 0 && !run->timed_out && !run->cancelled;
  const std::string& primary = result.ok ? run->stdout_tail : run->stderr_tail;
  const std::string& secondary = result.ok ? run->stderr_tail : run->stdout_tail;
  result.output_tail = internal::TailLines(primary.empty() ? secondary : primary, kTailLines);

  std::string what =
      (mode == HelmMode::kDryRun ? "dry run of release " : "release ") + helm.release;
  if (run->timed_out) {
    result.summary = what + ": timed out after " + internal::Elapsed(run->duration) +
                     " (helm --timeout " + GoDuration(helm.timeout) + "), killed";
  } else if (run->cancelled) {
    result.summary = what + ": cancelled after " + internal::Elapsed(run->duration) + ", killed";
  } else if (result.ok) {
    HelmRelease table = ParseHelmReleaseTable(run->stdout_tail);
    result.summary = what;
    if (table.revision > 0) result.summary += " revision " + std::to_string(table.revision);
    result.summary += " " + (table.status.empty() ? std::string("applied") : table.status) +
                      " in " + internal::Elapsed(run->duration);
  } else {
    result.summary = what + ": exit " + std::to_string(run->exit_code) + " in " +
                     internal::Elapsed(run->duration);
    std::string last = internal::LastLine(run->stderr_tail);
    if (last.empty()) last = internal::LastLine(run->stdout_tail);
    if (!last.empty()) result.summary += ": " + last;
  }
  return result;
}

Result<process::ProcessResult> HelmAdapter::Query(const ApplyRequest& req,
                                                  std::vector<std::string> args) {
  Result<std::string> program = HelmProgram(base_env_);
  if (!program.ok()) return program.status().WithContext(PinPath(req) + ": helm adapter");
  const config::HelmDeploy& helm = *req.pin->deploy.helm;
  process::ProcessSpec spec;
  spec.repository_code = true;  // runs as runAs when configured
  spec.argv.push_back(*program);
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = base_env_;
  // No cwd: queries read nothing from the checkout, which may be gone when
  // an interrupted apply is resolved.
  spec.timeout = helm.timeout;
  spec.output_cap = kQueryOutputCap;
  // Not streamed: the JSON holds the release's values and manifest.
  Result<process::ProcessResult> run = runner_.Run(spec, req.cancel);
  std::string cmd =
      "helm " + args[0] + (args[0] == "get" ? " " + args[1] : "") + " " + helm.release;
  if (!run.ok()) return run.status().WithContext(cmd);
  if (run->timed_out) {
    return Status::Timeout(cmd + " timed out after " + GoDuration(spec.timeout));
  }
  if (run->cancelled) return Status::Cancelled(cmd + " cancelled");
  if (run->stdout_truncated) {
    return Status::IOError(cmd + " printed more than " + std::to_string(kQueryOutputCap) +
                           " bytes");
  }
  return run;
}

namespace {

// "sha256:0123456789ab…": enough to tell digests apart in a one-line detail.
std::string ShortDigest(const std::string& digest) {
  size_t colon = digest.find(':');
  size_t keep = (colon == std::string::npos ? 0 : colon + 1) + 12;
  return digest.size() <= keep + 1 ? digest : digest.substr(0, keep) + "…";
}

}  // namespace

Result<Observed> HelmAdapter::Observe(const ApplyRequest& req) {
  Result<Observation> o = Inspect(req);
  if (!o.ok()) return o.status();
  return o->state;
}

Result<Observation> HelmAdapter::Inspect(const ApplyRequest& req) {
  if (req.pin == nullptr || !req.pin->deploy.helm.has_value()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.helm is missing");
  }
  const config::HelmDeploy& helm = *req.pin->deploy.helm;
  const std::string ns = HelmNamespace(helm);
  Observation o;
  auto failed = [&](const std::string& cmd, const process::ProcessResult& run) {
    std::string last = internal::LastLine(run.stderr_tail);
    return Status::IOError(cmd + " " + helm.release + ": exit " + std::to_string(run.exit_code) +
                           (last.empty() ? "" : ": " + last));
  };
  auto other = [&](std::string detail) {
    o.state = Observed::kOtherDeployed;
    o.detail = "helm release " + helm.release + " (namespace " + ns + "): " + std::move(detail);
    return o;
  };

  Result<process::ProcessResult> status = Query(req, BuildHelmStatusArgs(helm));
  if (!status.ok()) return status.status();
  o.exit_code = status->exit_code;
  o.duration += status->duration;
  if (status->exit_code != 0) {
    if (IsHelmReleaseNotFound(status->stderr_tail)) return other("not found");
    return failed("helm status", *status);
  }
  Result<HelmRelease> release = ParseHelmStatusJson(status->stdout_tail);
  if (!release.ok()) return release.status().WithContext("release " + helm.release);
  if (release->status != "deployed") {
    return other("status " + release->status + " at revision " + std::to_string(release->revision) +
                 (release->description.empty()
                      ? ""
                      : " (" + internal::LastLine(release->description) + ")"));
  }

  Result<process::ProcessResult> values = Query(req, BuildHelmGetValuesArgs(helm));
  if (!values.ok()) return values.status();
  o.exit_code = values->exit_code;
  o.duration += values->duration;
  if (values->exit_code != 0) {
    if (IsHelmReleaseNotFound(values->stderr_tail)) return other("not found");
    return failed("helm get values", *values);
  }
  Result<HelmValues> parsed =
      ParseHelmValuesJson(values->stdout_tail, helm.digest_key, helm.repository_key);
  if (!parsed.ok()) return parsed.status().WithContext("release " + helm.release);
  const std::string& pinned = req.pin->artifact.digest;
  if (!parsed->digest.has_value()) {
    return other(helm.digest_key + " is not set (pinned " + ShortDigest(pinned) + ")");
  }
  if (*parsed->digest != pinned) {
    return other(helm.digest_key + " " + ShortDigest(*parsed->digest) + " ≠ pinned " +
                 ShortDigest(pinned));
  }
  if (parsed->repository.has_value() && *parsed->repository != req.pin->artifact.image) {
    return other(helm.repository_key + " " + *parsed->repository + " ≠ pinned " +
                 req.pin->artifact.image);
  }
  o.state = Observed::kPinDeployed;
  return o;
}

Result<std::vector<HelmRevision>> HelmAdapter::History(const ApplyRequest& req, int max) {
  if (req.pin == nullptr || !req.pin->deploy.helm.has_value()) {
    return Status::InvalidArgument(PinPath(req) + ": deploy.helm is missing");
  }
  const config::HelmDeploy& helm = *req.pin->deploy.helm;
  Result<process::ProcessResult> run = Query(req, BuildHelmHistoryArgs(helm, max));
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    if (IsHelmReleaseNotFound(run->stderr_tail)) return std::vector<HelmRevision>{};
    std::string last = internal::LastLine(run->stderr_tail);
    return Status::IOError("helm history " + helm.release + ": exit " +
                           std::to_string(run->exit_code) + (last.empty() ? "" : ": " + last));
  }
  return ParseHelmHistoryJson(run->stdout_tail);
}

}  // namespace sluice::adapters
