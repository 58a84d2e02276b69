#include "adapters/exec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "process/runner.h"
#include "support/temp_dir.h"

namespace sluice::adapters {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

constexpr char kDigest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kCommit[] = "89abcdef0123456789abcdef0123456789abcdef";

config::Pin MakePin(std::vector<std::string> command) {
  config::Pin pin;
  pin.env = "prod";
  pin.app = "api";
  pin.artifact.image = "registry.example.com/shop/api";
  pin.artifact.digest = kDigest;
  pin.artifact.version = "2.5.3";
  pin.artifact.source = "feedface";
  pin.deploy.adapter = config::AdapterKind::kExec;
  pin.deploy.exec = config::ExecDeploy{std::move(command), seconds(30)};
  return pin;
}

ApplyRequest MakeRequest(const config::Pin& pin, const std::string& checkout) {
  ApplyRequest req;
  req.env = "prod";
  req.app = "api";
  req.commit = kCommit;
  req.pin = &pin;
  req.checkout_dir = checkout;
  return req;
}

void WriteScript(const std::string& path, const std::string& body) {
  testing::WriteFile(path, "#!/bin/sh\n" + body);
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    out.push_back(text.substr(pos, nl - pos));
  }
  return out;
}

// A runner that records the spec and runs nothing.
class RecordingRunner : public process::CommandRunner {
 public:
  Result<process::ProcessResult> Run(const process::ProcessSpec& spec, CancelToken*) override {
    specs.push_back(spec);
    return result;
  }
  std::vector<process::ProcessSpec> specs;
  process::ProcessResult result;
};

TEST(SubstitutePlaceholdersTest, ReplacesKnownNames) {
  std::map<std::string, std::string> values = {{"digest", "sha256:abc"}, {"env", "prod"}};
  Result<std::string> s = SubstitutePlaceholders("--set=image.digest={{digest}}@{{ env }}", values);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(*s, "--set=image.digest=sha256:abc@prod");
}

TEST(SubstitutePlaceholdersTest, TextWithoutPlaceholdersIsUnchanged) {
  Result<std::string> s = SubstitutePlaceholders("plain $(text) {single}", {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "plain $(text) {single}");
}

TEST(SubstitutePlaceholdersTest, UnknownPlaceholderIsAnError) {
  Result<std::string> s = SubstitutePlaceholders("x={{dgest}}", {{"digest", "d"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("{{dgest}}"));
  EXPECT_THAT(s.status().message(), HasSubstr("{{digest}}"));
}

TEST(SubstitutePlaceholdersTest, UnterminatedPlaceholderIsAnError) {
  Result<std::string> s = SubstitutePlaceholders("x={{digest", {{"digest", "d"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
}

TEST(SubstitutePlaceholdersTest, ValuesAreNotExpandedAgain) {
  Result<std::string> s =
      SubstitutePlaceholders("{{a}}", {{"a", "{{b}} $(rm -rf /)"}, {"b", "nope"}});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "{{b}} $(rm -rf /)");
}

TEST(PinPlaceholdersTest, CoversEveryDocumentedName) {
  config::Pin pin = MakePin({"deploy"});
  std::map<std::string, std::string> v = PinPlaceholders(pin, "prod", "api", kCommit);
  EXPECT_EQ(v["digest"], kDigest);
  EXPECT_EQ(v["image"], "registry.example.com/shop/api");
  EXPECT_EQ(v["version"], "2.5.3");
  EXPECT_EQ(v["source"], "feedface");
  EXPECT_EQ(v["env"], "prod");
  EXPECT_EQ(v["app"], "api");
  EXPECT_EQ(v["commit"], kCommit);
  EXPECT_EQ(v.size(), 7u);
}

TEST(BuildExecProcessTest, ResolvesRepoScriptAndSubstitutesArguments) {
  testing::TempDir checkout;
  WriteScript(checkout.Sub("scripts/deploy.sh"), "exit 0\n");
  config::Pin pin = MakePin({"scripts/deploy.sh", "{{digest}}", "--image={{image}}@{{version}}",
                             "{{env}}/{{app}}", "{{commit}}", "{{source}}", "literal $(x) *"});
  ApplyRequest req = MakeRequest(pin, checkout.path());
  Result<process::ProcessSpec> spec =
      BuildExecProcess(req, {{"PATH", "/usr/bin:/bin"}, {"HOME", "/h"}});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  std::string script =
      std::filesystem::weakly_canonical(checkout.Sub("scripts/deploy.sh")).string();
  EXPECT_THAT(spec->argv,
              ElementsAre(script, kDigest, "--image=registry.example.com/shop/api@2.5.3",
                          "prod/api", kCommit, "feedface", "literal $(x) *"));
  EXPECT_EQ(spec->cwd, checkout.path());
  EXPECT_EQ(spec->timeout, seconds(30));
  EXPECT_EQ(spec->env.at("PATH"), "/usr/bin:/bin");
  EXPECT_EQ(spec->env.at("HOME"), "/h");
  EXPECT_EQ(spec->env.at("SLUICE_ENV"), "prod");
  EXPECT_EQ(spec->env.at("SLUICE_APP"), "api");
  EXPECT_EQ(spec->env.at("SLUICE_IMAGE"), "registry.example.com/shop/api");
  EXPECT_EQ(spec->env.at("SLUICE_DIGEST"), kDigest);
  EXPECT_EQ(spec->env.at("SLUICE_VERSION"), "2.5.3");
  EXPECT_EQ(spec->env.at("SLUICE_COMMIT"), kCommit);
}

TEST(BuildExecProcessTest, UnknownPlaceholderIsRejected) {
  testing::TempDir checkout;
  WriteScript(checkout.Sub("deploy.sh"), "exit 0\n");
  config::Pin pin = MakePin({"./deploy.sh", "{{tag}}"});
  Result<process::ProcessSpec> spec = BuildExecProcess(MakeRequest(pin, checkout.path()), {});
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), HasSubstr("{{tag}}"));
  EXPECT_THAT(spec.status().message(), HasSubstr("environments/prod/apps/api.yaml"));
}

TEST(BuildExecProcessTest, ProgramOnPathIsFound) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({"echo", "{{version}}"});
  Result<process::ProcessSpec> spec =
      BuildExecProcess(MakeRequest(pin, checkout.path()), {{"PATH", "/usr/bin:/bin"}});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->argv[0] == "/usr/bin/echo" || spec->argv[0] == "/bin/echo") << spec->argv[0];
  EXPECT_EQ(spec->argv[1], "2.5.3");
}

TEST(BuildExecProcessTest, ProgramMissingFromPathIsNotFound) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({"sluice-no-such-deployer"});
  Result<process::ProcessSpec> spec =
      BuildExecProcess(MakeRequest(pin, checkout.path()), {{"PATH", "/usr/bin:/bin"}});
  ASSERT_FALSE(spec.ok());
  EXPECT_TRUE(spec.status().IsNotFound()) << spec.status().ToString();
  EXPECT_THAT(spec.status().message(), HasSubstr("sluice-no-such-deployer"));
}

