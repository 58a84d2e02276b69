#include "config/repository_config.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "config/app_order.h"
#include "config/parse_internal.h"
#include "config/yaml_reader.h"

namespace sluice::config {

namespace fs = std::filesystem;
using internal::LineIndex;

namespace {

constexpr std::uintmax_t kMaxReadBytes = 16 * 1024 * 1024;

int LineAt(const LineIndex& lines, const std::string& where) {
  auto it = lines.find(where);
  return it == lines.end() ? 0 : it->second;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string PipelineText(const std::vector<std::string>& pipeline) {
  return "(" + internal::JoinNames(pipeline) + ")";
}

// Resolves `rel` under `root`, refusing anything that escapes it, also
// through symlinks. On success `out` is the resolved path.
Status Resolve(const std::string& root, const std::string& rel, bool allow_root, fs::path& out) {
  bool is_root = rel.empty() || rel == ".";
  if (!(allow_root && is_root) && !IsContainedPath(rel)) {
    return Status::InvalidArgument("refusing '" + internal::Quote(rel) +
                                   "': paths must be relative to the repository root and stay "
                                   "inside it");
  }
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(root), ec);
  if (ec) return Status::IOError("cannot resolve repository root " + root + ": " + ec.message());
  fs::path full = is_root ? base : fs::weakly_canonical(base / rel, ec);
  if (ec) return Status::IOError("cannot resolve " + rel + " under " + root + ": " + ec.message());
  fs::path r = full.lexically_relative(base);
  if (r.empty() || *r.begin() == "..") {
    return Status::InvalidArgument("refusing '" + internal::Quote(rel) +
                                   "': it resolves outside the repository (through a symlink)");
  }
  out = full;
  return Status::Ok();
}

struct EnvCheck {
  std::string env;
  int pipeline_line = 0;  // line in sluice.yaml, 0 without a pipeline
};

void CheckGroupRefs(const std::string& path, const LineIndex& lines,
                    const std::vector<std::string>& names, const std::string& where,
                    const std::map<std::string, std::vector<std::string>>& groups,
                    Diagnostics& out) {
  std::vector<std::string> defined;
  for (const auto& [name, members] : groups) defined.push_back(name);
  for (size_t i = 0; i < names.size(); ++i) {
    if (groups.count(names[i])) continue;
    std::string w = internal::Item(where, i);
    std::string msg = w + " names the group '" + internal::Quote(names[i]) +
                      "', which sluice.yaml does not define;" +
                      internal::DidYouMean(names[i], defined);
    if (defined.empty()) {
      msg += " sluice.yaml defines no groups; add it under groups:";
    } else {
      msg += " defined groups: " + internal::JoinNames(defined) +
             " (or add it under groups: in sluice.yaml)";
    }
    out.push_back(Diagnostic{path, LineAt(lines, w), std::move(msg)});
  }
}

// An exec deploy's command[0] naming a repository path must be an
// executable file there, or the apply fails (docs/adapters.md "exec").
void CheckExecProgram(const ProgramChecker& check_program, const std::string& path, const Pin& pin,
                      Diagnostics& out) {
  if (!check_program || !pin.deploy.exec || pin.deploy.exec->command.empty()) return;
  const std::string& program = pin.deploy.exec->command[0];
  if (program.find('/') == std::string::npos || !IsContainedPath(program)) return;
  Status s = check_program(program);
  if (s.ok()) return;
  const std::string where = "deploy.exec.command[0] '" + internal::Quote(program) + "'";
  std::string msg;
  if (s.IsNotFound()) {
    msg = where +
          " does not exist in the repository; add the script there (and `git update-index "
          "--chmod=+x` it) or fix the path";
  } else {
    msg = where + " " + s.message() + "; make it an executable file (chmod +x, or `git " +
          "update-index --chmod=+x " + program + "`) and commit it";
  }
  out.push_back({path, pin.deploy.exec->program_line, std::move(msg)});
}

void ValidateApps(const FileReader& read, const DirLister& list,
                  const ProgramChecker& check_program, const std::string& env,
                  ValidationReport& report) {
  Diagnostics& out = report.problems;
  const std::string dir = AppsDir(env);
  Result<std::vector<std::string>> names = list(dir);
  if (!names.ok()) {
    if (!names.status().IsNotFound()) {
      out.push_back({dir, 0, "cannot list: " + names.status().message()});
    }
    return;
  }
  std::vector<std::string> sorted = *names;
  std::sort(sorted.begin(), sorted.end());
  const size_t first_pin = report.pins.size();
  std::set<std::string> present;  // every app with a pin file, parsed or not
  for (const auto& name : sorted) {
    if (name.empty() || name[0] == '.') continue;  // dotfiles: editor swap files, .gitkeep
    const std::string path = dir + "/" + name;
    std::string lower = Lower(name);
    bool yaml_like = lower.ends_with(".yaml") || lower.ends_with(".yml");
    if (!yaml_like) continue;  // READMEs and the like are not pins
    if (!name.ends_with(".yaml")) {
      size_t dot = name.rfind('.');
      out.push_back({path, 0,
                     "pin files must end in .yaml, so this file is ignored; rename it to " +
                         name.substr(0, dot) + ".yaml"});
      continue;
    }
    std::string app = name.substr(0, name.size() - 5);
    present.insert(app);
    if (!IsValidName(app)) {
      out.push_back({path, 0,
                     "app name '" + internal::Quote(app) +
                         "' (from the file name) is not valid; rename the file using lowercase "
                         "letters, digits, '.', '_' and '-' (at most 63), starting with a "
                         "letter or digit"});
      continue;
    }
    Result<std::string> text = read(path);
    if (!text.ok()) {
      out.push_back({path, 0, "cannot read: " + text.status().message()});
      continue;
    }
    if (auto pin = ParsePin(*text, path, out)) {
      CheckExecProgram(check_program, path, *pin, out);
      report.pins.push_back(std::move(*pin));
    }
  }
  // deploy.dependsOn across the environment: missing apps and cycles.
  std::vector<const Pin*> pins;
  for (size_t i = first_pin; i < report.pins.size(); ++i) pins.push_back(&report.pins[i]);
  Diagnostics order = CheckAppOrder(env, pins, present);
  out.insert(out.end(), order.begin(), order.end());
}

}  // namespace

std::string SettingsPath() { return "sluice.yaml"; }
std::string PolicyPath(const std::string& env) {
  return "environments/" + env + "/environment.yaml";
}
std::string AppsDir(const std::string& env) { return "environments/" + env + "/apps"; }
std::string PinPath(const std::string& env, const std::string& app) {
  return AppsDir(env) + "/" + app + ".yaml";
}

bool IsOtherAppsPin(std::string_view path, const std::string& env, const std::string& app) {
  // environments/<e>/apps/<a>.yaml, exactly four segments.
  constexpr std::string_view kRoot = "environments/";
  if (path.substr(0, kRoot.size()) != kRoot) return false;
  std::string_view rest = path.substr(kRoot.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view e = rest.substr(0, slash);
  rest = rest.substr(slash + 1);
  constexpr std::string_view kApps = "apps/";
  if (rest.substr(0, kApps.size()) != kApps) return false;
  std::string_view file = rest.substr(kApps.size());
  constexpr std::string_view kYaml = ".yaml";
  if (file.find('/') != std::string_view::npos || file.size() <= kYaml.size() ||
      file.substr(file.size() - kYaml.size()) != kYaml) {
    return false;
  }
  return !(e == env && file.substr(0, file.size() - kYaml.size()) == app);
}

namespace {
// Resolves `path` under `root` (Resolve's refusals) and stats it; NotFound
// when nothing is there.
Result<fs::file_status> StatUnder(const std::string& root, const std::string& path, bool allow_root,
                                  fs::path& full) {
  SLUICE_RETURN_IF_ERROR(Resolve(root, path, allow_root, full));
  std::error_code ec;
  fs::file_status st = fs::status(full, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + " not found under " + root);
  return st;
}
}  // namespace

FileReader WorkTreeReader(const std::string& root) {
  return [root](const std::string& path) -> Result<std::string> {
    fs::path full;
    Result<fs::file_status> st = StatUnder(root, path, /*allow_root=*/false, full);
    if (!st.ok()) return st.status();
    if (fs::is_directory(*st)) return Status::IOError(path + " is a directory, not a file");
    std::error_code ec;
    std::uintmax_t size = fs::file_size(full, ec);
    if (!ec && size > kMaxReadBytes) {
      return Status::IOError(path + " is " + std::to_string(size) +
                             " bytes, too large for a configuration file");
    }
    std::ifstream in(full, std::ios::binary);
    if (!in) return Status::IOError("cannot open " + path + " under " + root);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return Status::IOError("cannot read " + path + " under " + root);
    return buf.str();
  };
}

DirLister WorkTreeLister(const std::string& root) {
  return [root](const std::string& dir) -> Result<std::vector<std::string>> {
    fs::path full;
    Result<fs::file_status> st = StatUnder(root, dir, /*allow_root=*/true, full);
    if (!st.ok()) return st.status();
    if (!fs::is_directory(*st)) return Status::IOError(dir + " is not a directory");
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(full, ec), end; !ec && it != end; it.increment(ec)) {
      names.push_back(it->path().filename().string());
    }
    if (ec) return Status::IOError("cannot list " + dir + " under " + root + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
  };
}

ProgramChecker WorkTreeProgramChecker(const std::string& root) {
  return [root](const std::string& path) -> Status {
    fs::path full;
    Result<fs::file_status> found = StatUnder(root, path, /*allow_root=*/false, full);
    if (!found.ok()) return found.status();
    const fs::file_status st = *found;
    if (fs::is_directory(st)) return Status::InvalidArgument("is a directory, not a file");
    if (!fs::is_regular_file(st)) return Status::InvalidArgument("is not a regular file");
    constexpr fs::perms kExec =
        fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
    if ((st.permissions() & kExec) == fs::perms::none) {
      return Status::InvalidArgument("is not executable");
    }
    return Status::Ok();
  };
}

ValidationReport ValidateRepository(const FileReader& read, const DirLister& list,
                                    const ProgramChecker& check_program) {
  ValidationReport report;
  Diagnostics& out = report.problems;
  try {
    // 1. sluice.yaml.
    RepoSettings settings;
    LineIndex settings_lines;
    bool settings_found = false;
    Result<std::string> text = read(SettingsPath());
    if (text.ok()) {
      settings_found = true;
      if (internal::ParseRepoSettingsInto(*text, SettingsPath(), out, settings, &settings_lines)) {
        report.settings = settings;
      }
      // Keys that would name a secret, a file or the forge have no effect
      // (SPEC 1.3 rule 5): a problem to fix, though the controller runs on.
      out.insert(out.end(), settings.ignored.begin(), settings.ignored.end());
    } else if (text.status().IsNotFound()) {
      out.push_back({SettingsPath(), 0,
                     "not found: an environments repository needs sluice.yaml at its root, with "
                     "at least `pipeline: [dev, prod]` (sluice init writes one)"});
    } else {
      out.push_back({SettingsPath(), 0, "cannot read: " + text.status().message()});
    }
    const bool have_pipeline = settings_found && !settings.pipeline.empty();

    // 2. The environment directories that exist.
    std::vector<std::string> env_dirs;
    Result<std::vector<std::string>> listing = list("environments");
    if (listing.ok()) {
      for (const auto& name : *listing) {
        if (name.empty() || name[0] == '.') continue;
        // Only directories can be listed; files such as a README are skipped.
        if (list("environments/" + name).ok()) env_dirs.push_back(name);
      }
      std::sort(env_dirs.begin(), env_dirs.end());
    } else if (!listing.status().IsNotFound()) {
      out.push_back({"environments", 0, "cannot list: " + listing.status().message()});
    }
    auto has_dir = [&](const std::string& env) {
      return std::binary_search(env_dirs.begin(), env_dirs.end(), env);
    };

    std::vector<EnvCheck> envs;
    if (have_pipeline) {
      for (size_t i = 0; i < settings.pipeline.size(); ++i) {
        envs.push_back(
            {settings.pipeline[i], LineAt(settings_lines, internal::Item("pipeline", i))});
      }
    } else {
      // Without a pipeline, still check every environment on its own.
      for (const auto& env : env_dirs) {
        if (IsValidName(env)) envs.push_back({env, 0});
      }
    }

    // 3. Each environment: its policy, cross-file rules, its pins.
    for (const auto& [env, pipeline_line] : envs) {
      if (!has_dir(env)) {
        out.push_back({SettingsPath(), pipeline_line,
                       "pipeline environment '" + env + "' has no directory environments/" + env +
                           "/; create environments/" + env +
                           "/environment.yaml (`{}` for no gates) or remove '" + env +
                           "' from the pipeline"});
        continue;
      }
      const std::string policy_path = PolicyPath(env);
      Result<std::string> ptext = read(policy_path);
      if (!ptext.ok()) {
        if (ptext.status().IsNotFound()) {
          out.push_back({policy_path, 0,
                         "missing: every pipeline environment needs an environment.yaml; create "
                         "it (a file holding `{}` means no gates)"});
        } else {
          out.push_back({policy_path, 0, "cannot read: " + ptext.status().message()});
        }
      } else {
        EnvironmentPolicy policy;
        LineIndex lines;
        if (internal::ParseEnvironmentPolicyInto(*ptext, policy_path, out, policy, &lines)) {
          report.policies[env] = policy;
        }
        if (have_pipeline && policy.upstream) {
          const auto& pl = settings.pipeline;
          auto up = std::find(pl.begin(), pl.end(), *policy.upstream);
          auto self = std::find(pl.begin(), pl.end(), env);
          int line = LineAt(lines, "upstream");
          if (up == pl.end()) {
            out.push_back({policy_path, line,
                           "upstream '" + *policy.upstream +
                               "' is not in the pipeline of sluice.yaml " + PipelineText(pl) + ";" +
                               internal::DidYouMean(*policy.upstream, pl) +
                               " name an earlier environment of the pipeline"});
          } else if (up >= self) {
            out.push_back({policy_path, line,
                           "upstream '" + *policy.upstream + "' does not come before '" + env +
                               "' in the pipeline " + PipelineText(pl) +
                               "; the upstream must be an earlier environment (or reorder the "
                               "pipeline)"});
          }
        }
        if (settings_found) {
          if (policy.approval) {
            CheckGroupRefs(policy_path, lines, policy.approval->from, "approval.from",
                           settings.groups, out);
          }
          if (policy.rollback.approval) {
            CheckGroupRefs(policy_path, lines, policy.rollback.approval->from,
                           "rollback.approval.from", settings.groups, out);
          }
          if (policy.emergency) {
            CheckGroupRefs(policy_path, lines, policy.emergency->approvers, "emergency.approvers",
                           settings.groups, out);
          }
        }
      }
      ValidateApps(read, list, check_program, env, report);
    }

    // 4. Directories the pipeline does not know.
    if (have_pipeline) {
      const auto& pl = settings.pipeline;
      for (const auto& dir : env_dirs) {
        if (std::find(pl.begin(), pl.end(), dir) != pl.end()) continue;
        out.push_back({"environments/" + dir, 0,
                       "environment directory '" + internal::Quote(dir) +
                           "' is not in the pipeline of sluice.yaml " + PipelineText(pl) +
                           "; add it to pipeline or remove the directory"});
      }
    }
  } catch (const std::exception& e) {
    out.push_back({SettingsPath(), 0,
                   std::string("internal error while validating: ") + internal::Quote(e.what())});
  }
  return report;
}

}  // namespace sluice::config
