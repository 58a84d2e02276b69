#include "config/repository_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "config_test_util.h"
#include "support/temp_dir.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;
using testing::kDigest;

// An in-memory repository: file path -> content; directories are implied.
class FakeRepo {
 public:
  void Add(const std::string& path, const std::string& content) { files_[path] = content; }

  FileReader Reader() const {
    return [this](const std::string& path) -> Result<std::string> {
      auto it = files_.find(path);
      if (it == files_.end()) return Status::NotFound(path);
      return it->second;
    };
  }

  DirLister Lister() const {
    return [this](const std::string& dir) -> Result<std::vector<std::string>> {
      std::set<std::string> names;
      const std::string prefix = dir + "/";
      for (const auto& [path, content] : files_) {
        if (path.rfind(prefix, 0) != 0) continue;
        std::string rest = path.substr(prefix.size());
        names.insert(rest.substr(0, rest.find('/')));
      }
      if (names.empty()) return Status::NotFound(dir);
      return std::vector<std::string>(names.begin(), names.end());
    };
  }

  ValidationReport Validate() const { return ValidateRepository(Reader(), Lister()); }

 private:
  std::map<std::string, std::string> files_;
};

std::string ExecPin() {
  return "artifact: {image: r/api, digest: " + kDigest +
         "}\ndeploy: {adapter: exec, exec: {command: [scripts/deploy.sh]}}\n";
}

FakeRepo GoodRepo() {
  FakeRepo repo;
  repo.Add("sluice.yaml",
           "pipeline: [dev, staging, prod]\n"
           "groups:\n  release-managers: [alice]\n  on-call: [carol]\n  vp: [victor]\n");
  repo.Add("environments/dev/environment.yaml", "{}\n");
  repo.Add("environments/dev/apps/api.yaml", ExecPin());
  repo.Add("environments/dev/apps/web.yaml", ExecPin());
  repo.Add("environments/dev/apps/.gitkeep", "");
  repo.Add("environments/staging/environment.yaml", "upstream: dev\n");
  repo.Add("environments/staging/apps/api.yaml", ExecPin());
  repo.Add("environments/prod/environment.yaml",
           "upstream: staging\n"
           "approval: {required: 1, from: [release-managers]}\n"
           "emergency: {approvers: [vp]}\n"
           "rollback: {approval: {required: 1, from: [on-call]}}\n");
  repo.Add("environments/prod/apps/README.md", "pins live here\n");
  return repo;
}

TEST(ValidateRepositoryTest, AcceptsAConsistentRepository) {
  ValidationReport r = GoodRepo().Validate();
  EXPECT_TRUE(r.problems.empty()) << FormatDiagnostics(r.problems);
  ASSERT_TRUE(r.settings.has_value());
  EXPECT_EQ(r.policies.size(), 3u);
  EXPECT_EQ(r.policies.at("prod").upstream, "staging");
  ASSERT_EQ(r.pins.size(), 3u);
  EXPECT_EQ(r.pins[0].env, "dev");
  EXPECT_EQ(r.pins[0].app, "api");
  EXPECT_EQ(r.pins[2].env, "staging");
}

TEST(ValidateRepositoryTest, MissingSettingsIsReportedAtLineZero) {
  FakeRepo repo;
  repo.Add("environments/dev/environment.yaml", "gates: {soak: forever}\n");
  ValidationReport r = repo.Validate();
  EXPECT_FALSE(r.settings.has_value());
  ASSERT_FALSE(r.problems.empty());
  EXPECT_EQ(r.problems[0].path, "sluice.yaml");
  EXPECT_EQ(r.problems[0].line, 0);
  EXPECT_TRUE(HasDiagnostic(r.problems, "sluice.yaml: not found", "pipeline"));
  // The environments that exist are still checked on their own.
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/dev/environment.yaml:1: ", "gates.soak"));
}