TEST(BuildExecProcessTest, EscapingPathsAreRejectedBeforeAnythingRuns) {
  testing::TempDir outer;
  std::string checkout = outer.Sub("checkout");
  std::filesystem::create_directories(checkout);
  testing::TempDir elsewhere;
  WriteScript(outer.Sub("evil.sh"), "exit 0\n");
  WriteScript(elsewhere.Sub("evil.sh"), "exit 0\n");
  for (const std::string& program :
       {std::string("../evil.sh"), std::string("scripts/../../evil.sh"), elsewhere.Sub("evil.sh"),
        std::string("/bin/sh")}) {
    SCOPED_TRACE(program);
    config::Pin pin = MakePin({program});
    RecordingRunner runner;
    ExecAdapter adapter(runner);
    Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    EXPECT_TRUE(runner.specs.empty());
  }
}

TEST(BuildExecProcessTest, SymlinkPointingOutsideTheCheckoutIsRejected) {
  testing::TempDir checkout;
  testing::TempDir elsewhere;
  WriteScript(elsewhere.Sub("evil.sh"), "exit 0\n");
  std::filesystem::create_directories(checkout.Sub("scripts"));
  std::filesystem::create_symlink(elsewhere.Sub("evil.sh"), checkout.Sub("scripts/deploy.sh"));
  config::Pin pin = MakePin({"scripts/deploy.sh"});
  Result<process::ProcessSpec> spec = BuildExecProcess(MakeRequest(pin, checkout.path()), {});
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument) << spec.status().ToString();
  EXPECT_THAT(spec.status().message(), HasSubstr("outside"));
}

TEST(BuildExecProcessTest, SymlinkedDirectoryPointingOutsideIsRejected) {
  testing::TempDir checkout;
  testing::TempDir elsewhere;
  WriteScript(elsewhere.Sub("deploy.sh"), "exit 0\n");
  std::filesystem::create_directory_symlink(elsewhere.path(), checkout.Sub("scripts"));
  config::Pin pin = MakePin({"scripts/deploy.sh"});
  Result<process::ProcessSpec> spec = BuildExecProcess(MakeRequest(pin, checkout.path()), {});
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), Status::Code::kInvalidArgument) << spec.status().ToString();
}

