#include "env_repo_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

namespace sluice::testing {

namespace {

constexpr char kDeployScript[] = R"(#!/bin/sh
# Stand-in deploy for the exec adapter: records what it was asked to deploy.
set -eu
state="$2"
echo "$SLUICE_ENV $SLUICE_APP $1 $SLUICE_DIGEST $SLUICE_COMMIT" >> "$state/deploys.log"
echo "deploying $SLUICE_APP $1 to $SLUICE_ENV"
c=$(printf '%s' "$1" | cut -c8)
if [ -f "$state/fail-$c" ]; then
  echo "rollout failed: image pull backoff" >&2
  exit 3
fi
if [ -f "$state/hang" ]; then
  echo $$ > "$state/hung.pid.tmp" && mv "$state/hung.pid.tmp" "$state/hung.pid"
  exec sleep 600
fi
)";

}  // namespace

SigningKey::SigningKey(const std::string& email) {
  path = dir_.Sub("key");
  CommandOutput k =
      RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", path});
  EXPECT_EQ(k.exit_code, 0) << k.err;
  std::string pub = ReadFile(path + ".pub");
  public_key = pub.substr(0, pub.find(" " + email));
  signer_line = "\"" + email + " " + public_key + "\"";
}

EnvRepoFixture::EnvRepoFixture(std::map<std::string, std::optional<std::string>> initial) {
  std::string root = tmp_.Sub("srv");
  std::filesystem::create_directories(root);
  bare = MakeBareRepo(root, "envs.git");
  daemon_ = std::make_unique<GitDaemon>(root);
  url = daemon_->Url("envs.git");
  work = tmp_.Sub("work");
  workdir = tmp_.Sub("controller");
  state = tmp_.Sub("state");
  std::filesystem::create_directories(state);
  CloneRepo(bare, work);
  Git(work, {"checkout", "-B", "main"});
  WriteFile(work + "/scripts/deploy.sh", kDeployScript);
  std::filesystem::permissions(work + "/scripts/deploy.sh",
                               std::filesystem::perms::owner_all |
                                   std::filesystem::perms::group_read |
                                   std::filesystem::perms::group_exec,
                               std::filesystem::perm_options::replace);
  std::map<std::string, std::optional<std::string>> files = {
      {"sluice.yaml", "pipeline: [dev, prod]\ngroups:\n  release-managers: [alice]\n"},
      {"environments/dev/environment.yaml", "{}\n"},
      {"environments/prod/environment.yaml",
       "upstream: dev\napproval:\n  required: 1\n  from: [release-managers]\n"}};
  for (auto& [path, content] : initial) files[path] = std::move(content);
  for (auto it = files.begin(); it != files.end();) {
    it = it->second ? std::next(it) : files.erase(it);
  }
  CommitAndPush(files, "Set up environments");
}

std::string EnvRepoFixture::PinYaml(const std::string& digest, const std::string& version) const {
  return "artifact:\n  image: registry.example.com/shop/app\n  digest: " + digest +
         "\n  version: " + version +
         "\ndeploy:\n  adapter: exec\n  exec:\n    command: "
         "[scripts/deploy.sh, \"{{digest}}\", \"" +
         state + "\"]\n    timeout: 2m\n";
}

std::string EnvRepoFixture::CommitAndPush(
    const std::map<std::string, std::optional<std::string>>& files, const std::string& message) {
  std::string commit = CommitFiles(work, files, message);
  Git(work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  return commit;
}

CommandOutput EnvRepoFixture::Sluice(std::vector<std::string> args, bool with_repo) const {
  std::vector<std::string> argv = {SLUICE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  if (with_repo) {
    argv.insert(argv.end(), {"--repo", url, "--workdir", workdir});
  }
  return RunCommand(argv, "", extra_env);
}

nlohmann::json EnvRepoFixture::Reconcile(int expected_exit, std::source_location where) const {
  CommandOutput r = Sluice({"reconcile", "--once", "--format", "json", "--log-level", "warn"});
  EXPECT_EQ(r.exit_code, expected_exit)
      << "reconcile at " << where.file_name() << ":" << where.line() << "\n"
      << r.err << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "reconcile at " << where.file_name() << ":" << where.line()
                                 << " printed no report (exit " << r.exit_code << ")\n"
                                 << r.err << r.out;
  if (j.is_discarded()) return nlohmann::json::object();
  return j;
}

void EnvRepoFixture::RefuseRecordPushes(bool refuse) const {
  const std::string hook = bare + "/hooks/pre-receive";
  if (!refuse) {
    std::filesystem::remove(hook);
    return;
  }
  WriteFile(hook,
            "#!/bin/sh\n"
            "while read old new ref; do\n"
            "  case \"$ref\" in refs/notes/*|refs/sluice/*)\n"
            "    echo \"record pushes are refused here\" >&2; exit 1;;\n"
            "  esac\n"
            "done\n");
  std::filesystem::permissions(hook, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace);
}

std::vector<std::string> EnvRepoFixture::Deploys() const {
  std::vector<std::string> lines;
  if (!std::filesystem::exists(state + "/deploys.log")) return lines;
  std::istringstream in(ReadFile(state + "/deploys.log"));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<nlohmann::json> EnvRepoFixture::RemoteEvents(const std::string& commit) const {
  CommandOutput r = Git(bare, {"notes", "--ref=sluice", "show", commit}, /*allow_failure=*/true);
  std::vector<nlohmann::json> events;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) events.push_back(j);
  }
  return events;
}

std::string EnvRepoFixture::RemoteRef(const std::string& ref) const {
  CommandOutput r = Git(bare, {"rev-parse", "--verify", "-q", ref}, /*allow_failure=*/true);
  if (r.exit_code != 0) return "";
  std::string id = r.out;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

}  // namespace sluice::testing