TEST(ValidateRepositoryTest, UnknownGroupInApprovalIsReportedOnItsLine) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/prod/environment.yaml",
           "upstream: staging\n"
           "approval:\n"
           "  required: 1\n"
           "  from:\n"
           "    - release-managers\n"
           "    - release-manager\n"
           "emergency: {approvers: [vps]}\n");
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/prod/environment.yaml:6: ",
                            "approval.from[1] names the group 'release-manager', which "
                            "sluice.yaml does not define; did you mean 'release-managers'?"));
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/prod/environment.yaml:7: ",
                            "emergency.approvers[0] names the group 'vps'"));
  EXPECT_EQ(r.problems.size(), 2u) << FormatDiagnostics(r.problems);
}

TEST(ValidateRepositoryTest, UpstreamMustComeEarlierInPipeline) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/staging/environment.yaml", "# staging\nupstream: prod\n");
  ValidationReport r = repo.Validate();
  ASSERT_EQ(r.problems.size(), 1u) << FormatDiagnostics(r.problems);
  EXPECT_EQ(r.problems[0].ToString(),
            "environments/staging/environment.yaml:2: upstream 'prod' does not come before "
            "'staging' in the pipeline (dev, staging, prod); the upstream must be an earlier "
            "environment (or reorder the pipeline)");
}

TEST(ValidateRepositoryTest, UpstreamMustBeInPipeline) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/prod/environment.yaml", "upstream: stagin\n");
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/prod/environment.yaml:1: ",
                            "upstream 'stagin' is not in the pipeline of sluice.yaml (dev, "
                            "staging, prod); did you mean 'staging'?"));
}

TEST(ValidateRepositoryTest, PipelineEnvironmentWithoutDirectory) {
  FakeRepo repo = GoodRepo();
  repo.Add("sluice.yaml", "pipeline:\n  - dev\n  - staging\n  - qa\n  - prod\n");
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(HasDiagnostic(r.problems, "sluice.yaml:4: ",
                            "pipeline environment 'qa' has no directory environments/qa/"));
}

TEST(ValidateRepositoryTest, MissingEnvironmentYamlTellsToCreateIt) {
  FakeRepo repo = GoodRepo();
  repo.Add("sluice.yaml", "pipeline: [dev, staging, prod, perf]\n");
  repo.Add("environments/perf/apps/api.yaml", ExecPin());
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(
      HasDiagnostic(r.problems, "environments/perf/environment.yaml: missing", "create it"));
  // Its pins are still checked.
  EXPECT_EQ(r.pins.size(), 4u);
}

TEST(ValidateRepositoryTest, ReportsDirectoriesOutsideThePipeline) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/qa/environment.yaml", "{}\n");
  repo.Add("environments/README.md", "not an environment\n");
  ValidationReport r = repo.Validate();
  ASSERT_EQ(r.problems.size(), 1u) << FormatDiagnostics(r.problems);
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/qa: ", "is not in the pipeline"));
}

TEST(ValidateRepositoryTest, YmlPinMustBeRenamed) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/dev/apps/db.yml", ExecPin());
  ValidationReport r = repo.Validate();
  ASSERT_EQ(r.problems.size(), 1u) << FormatDiagnostics(r.problems);
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/dev/apps/db.yml: ", "rename it to db.yaml"));
}

TEST(ValidateRepositoryTest, InvalidAppNameFromFileName) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/dev/apps/My App.yaml", ExecPin());
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(
      HasDiagnostic(r.problems, "environments/dev/apps/My App.yaml: ", "app name 'My App'"));
}

TEST(ValidateRepositoryTest, BrokenPinBlocksOnlyItself) {
  FakeRepo repo = GoodRepo();
  repo.Add("environments/dev/apps/web.yaml", "artifact: {image: r/web, digest: latest}\n");
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/dev/apps/web.yaml:1: ", "is a tag"));
  EXPECT_EQ(r.pins.size(), 2u);
  EXPECT_EQ(r.policies.size(), 3u);
}