TEST(BuildExecProcessTest, SymlinkStayingInsideTheCheckoutIsAllowed) {
  testing::TempDir checkout;
  WriteScript(checkout.Sub("scripts/real.sh"), "exit 0\n");
  std::filesystem::create_symlink("real.sh", checkout.Sub("scripts/deploy.sh"));
  config::Pin pin = MakePin({"scripts/deploy.sh"});
  Result<process::ProcessSpec> spec = BuildExecProcess(MakeRequest(pin, checkout.path()), {});
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->argv[0],
            std::filesystem::weakly_canonical(checkout.Sub("scripts/real.sh")).string());
}

TEST(BuildExecProcessTest, MissingOrNonRegularScriptIsRejected) {
  testing::TempDir checkout;
  std::filesystem::create_directories(checkout.Sub("scripts/dir.sh"));
  config::Pin missing = MakePin({"scripts/missing.sh"});
  Result<process::ProcessSpec> a = BuildExecProcess(MakeRequest(missing, checkout.path()), {});
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().IsNotFound()) << a.status().ToString();
  config::Pin dir = MakePin({"scripts/dir.sh"});
  Result<process::ProcessSpec> b = BuildExecProcess(MakeRequest(dir, checkout.path()), {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Status::Code::kInvalidArgument) << b.status().ToString();
}

TEST(BuildExecProcessTest, NonExecutableScriptIsRejectedWithAHint) {
  testing::TempDir checkout;
  testing::WriteFile(checkout.Sub("deploy.sh"), "#!/bin/sh\n");
  config::Pin pin = MakePin({"./deploy.sh"});
  Result<process::ProcessSpec> spec = BuildExecProcess(MakeRequest(pin, checkout.path()), {});
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("executable"));
}

TEST(ExecAdapterTest, RunsRepoScriptInCheckoutWithSluiceVariables) {
  testing::TempDir checkout;
  testing::TempDir out;
  WriteScript(checkout.Sub("scripts/deploy.sh"),
              "env > \"$OUT/env.txt\"\npwd > \"$OUT/pwd.txt\"\n"
              "printf '%s\\n' \"$@\" > \"$OUT/args.txt\"\necho deployed \"$1\"\n");
  config::Pin pin = MakePin({"scripts/deploy.sh", "{{digest}}", "two words"});
  ApplyRequest req = MakeRequest(pin, checkout.path());
  std::vector<std::string> streamed;
  req.log = [&](std::string_view line, bool) { streamed.emplace_back(line); };
  // BaseEnvironment does not carry OUT: add it through a wrapping runner.
  process::BoostCommandRunner real;
  struct AddEnv : process::CommandRunner {
    process::CommandRunner& inner;
    std::string out;
    AddEnv(process::CommandRunner& i, std::string o) : inner(i), out(std::move(o)) {}
    Result<process::ProcessResult> Run(const process::ProcessSpec& spec, CancelToken* c) override {
      process::ProcessSpec copy = spec;
      copy.env["OUT"] = out;
      return inner.Run(copy, c);
    }
  } runner(real, out.path());
  ExecAdapter adapter(runner);
  EXPECT_EQ(adapter.Name(), "exec");
  Result<ApplyResult> r = adapter.Apply(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_THAT(r->summary, ::testing::StartsWith("exit 0 in "));
  EXPECT_EQ(r->output_tail, std::string("deployed ") + kDigest + "\n");
  EXPECT_THAT(streamed, ElementsAre(std::string("deployed ") + kDigest));

  EXPECT_THAT(Lines(testing::ReadFile(out.Sub("env.txt"))),
              IsSupersetOf(std::vector<std::string>{
                  "SLUICE_ENV=prod", "SLUICE_APP=api", "SLUICE_IMAGE=registry.example.com/shop/api",
                  std::string("SLUICE_DIGEST=") + kDigest, "SLUICE_VERSION=2.5.3",
                  std::string("SLUICE_COMMIT=") + kCommit}));
  EXPECT_EQ(testing::ReadFile(out.Sub("pwd.txt")),
            std::filesystem::canonical(checkout.path()).string() + "\n");
  EXPECT_THAT(Lines(testing::ReadFile(out.Sub("args.txt"))), ElementsAre(kDigest, "two words"));
}

// deploy.strategy: SLUICE_WEIGHT for a canary pin (100 outside its steps),
// SLUICE_SLOT and SLUICE_ACTION for blue-green; neither otherwise.
TEST(BuildExecProcessTest, StrategyVariables) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({"true"});
  ApplyRequest req = MakeRequest(pin, checkout.path());
  req.weight = 10;
  Result<process::ProcessSpec> plain = BuildExecProcess(req, {{"PATH", "/usr/bin:/bin"}});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->env.count("SLUICE_WEIGHT"), 0u);
  EXPECT_EQ(plain->env.count("SLUICE_SLOT"), 0u);

  pin.deploy.strategy.kind = config::StrategyKind::kCanary;
  Result<process::ProcessSpec> canary = BuildExecProcess(req, {{"PATH", "/usr/bin:/bin"}});
  ASSERT_TRUE(canary.ok());
  EXPECT_EQ(canary->env.at("SLUICE_WEIGHT"), "10");
  req.weight = 0;
  EXPECT_EQ(BuildExecProcess(req, {{"PATH", "/usr/bin:/bin"}})->env.at("SLUICE_WEIGHT"), "0");
  req.weight.reset();
  EXPECT_EQ(BuildExecProcess(req, {{"PATH", "/usr/bin:/bin"}})->env.at("SLUICE_WEIGHT"), "100");

  pin.deploy.strategy.kind = config::StrategyKind::kBlueGreen;
  req.slot = "green";
  req.action = "switch";
  Result<process::ProcessSpec> bg = BuildExecProcess(req, {{"PATH", "/usr/bin:/bin"}});
  ASSERT_TRUE(bg.ok());
  EXPECT_EQ(bg->env.count("SLUICE_WEIGHT"), 0u);
  EXPECT_EQ(bg->env.at("SLUICE_SLOT"), "green");
  EXPECT_EQ(bg->env.at("SLUICE_ACTION"), "switch");
}

