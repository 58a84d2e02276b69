#include "adapters/adapter.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <vector>

#include "adapters/exec.h"
#include "adapters/helm.h"
#include "adapters/terraform.h"
#include "core/duration.h"
#include "core/strings.h"
#include "core/text.h"

namespace sluice::adapters {

namespace fs = std::filesystem;

namespace {

constexpr size_t kLineMax = 200;

// Drops a trailing separator so that component-wise comparison works.
fs::path Normalized(const fs::path& p) {
  fs::path n = p.lexically_normal();
  if (n.has_relative_path() && n.filename().empty()) n = n.parent_path();
  return n;
}

// True if `p` is `root` or below it (both absolute, canonical).
bool IsWithin(const fs::path& p, const fs::path& root) {
  fs::path np = Normalized(p);
  fs::path nr = Normalized(root);
  auto [root_end, p_it] = std::mismatch(nr.begin(), nr.end(), np.begin(), np.end());
  (void)p_it;
  return root_end == nr.end();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Result<Observed> Adapter::Observe(const ApplyRequest&) { return Observed::kUnknown; }

Result<Observation> Adapter::Inspect(const ApplyRequest& req) {
  Result<Observed> observed = Observe(req);
  if (!observed.ok()) return observed.status();
  Observation o;
  o.state = *observed;
  return o;
}

std::chrono::milliseconds LongestApply(const config::Pin& pin) {
  using std::chrono::milliseconds;
  const config::Deploy& d = pin.deploy;
  milliseconds timeout{0};
  milliseconds grace{0};
  if (d.adapter == config::AdapterKind::kExec && d.exec) {
    timeout = d.exec->timeout;
    grace = process::ProcessSpec{}.kill_grace;
  } else if (d.adapter == config::AdapterKind::kHelm && d.helm) {
    timeout = HelmUpgradeProcessTimeout(d.helm->timeout);
    grace = kHelmKillGrace;
  } else if (d.adapter == config::AdapterKind::kTerraform && d.terraform) {
    timeout = d.terraform->timeout;
    grace = kTerraformKillGrace;
  }
  return timeout.count() <= 0 ? milliseconds(0) : timeout + grace;
}

Result<std::unique_ptr<Adapter>> MakeAdapter(config::AdapterKind kind,
                                             process::CommandRunner& runner) {
  switch (kind) {
    case config::AdapterKind::kExec:
      return std::unique_ptr<Adapter>(std::make_unique<ExecAdapter>(runner));
    case config::AdapterKind::kHelm:
      return std::unique_ptr<Adapter>(std::make_unique<HelmAdapter>(runner));
    case config::AdapterKind::kTerraform:
      return std::unique_ptr<Adapter>(std::make_unique<TerraformAdapter>(runner));
  }
  return Status::InvalidArgument("unknown adapter kind " + std::to_string(static_cast<int>(kind)));
}

Result<std::string> ResolveCheckoutPath(const std::string& checkout_dir, const std::string& rel,
                                        const std::string& what) {
  std::string where = what + " \"" + rel + "\"";
  if (!config::IsContainedPath(rel)) {
    return Status::InvalidArgument(where +
                                   " must be a path inside the repository (relative, no \"..\")");
  }
  if (checkout_dir.empty() || checkout_dir[0] != '/') {
    return Status::InvalidArgument("the checkout directory must be absolute, got \"" +
                                   checkout_dir + "\"");
  }
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::path(checkout_dir), ec);
  if (ec) {
    return Status::IOError("cannot resolve checkout directory \"" + checkout_dir +
                           "\": " + ec.message());
  }
  fs::path candidate = fs::path(checkout_dir) / rel;
  // Symlinks are resolved first: a link inside the repository pointing
  // elsewhere would make the tool read something no reviewer saw.
  fs::path resolved = fs::weakly_canonical(candidate, ec);
  if (ec) return Status::IOError(where + ": cannot resolve: " + ec.message());
  if (!IsWithin(resolved, root)) {
    return Status::InvalidArgument(where + " resolves outside the repository (to \"" +
                                   resolved.string() + "\" through a symlink)");
  }
  if (!fs::exists(resolved, ec)) {
    return Status::NotFound(where + " does not exist in the commit being applied");
  }
  return resolved.string();
}

Result<std::string> ResolveCheckoutProgram(const std::string& checkout_dir, const std::string& rel,
                                           const std::string& what, const std::string& commit) {
  const std::string where = what + " \"" + rel + "\"";
  if (!config::IsContainedPath(rel)) {
    return Status::InvalidArgument(where +
                                   " must be a path inside the repository (no \"..\", not "
                                   "absolute) or a program name on PATH");
  }
  auto resolved = ResolveCheckoutPath(checkout_dir, rel, what);
  if (!resolved.ok()) {
    if (resolved.status().IsNotFound()) {
      return Status::NotFound(where + " does not exist in commit " + commit);
    }
    return resolved.status();
  }
  std::error_code ec;
  if (!fs::is_regular_file(*resolved, ec)) {
    return Status::InvalidArgument(where + " is not a regular file");
  }
  if (::access(resolved->c_str(), X_OK) != 0) {
    return Status::InvalidArgument(where +
                                   " is not executable (git update-index --chmod=+x and commit)");
  }
  return resolved;
}

std::string GoDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  const std::pair<std::int64_t, const char*> units[] = {
      {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [scale, name] : units) {
    if (ms >= scale) {
      out += std::to_string(ms / scale);
      out += name;
      ms %= scale;
    }
  }
  return out;
}

namespace internal {

std::string TailLines(std::string_view text, size_t n) {
  std::vector<std::string_view> lines = SplitLines(text);
  size_t from = lines.size() > n ? lines.size() - n : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) {
    out.append(lines[i]);
    out += '\n';
  }
  return out;
}

std::string LastLine(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string_view line = Trim(*it);
    if (line.empty()) continue;
    if (line.size() > kLineMax) return std::string(TruncateUtf8(line, kLineMax)) + "...";
    return std::string(line);
  }
  return "";
}

std::string Elapsed(std::chrono::milliseconds d) {
  if (d < std::chrono::minutes(1)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(d.count()) / 1000.0);
    return buf;
  }
  return FormatDuration(std::chrono::duration_cast<std::chrono::seconds>(d));
}

}  // namespace internal

std::optional<int> CanaryWeight(const ApplyRequest& req) {
  if (req.pin == nullptr || req.pin->deploy.strategy.kind != config::StrategyKind::kCanary) {
    return std::nullopt;
  }
  return req.weight.value_or(100);
}

}  // namespace sluice::adapters