// SPEC 1.3 rule 5: a sluice.yaml naming the forge or a secret file is a
// problem for `sluice validate` (the keys have no effect), while the rest of
// the settings stay usable.
TEST(ValidateRepositoryTest, ReportsSecretBearingKeysAsIgnored) {
  FakeRepo repo = GoodRepo();
  repo.Add("sluice.yaml",
           "pipeline: [dev, staging, prod]\n"
           "groups: {release-managers: [alice], on-call: [carol], vp: [victor]}\n"
           "forge: {type: github, repo: a/b, tokenFile: /tmp/t}\n"
           "notify:\n  - {webhook: {url: https://h.example.com, secretFile: /tmp/s}}\n");
  ValidationReport r = repo.Validate();
  EXPECT_TRUE(r.settings.has_value());
  EXPECT_TRUE(HasDiagnostic(r.problems, "sluice.yaml:3: ", "forge: is ignored"));
  EXPECT_TRUE(HasDiagnostic(r.problems, "sluice.yaml:5: ", "webhook: is ignored"));
}

TEST(ValidateRepositoryTest, ReportsEveryProblemAcrossFiles) {
  FakeRepo repo = GoodRepo();
  repo.Add("sluice.yaml", "pipeline: [dev, staging, prod]\nnotify: [{target: Team Chat}]\n");
  repo.Add("environments/dev/environment.yaml", "gate: {}\n");
  ValidationReport r = repo.Validate();
  EXPECT_FALSE(r.settings.has_value());
  EXPECT_TRUE(HasDiagnostic(r.problems, "sluice.yaml:2: ", "is not a target name"));
  EXPECT_TRUE(
      HasDiagnostic(r.problems, "environments/dev/environment.yaml:1: ", "did you mean 'gates'?"));
  // No groups in this sluice.yaml: prod's group references are reported too.
  EXPECT_TRUE(HasDiagnostic(
      r.problems, "environments/prod/environment.yaml:2: ", "sluice.yaml defines no groups"));
}

TEST(ValidateRepositoryTest, ReaderErrorsBecomeDiagnostics) {
  FakeRepo repo = GoodRepo();
  FileReader failing = [&](const std::string& path) -> Result<std::string> {
    if (path == "environments/staging/environment.yaml") return Status::IOError("disk on fire");
    return repo.Reader()(path);
  };
  ValidationReport r = ValidateRepository(failing, repo.Lister());
  EXPECT_TRUE(HasDiagnostic(r.problems, "environments/staging/environment.yaml: cannot read",
                            "disk on fire"));
}

TEST(RepositoryPathsTest, FollowTheLayout) {
  EXPECT_EQ(SettingsPath(), "sluice.yaml");
  EXPECT_EQ(PolicyPath("prod"), "environments/prod/environment.yaml");
  EXPECT_EQ(AppsDir("prod"), "environments/prod/apps");
  EXPECT_EQ(PinPath("prod", "api"), "environments/prod/apps/api.yaml");
}

TEST(WorkTreeReaderTest, ReadsFilesAndReportsAbsentOnes) {
  sluice::testing::TempDir dir;
  sluice::testing::WriteFile(dir.Sub("environments/dev/environment.yaml"), "{}\n");
  FileReader read = WorkTreeReader(dir.path());
  Result<std::string> text = read("environments/dev/environment.yaml");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "{}\n");
  EXPECT_TRUE(read("sluice.yaml").status().IsNotFound());
  EXPECT_EQ(read("environments").status().code(), Status::Code::kIOError);
}