TEST(ExecAdapterTest, ProgramOnPathRuns) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({"echo", "{{app}}", "{{version}}"});
  process::BoostCommandRunner runner;
  ExecAdapter adapter(runner);
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->output_tail, "api 2.5.3\n");
}

TEST(ExecAdapterTest, FailingScriptReportsExitCodeAndStderrTail) {
  testing::TempDir checkout;
  std::string body = "echo progress\n";
  for (int i = 1; i <= 30; ++i) body += "echo \"err line " + std::to_string(i) + "\" >&2\n";
  body += "echo 'fatal: cluster unreachable' >&2\nexit 3\n";
  WriteScript(checkout.Sub("deploy.sh"), body);
  config::Pin pin = MakePin({"./deploy.sh"});
  process::BoostCommandRunner runner;
  ExecAdapter adapter(runner);
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_THAT(r->summary,
              ::testing::MatchesRegex("exit 3 in [0-9.]+s: fatal: cluster unreachable"));
  std::vector<std::string> tail = Lines(r->output_tail);
  ASSERT_EQ(tail.size(), 20u);
  EXPECT_EQ(tail.front(), "err line 12");
  EXPECT_EQ(tail.back(), "fatal: cluster unreachable");
}

TEST(ExecAdapterTest, TimeoutIsAFailedApply) {
  testing::TempDir checkout;
  WriteScript(checkout.Sub("deploy.sh"), "echo starting\nsleep 1000\n");
  config::Pin pin = MakePin({"./deploy.sh"});
  pin.deploy.exec->timeout = milliseconds(300);
  process::BoostCommandRunner runner;
  ExecAdapter adapter(runner);
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->summary, "timed out after 300ms, killed");
  EXPECT_EQ(r->output_tail, "starting\n");
}

TEST(ExecAdapterTest, CancelledApplyIsNotOk) {
  testing::TempDir checkout;
  WriteScript(checkout.Sub("deploy.sh"), "sleep 1000\n");
  config::Pin pin = MakePin({"./deploy.sh"});
  CancelToken token;
  token.Cancel();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  req.cancel = &token;
  process::BoostCommandRunner runner;
  ExecAdapter adapter(runner);
  Result<ApplyResult> r = adapter.Apply(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->cancelled);
  EXPECT_THAT(r->summary, ::testing::StartsWith("cancelled after "));
}

TEST(ExecAdapterTest, DefaultObserveIsUnknown) {
  testing::TempDir checkout;
  config::Pin pin = MakePin({"echo"});
  RecordingRunner runner;
  ExecAdapter adapter(runner);
  Result<Observed> o = adapter.Observe(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(*o, Observed::kUnknown);
  EXPECT_TRUE(runner.specs.empty());
}

TEST(MakeAdapterTest, EveryAdapterKindIsAvailable) {
  RecordingRunner runner;
  for (auto [kind, name] : {std::pair{config::AdapterKind::kExec, "exec"},
                            std::pair{config::AdapterKind::kHelm, "helm"},
                            std::pair{config::AdapterKind::kTerraform, "terraform"}}) {
    Result<std::unique_ptr<Adapter>> adapter = MakeAdapter(kind, runner);
    ASSERT_TRUE(adapter.ok()) << adapter.status().ToString();
    EXPECT_EQ((*adapter)->Name(), name);
  }
  EXPECT_TRUE(runner.specs.empty());
}

}  // namespace
}  // namespace sluice::adapters