TEST(WorkTreeReaderTest, RefusesPathsEscapingTheRoot) {
  sluice::testing::TempDir dir;
  sluice::testing::WriteFile(dir.Sub("repo/a.yaml"), "x: 1\n");
  sluice::testing::WriteFile(dir.Sub("secret.txt"), "secret\n");
  FileReader read = WorkTreeReader(dir.Sub("repo"));
  for (const std::string path : {"../secret.txt", "/etc/passwd", "a/../../secret.txt", ""}) {
    EXPECT_EQ(read(path).status().code(), Status::Code::kInvalidArgument) << path;
  }
  // A symlink inside the tree that points outside is refused too.
  std::filesystem::create_symlink(dir.Sub("secret.txt"), dir.Sub("repo/link.yaml"));
  EXPECT_EQ(read("link.yaml").status().code(), Status::Code::kInvalidArgument);
  DirLister list = WorkTreeLister(dir.Sub("repo"));
  EXPECT_EQ(list("..").status().code(), Status::Code::kInvalidArgument);
}

TEST(WorkTreeListerTest, ListsSortedEntries) {
  sluice::testing::TempDir dir;
  sluice::testing::WriteFile(dir.Sub("environments/prod/environment.yaml"), "{}\n");
  sluice::testing::WriteFile(dir.Sub("environments/dev/environment.yaml"), "{}\n");
  DirLister list = WorkTreeLister(dir.path());
  auto names = list("environments");
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(*names, (std::vector<std::string>{"dev", "prod"}));
  auto root = list("");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(*root, (std::vector<std::string>{"environments"}));
  EXPECT_TRUE(list("environments/qa").status().IsNotFound());
  EXPECT_EQ(list("environments/dev/environment.yaml").status().code(), Status::Code::kIOError);
}

TEST(WorkTreeTest, ValidatesARepositoryOnDisk) {
  sluice::testing::TempDir dir;
  sluice::testing::WriteFile(dir.Sub("sluice.yaml"), "pipeline: [dev]\n");
  sluice::testing::WriteFile(dir.Sub("environments/dev/environment.yaml"), "{}\n");
  sluice::testing::WriteFile(dir.Sub("environments/dev/apps/api.yaml"), ExecPin());
  ValidationReport r = ValidateRepository(WorkTreeReader(dir.path()), WorkTreeLister(dir.path()));
  EXPECT_TRUE(r.problems.empty()) << FormatDiagnostics(r.problems);
  EXPECT_EQ(r.pins.size(), 1u);
}

// The example repository and the `sluice init` templates shipped with the
// product must validate cleanly.
TEST(WorkTreeTest, ShippedRepositoriesValidate) {
  for (const std::string rel : {"environments", "templates/init"}) {
    std::string root = std::string(SLUICE_SOURCE_DIR) + "/" + rel;
    if (!std::filesystem::exists(root + "/sluice.yaml")) continue;
    ValidationReport r = ValidateRepository(WorkTreeReader(root), WorkTreeLister(root));
    EXPECT_TRUE(r.problems.empty()) << rel << ":\n" << FormatDiagnostics(r.problems);
  }
}

// What an adapter's checkout leaves out (docs/adapters.md): the pins of the
// other apps, so a checkout costs what the app reads, not the fleet's size.
TEST(RepositoryLayoutTest, IsOtherAppsPinNamesOnlyTheOtherPins) {
  EXPECT_FALSE(IsOtherAppsPin("environments/prod/apps/api.yaml", "prod", "api"));
  EXPECT_TRUE(IsOtherAppsPin("environments/prod/apps/web.yaml", "prod", "api"));
  EXPECT_TRUE(IsOtherAppsPin("environments/dev/apps/api.yaml", "prod", "api"));
  EXPECT_FALSE(IsOtherAppsPin("environments/prod/environment.yaml", "prod", "api"));
  EXPECT_FALSE(IsOtherAppsPin("environments/prod/apps/values/api.yaml", "prod", "api"));
  EXPECT_FALSE(IsOtherAppsPin("environments/prod/apps/notes.txt", "prod", "api"));
  EXPECT_FALSE(IsOtherAppsPin("values/prod/web.yaml", "prod", "api"));
  EXPECT_FALSE(IsOtherAppsPin("scripts/deploy.sh", "prod", "api"));
  EXPECT_FALSE(IsOtherAppsPin("environments/prod/apps/.yaml", "prod", "api"));
}

}  // namespace
}  // namespace sluice::config
