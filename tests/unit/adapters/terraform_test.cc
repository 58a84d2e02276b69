// Tests of the Terraform / OpenTofu adapter. Builders and parsers are fed
// strings; the adapter runs tests/stubs/terraform (and tests/stubs/tofu), a
// stand-in that checks its arguments and reproduces the documented output
// and exit codes:
//   https://developer.hashicorp.com/terraform/cli/commands/plan
//     (-detailed-exitcode: 0 no changes, 1 error, 2 changes present)
//   https://developer.hashicorp.com/terraform/cli/commands/apply (saved plan)
//   https://developer.hashicorp.com/terraform/cli/commands/workspace/select
//   https://developer.hashicorp.com/terraform/internals/json-format
//     (format_version, resource_changes[].address, .change.actions)
//   https://opentofu.org/docs/internals/json-format/
// The adapter code is the same that runs against the real binaries.

#include "adapters/terraform.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "process/runner.h"
#include "support/stub_world.h"
#include "support/temp_dir.h"

namespace sluice::adapters {
namespace {

namespace fs = std::filesystem;
using sluice::testing::Invocation;
using sluice::testing::StubWorld;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kDigest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kCommit[] = "89abcdef0123456789abcdef0123456789abcdef";

config::Pin MakePin(std::string dir = "infra/api") {
  config::Pin pin;
  pin.env = "prod";
  pin.app = "api";
  pin.artifact.image = "registry.example.com/shop/api";
  pin.artifact.digest = kDigest;
  pin.artifact.version = "2.5.3";
  pin.deploy.adapter = config::AdapterKind::kTerraform;
  config::TerraformDeploy tf;
  tf.dir = std::move(dir);
  tf.vars = {{"image_digest", "{{digest}}"},
             {"image", "{{image}}@{{digest}}"},
             {"replicas", "3"},
             {"environment", "{{env}}"}};
  tf.timeout = std::chrono::minutes(30);
  pin.deploy.terraform = tf;
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

std::string Canonical(const std::string& path) { return fs::weakly_canonical(path).string(); }

void WriteModule(const testing::TempDir& checkout) {
  testing::WriteFile(checkout.Sub("infra/api/main.tf"), "variable \"image_digest\" {}\n");
}

// What Terraform's tests add to the stand-ins' world. TF_WORKSPACE and
// TF_CLI_ARGS_plan are set as an operator might pass them through
// SLUICE_PASS_ENV: the adapter must drop them.
const std::map<std::string, std::string> kTerraformEnv = {
    {"STUB_LOG_ENV",
     "TF_IN_AUTOMATION TF_INPUT TF_WORKSPACE TF_CLI_ARGS_plan AWS_PROFILE STATE_TOKEN"},
    {"AWS_PROFILE", "deploy"},
    {"TF_WORKSPACE", "staging"},
    {"TF_CLI_ARGS_plan", "-destroy"}};

std::vector<std::string> Args(const std::vector<Invocation>& calls) {
  std::vector<std::string> out;
  for (const Invocation& c : calls) {
    std::string joined;
    for (size_t i = 0; i < c.args.size() && i < 2; ++i) joined += (i ? " " : "") + c.args[i];
    out.push_back(joined);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Builders

TEST(BuildTerraformArgsTest, PlanSubstitutesVarsInKeyOrder) {
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, "/checkout");
  Result<std::vector<std::string>> plan = BuildTerraformPlanArgs(req, "/checkout/infra/p.tfplan");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_THAT(
      *plan,
      ElementsAre("plan", "-input=false", "-no-color", "-lock-timeout=5m",
                  "-out=/checkout/infra/p.tfplan", "-detailed-exitcode", "-var", "environment=prod",
                  "-var", std::string("image=registry.example.com/shop/api@") + kDigest, "-var",
                  std::string("image_digest=") + kDigest, "-var", "replicas=3"));
  Result<std::vector<std::string>> drift = BuildTerraformPlanArgs(req, "");
  ASSERT_TRUE(drift.ok());
  EXPECT_THAT(*drift,
              ElementsAre("plan", "-input=false", "-no-color", "-lock-timeout=5m",
                          "-detailed-exitcode", "-var", "environment=prod", "-var",
                          std::string("image=registry.example.com/shop/api@") + kDigest, "-var",
                          std::string("image_digest=") + kDigest, "-var", "replicas=3"));
}

TEST(BuildTerraformArgsTest, OtherSteps) {
  config::Pin pin = MakePin();
  pin.deploy.terraform->timeout = milliseconds(300);
  EXPECT_THAT(BuildTerraformInitArgs(), ElementsAre("init", "-input=false", "-no-color"));
  EXPECT_THAT(BuildTerraformWorkspaceSelectArgs("prod"),
              ElementsAre("workspace", "select", "prod"));
  EXPECT_THAT(BuildTerraformWorkspaceNewArgs("prod"), ElementsAre("workspace", "new", "prod"));
  EXPECT_THAT(BuildTerraformShowArgs("/p.tfplan"), ElementsAre("show", "-json", "/p.tfplan"));
  EXPECT_THAT(
      BuildTerraformApplyArgs(*pin.deploy.terraform, "/p.tfplan"),
      ElementsAre("apply", "-input=false", "-no-color", "-lock-timeout=150ms", "/p.tfplan"));
}

TEST(BuildTerraformArgsTest, UnknownPlaceholderNamesTheVariable) {
  config::Pin pin = MakePin();
  pin.deploy.terraform->vars["tag"] = "{{tag}}";
  Result<std::vector<std::string>> plan = BuildTerraformPlanArgs(MakeRequest(pin, "/c"), "");
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("deploy.terraform.vars.tag"));
  EXPECT_THAT(plan.status().message(), HasSubstr("{{tag}}"));
}

TEST(TerraformLockTimeoutTest, HalfTheTimeoutAtMostFiveMinutes) {
  EXPECT_EQ(TerraformLockTimeout(std::chrono::minutes(30)), std::chrono::minutes(5));
  EXPECT_EQ(TerraformLockTimeout(std::chrono::minutes(4)), std::chrono::minutes(2));
  EXPECT_EQ(TerraformLockTimeout(milliseconds(300)), milliseconds(150));
}

TEST(TerraformWorkspaceTest, DefaultsToTheEnvironment) {
  config::Pin pin = MakePin();
  pin.deploy.terraform->workspace.clear();
  EXPECT_EQ(TerraformWorkspace(MakeRequest(pin, "/c")), "prod");
  pin.deploy.terraform->workspace = "api-prod";
  EXPECT_EQ(TerraformWorkspace(MakeRequest(pin, "/c")), "api-prod");
}

TEST(ResolveTerraformDirTest, DirMustBeAContainedDirectory) {
  testing::TempDir outer;
  std::string checkout = outer.Sub("checkout");
  fs::create_directories(outer.Sub("infra"));
  fs::create_directories(checkout + "/infra/api");
  testing::WriteFile(checkout + "/infra/file.tf", "");
  testing::TempDir elsewhere;
  fs::create_directory_symlink(elsewhere.path(), checkout + "/infra/linked");
  auto resolve = [&](const std::string& dir) {
    config::Pin pin = MakePin(dir);
    return ResolveTerraformDir(MakeRequest(pin, checkout));
  };
  ASSERT_TRUE(resolve("infra/api").ok());
  EXPECT_EQ(*resolve("infra/api"), Canonical(checkout + "/infra/api"));
  for (const std::string& bad : {std::string("../infra"), std::string("/etc"),
                                 std::string("infra/linked"), std::string("infra/file.tf")}) {
    Result<std::string> r = resolve(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("deploy.terraform.dir"));
  }
  EXPECT_TRUE(resolve("infra/missing").status().IsNotFound());
}

// ---------------------------------------------------------------------------
// Parsers, fed the JSON plan representation
// (https://developer.hashicorp.com/terraform/internals/json-format).

constexpr char kPlanJson[] = R"({
  "format_version": "1.2",
  "terraform_version": "1.7.5",
  "planned_values": {"root_module": {}},
  "resource_changes": [
    {"address": "aws_instance.web", "mode": "managed", "type": "aws_instance", "name": "web",
     "provider_name": "registry.terraform.io/hashicorp/aws",
     "change": {"actions": ["create"], "before": null, "after": {}}},
    {"address": "aws_s3_bucket.logs", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
     "change": {"actions": ["update"], "before": {}, "after": {}}},
    {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance",
     "name": "main", "action_reason": "replace_because_cannot_update",
     "change": {"actions": ["delete", "create"], "before": {}, "after": {}}},
    {"address": "aws_lb.front", "change": {"actions": ["create", "delete"]}},
    {"address": "module.old.aws_iam_role.r", "module_address": "module.old",
     "change": {"actions": ["delete"], "before": {}, "after": null}},
    {"address": "aws_instance.web2", "deposed": "00000001",
     "change": {"actions": ["delete"]}},
    {"address": "null_resource.same", "change": {"actions": ["no-op"]}},
    {"address": "data.aws_ami.ubuntu", "mode": "data", "change": {"actions": ["read"]}},
    {"address": "aws_instance.kept", "change": {"actions": ["forget"]}}
  ],
  "output_changes": {},
  "applyable": true,
  "complete": true,
  "errored": false
})";

TEST(ParseTerraformPlanJsonTest, CountsActionsAsTerraformDoes) {
  Result<TerraformPlanSummary> plan = ParseTerraformPlanJson(kPlanJson);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->adds, 3);
  EXPECT_EQ(plan->changes, 1);
  EXPECT_EQ(plan->destroys, 4);
  EXPECT_THAT(plan->destroyed, ElementsAre("aws_db_instance.main", "aws_lb.front",
                                           "module.old.aws_iam_role.r", "aws_instance.web2"));
  EXPECT_THAT(plan->replaced, ElementsAre("aws_db_instance.main", "aws_lb.front"));
  EXPECT_TRUE(plan->unknown.empty());
  EXPECT_EQ(DescribeTerraformPlan(*plan),
            "3 to add, 1 to change, 4 to destroy (destroys: aws_db_instance.main [replaced], "
            "aws_lb.front [replaced], module.old.aws_iam_role.r, aws_instance.web2)");
}

TEST(ParseTerraformPlanJsonTest, EmptyPlansAndOldFormatVersions) {
  for (const char* text :
       {R"({"format_version":"1.0"})", R"({"format_version":"0.1","resource_changes":[]})",
        R"({"format_version":"1.2","resource_changes":null})"}) {
    Result<TerraformPlanSummary> plan = ParseTerraformPlanJson(text);
    ASSERT_TRUE(plan.ok()) << text;
    EXPECT_EQ(DescribeTerraformPlan(*plan), "0 to add, 0 to change, 0 to destroy");
  }
}

TEST(ParseTerraformPlanJsonTest, RejectsWhatItCannotTrust) {
  for (const char* text :
       {"", "{", "[]", R"({"resource_changes":[]})", R"({"format_version":"2.0"})",
        R"({"format_version":"x"})", R"({"format_version":"1.2","resource_changes":{}})",
        R"({"format_version":"1.2","resource_changes":[{"change":{"actions":[]}}]})",
        R"({"format_version":"1.2","resource_changes":[{"address":"a.b","change":{}}]})"}) {
    SCOPED_TRACE(text);
    Result<TerraformPlanSummary> plan = ParseTerraformPlanJson(text);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(ParseTerraformPlanJsonTest, UnknownActionsAreCalledOut) {
  Result<TerraformPlanSummary> plan = ParseTerraformPlanJson(
      R"({"format_version":"1.9","resource_changes":[{"address":"x.y","change":{"actions":["obliterate"]}}]})");
  ASSERT_TRUE(plan.ok());
  EXPECT_THAT(plan->unknown, ElementsAre("x.y: obliterate"));
  EXPECT_THAT(DescribeTerraformPlan(*plan), HasSubstr("unknown actions: x.y: obliterate"));
}

TEST(DescribeTerraformPlanTest, ListsAtMostTenDestroys) {
  TerraformPlanSummary plan;
  plan.destroys = 12;
  for (int i = 0; i < 12; ++i) plan.destroyed.push_back("r.n" + std::to_string(i));
  EXPECT_THAT(DescribeTerraformPlan(plan), HasSubstr("r.n9 and 2 more)"));
  EXPECT_THAT(DescribeTerraformPlan(plan), Not(HasSubstr("r.n10")));
}

TEST(IsTerraformWorkspaceMissingTest, MatchesTheDocumentedMessage) {
  EXPECT_TRUE(IsTerraformWorkspaceMissing(
      "\nWorkspace \"prod\" doesn't exist.\n\nYou can create this workspace with the \"new\" "
      "subcommand \nor include the \"-or-create\" flag with the \"select\" subcommand.\n"));
  EXPECT_FALSE(IsTerraformWorkspaceMissing("Error: Failed to get existing workspaces"));
}

// ---------------------------------------------------------------------------
// The adapter against tests/stubs/terraform.

std::vector<std::string> ExpectedPlan(const std::string& plan_file) {
  std::vector<std::string> args = {"plan", "-input=false", "-no-color", "-lock-timeout=5m"};
  if (!plan_file.empty()) args.push_back("-out=" + plan_file);
  std::vector<std::string> rest = {"-detailed-exitcode",
                                   "-var",
                                   "environment=prod",
                                   "-var",
                                   std::string("image=registry.example.com/shop/api@") + kDigest,
                                   "-var",
                                   std::string("image_digest=") + kDigest,
                                   "-var",
                                   "replicas=3"};
  args.insert(args.end(), rest.begin(), rest.end());
  return args;
}

// deploy.strategy: each canary step passes the weight as -var
// <weightValue with '_' for '.'>=N after the pin's vars.
TEST(TerraformAdapterTest, CanaryStepsPassTheWeightVariable) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  pin.deploy.strategy.kind = config::StrategyKind::kCanary;
  pin.deploy.strategy.steps = {{50, std::nullopt, 0}, {100, std::nullopt, 0}};
  ApplyRequest req = MakeRequest(pin, checkout.path());
  req.weight = 50;
  Result<ApplyResult> r = adapter.Apply(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok) << r->summary;
  const std::string plan_file = Canonical(checkout.Sub("infra/api")) + "/sluice.tfplan";
  std::vector<std::string> expected = ExpectedPlan(plan_file);
  expected.push_back("-var");
  expected.push_back("canary_weight=50");
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(calls[3].args, expected);
}

TEST(TerraformAdapterTest, AppliesExactlyThePlanItShowed) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  EXPECT_EQ(adapter.Name(), "terraform");
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  std::vector<std::string> streamed;
  req.log = [&](std::string_view line, bool) { streamed.emplace_back(line); };

  Result<ApplyResult> r = adapter.Apply(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok) << r->summary;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_THAT(
      r->summary,
      MatchesRegex("workspace prod: applied 1 to add, 1 to change, 1 to destroy \\(destroys: "
                   "aws_db_instance\\.old\\) in [0-9.]+s"));
  EXPECT_THAT(r->output_tail,
              HasSubstr("Apply complete! Resources: 1 added, 1 changed, 1 destroyed."));
  EXPECT_THAT(streamed,
              ::testing::Contains("sluice: plan: 1 to add, 1 to change, 1 to destroy (destroys: "
                                  "aws_db_instance.old)"));

  const std::string dir = Canonical(checkout.Sub("infra/api"));
  const std::string plan_file = dir + "/sluice.tfplan";
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_THAT(calls[0].args, ElementsAre("init", "-input=false", "-no-color"));
  EXPECT_THAT(calls[1].args, ElementsAre("workspace", "select", "prod"));
  EXPECT_THAT(calls[2].args, ElementsAre("workspace", "new", "prod"));
  EXPECT_EQ(calls[3].args, ExpectedPlan(plan_file));
  EXPECT_THAT(calls[4].args, ElementsAre("show", "-json", plan_file));
  EXPECT_THAT(calls[5].args,
              ElementsAre("apply", "-input=false", "-no-color", "-lock-timeout=5m", plan_file));
  for (const Invocation& call : calls) {
    EXPECT_EQ(call.program, "terraform");
    EXPECT_EQ(call.cwd, dir);
    EXPECT_EQ(call.env.at("TF_IN_AUTOMATION"), "1");
    EXPECT_EQ(call.env.at("TF_INPUT"), "0");
    EXPECT_EQ(call.env.at("AWS_PROFILE"), "deploy");
    EXPECT_EQ(call.env.count("TF_WORKSPACE"), 0u);
    EXPECT_EQ(call.env.count("TF_CLI_ARGS_plan"), 0u);
  }
  // The stand-in copies the plan file it applied: the one this run planned.
  EXPECT_EQ(testing::ReadFile(world.Sub("tf-applied-plan")),
            std::string("stub-plan\nworkspace=prod\nenvironment=prod\n") +
                "image=registry.example.com/shop/api@" + kDigest + "\nimage_digest=" + kDigest +
                "\nreplicas=3\n");
  EXPECT_FALSE(fs::exists(plan_file));  // deleted: it may hold sensitive values

  // A second run finds the workspace.
  world.ClearLog();
  ASSERT_TRUE(adapter.Apply(req)->ok);
  EXPECT_THAT(Args(world.Invocations()),
              ElementsAre("init -input=false", "workspace select", "plan -input=false",
                          "show -json", "apply -input=false"));
}

TEST(TerraformAdapterTest, NoChangesSkipsShowAndApply) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  world.env()["STUB_TF_PLAN_EXIT"] = "0";
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  pin.deploy.terraform->workspace = "default";
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_THAT(r->summary,
              MatchesRegex("workspace default: no changes, nothing applied \\(plan exit 0 in "
                           "[0-9.]+s\\)"));
  EXPECT_THAT(r->output_tail, HasSubstr("No changes. Your infrastructure matches"));
  EXPECT_THAT(Args(world.Invocations()),
              ElementsAre("init -input=false", "workspace select", "plan -input=false"));
  EXPECT_FALSE(fs::exists(world.Sub("tf-applied-plan")));
}

TEST(TerraformAdapterTest, FailingStepsStopTheSequence) {
  testing::TempDir checkout;
  WriteModule(checkout);
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  struct Case {
    const char* var;
    const char* value;
    std::vector<std::string> steps;
    const char* summary;
  };
  for (const Case& c : std::vector<Case>{
           {"STUB_TF_INIT_FAIL",
            "1",
            {"init -input=false"},
            "workspace prod: terraform init failed: exit 1 in [0-9.]+s: status code: 403"},
           {"STUB_TF_PLAN_EXIT",
            "1",
            {"init -input=false", "workspace select", "workspace new", "plan -input=false"},
            "workspace prod: terraform plan failed: exit 1 in [0-9.]+s: 1: variable "
            "\"image_digest\" \\{\\}"},
           {"STUB_TF_APPLY_FAIL",
            "1",
            {"init -input=false", "workspace select", "workspace new", "plan -input=false",
             "show -json", "apply -input=false"},
            "workspace prod: terraform apply failed: exit 1 in [0-9.]+s: on main.tf line 12, in "
            "resource \"aws_instance\" \"web\": \\(plan: 1 to add, 1 to change, 1 to destroy "
            "\\(destroys: aws_db_instance.old\\)\\)"}}) {
    SCOPED_TRACE(c.var);
    StubWorld world(kTerraformEnv);
    world.env()[c.var] = c.value;
    TerraformAdapter adapter(runner, world.env());
    Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->ok);
    EXPECT_EQ(r->exit_code, 1);
    EXPECT_THAT(r->summary, MatchesRegex(c.summary));
    EXPECT_THAT(r->output_tail, HasSubstr("Error: "));
    EXPECT_EQ(Args(world.Invocations()), c.steps);
  }
}

TEST(TerraformAdapterTest, UnreadablePlanIsNeverApplied) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  testing::WriteFile(world.Sub("plan.json"), R"({"format_version":"2.0"})");
  world.env()["STUB_TF_PLAN_JSON"] = world.Sub("plan.json");
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_THAT(r->summary, HasSubstr("cannot read the plan"));
  EXPECT_THAT(r->summary, HasSubstr("nothing applied"));
  EXPECT_EQ(Args(world.Invocations()).back(), "show -json");
}

TEST(TerraformAdapterTest, ReplacementsAndDestroysAreCalledOut) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  testing::WriteFile(world.Sub("plan.json"), kPlanJson);
  world.env()["STUB_TF_PLAN_JSON"] = world.Sub("plan.json");
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  EXPECT_THAT(r->summary, HasSubstr("applied 3 to add, 1 to change, 4 to destroy (destroys: "
                                    "aws_db_instance.main [replaced], aws_lb.front [replaced], "
                                    "module.old.aws_iam_role.r, aws_instance.web2)"));
}

TEST(TerraformAdapterTest, TofuIsRunWhenThePinSaysSo) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  pin.deploy.terraform->binary = "tofu";
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok);
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 6u);
  for (const Invocation& call : calls) EXPECT_EQ(call.program, "tofu");
}

TEST(TerraformAdapterTest, TimeoutBoundsTheWholeSequence) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  world.env()["STUB_HANG"] = "plan";
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  // Enough for init and workspace to finish even on a loaded machine.
  pin.deploy.terraform->timeout = milliseconds(1500);
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->duration, seconds(20));
  EXPECT_THAT(r->summary,
              MatchesRegex("workspace prod: timed out during terraform plan after [0-9.]+s "
                           "\\(timeout 1s500ms\\), killed"));
  EXPECT_THAT(world.Invocations().back().args, ::testing::Contains("-lock-timeout=750ms"));
}

TEST(TerraformAdapterTest, CancellationDuringApplyKillsIt) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  world.env()["STUB_HANG"] = "apply";
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  config::Pin pin = MakePin();
  CancelToken token;
  ApplyRequest req = MakeRequest(pin, checkout.path());
  req.cancel = &token;
  req.log = [&](std::string_view line, bool) {
    if (line == "stub: apply started") token.Cancel();
  };
  Result<ApplyResult> r = adapter.Apply(req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_TRUE(r->cancelled);
  EXPECT_THAT(r->summary, StartsWith("workspace prod: cancelled during terraform apply after "));
  EXPECT_EQ(Args(world.Invocations()).back(), "apply -input=false");
  EXPECT_FALSE(fs::exists(world.Sub("tf-applied-plan")));
}

TEST(TerraformAdapterTest, SecretsInTheEnvironmentAreRedacted) {
  const std::string secret = "state-7c1e55aa90b3";
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  world.env()["STATE_TOKEN"] = secret;
  world.env()["STUB_ECHO_ENV"] = "STATE_TOKEN";
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());
  std::string streamed;
  req.log = [&](std::string_view line, bool) {
    streamed.append(line);
    streamed += '\n';
  };
  Result<ApplyResult> ok = TerraformAdapter(runner, world.env()).Apply(req);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  world.env()["STUB_TF_APPLY_FAIL"] = "1";
  Result<ApplyResult> failed = TerraformAdapter(runner, world.env()).Apply(req);
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  EXPECT_FALSE(failed->ok);
  for (const ApplyResult* r : {&*ok, &*failed}) {
    EXPECT_THAT(r->output_tail, Not(HasSubstr(secret)));
    EXPECT_THAT(r->summary, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(streamed, HasSubstr("stub: using STATE_TOKEN=***"));
  EXPECT_THAT(streamed, Not(HasSubstr(secret)));
  EXPECT_EQ(world.Invocations().at(0).env.at("STATE_TOKEN"), secret);
}

TEST(TerraformAdapterTest, EscapingDirOrBadVarsAreRejectedBeforeAnythingRuns) {
  testing::TempDir outer;
  std::string checkout = outer.Sub("checkout");
  fs::create_directories(outer.Sub("infra"));
  fs::create_directories(checkout);
  testing::TempDir elsewhere;
  fs::create_directory_symlink(elsewhere.path(), checkout + "/infra");
  StubWorld world(kTerraformEnv);
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, world.env());
  for (const std::string& dir : {std::string("../infra"), elsewhere.path(), std::string("infra")}) {
    SCOPED_TRACE(dir);
    config::Pin pin = MakePin(dir);
    Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    Result<Observed> o = adapter.Observe(MakeRequest(pin, checkout));
    ASSERT_FALSE(o.ok());
  }
  testing::TempDir good;
  WriteModule(good);
  config::Pin bad_var = MakePin();
  bad_var.deploy.terraform->vars["x"] = "{{nope}}";
  Result<ApplyResult> r = adapter.Apply(MakeRequest(bad_var, good.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("{{nope}}"));
  config::Pin flag_ws = MakePin();
  flag_ws.deploy.terraform->workspace = "-or-create";
  EXPECT_FALSE(adapter.Apply(MakeRequest(flag_ws, good.path())).ok());
  EXPECT_FALSE(fs::exists(world.log()));
}

TEST(TerraformAdapterTest, ObserveRunsTheDriftPlan) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());

  // A workspace that does not exist holds nothing, and is not created.
  Result<Observed> missing = TerraformAdapter(runner, world.env()).Observe(req);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(*missing, Observed::kOtherDeployed);
  EXPECT_THAT(Args(world.Invocations()), ElementsAre("init -input=false", "workspace select"));

  ASSERT_TRUE(TerraformAdapter(runner, world.env()).Apply(req)->ok);
  world.ClearLog();
  world.env()["STUB_TF_PLAN_EXIT"] = "0";
  Result<Observed> same = TerraformAdapter(runner, world.env()).Observe(req);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(*same, Observed::kPinDeployed);
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_THAT(calls[0].args, ElementsAre("init", "-input=false", "-no-color"));
  EXPECT_THAT(calls[1].args, ElementsAre("workspace", "select", "prod"));
  EXPECT_EQ(calls[2].args, ExpectedPlan(""));

  world.env()["STUB_TF_PLAN_EXIT"] = "2";
  EXPECT_EQ(*TerraformAdapter(runner, world.env()).Observe(req), Observed::kOtherDeployed);

  world.env()["STUB_TF_PLAN_EXIT"] = "1";
  Result<Observed> broken = TerraformAdapter(runner, world.env()).Observe(req);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), Status::Code::kIOError);
  EXPECT_THAT(broken.status().message(), HasSubstr("terraform plan: exit 1"));
}

TEST(TerraformAdapterTest, BinaryMissingFromPathIsNotFound) {
  testing::TempDir checkout;
  WriteModule(checkout);
  process::BoostCommandRunner runner;
  TerraformAdapter adapter(runner, {{"PATH", "/nonexistent"}});
  config::Pin pin = MakePin();
  pin.deploy.terraform->binary = "tofu";
  Result<ApplyResult> r = adapter.Apply(MakeRequest(pin, checkout.path()));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("\"tofu\""));
}

TEST(TerraformAdapterTest, MakeAdapterReturnsTheTerraformAdapter) {
  process::BoostCommandRunner runner;
  Result<std::unique_ptr<Adapter>> a = MakeAdapter(config::AdapterKind::kTerraform, runner);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->Name(), "terraform");
}

}  // namespace
}  // namespace sluice::adapters

namespace sluice::adapters {
namespace {

// Drift (issue #5): a plan with exit 2 when nothing changed in Git.
// https://developer.hashicorp.com/terraform/cli/commands/plan#detailed-exitcode
TEST(TerraformPlanCountsTest, ReadsThePlanSummaryLine) {
  EXPECT_EQ(TerraformPlanCounts("\nTerraform will perform the following actions:\n\n"
                                "  # a.b will be updated in-place\n\n"
                                "Plan: 0 to add, 1 to change, 0 to destroy.\n"),
            "0 to add, 1 to change, 0 to destroy");
  EXPECT_EQ(TerraformPlanCounts("Plan: 2 to import, 0 to add, 0 to change, 0 to destroy.\r\n"),
            "2 to import, 0 to add, 0 to change, 0 to destroy");
  EXPECT_EQ(TerraformPlanCounts("\nChanges to Outputs:\n  ~ url = \"a\" -> \"b\"\n"),
            "changes to outputs only");
  EXPECT_EQ(TerraformPlanCounts("No changes. Your infrastructure matches the configuration.\n"),
            "");
  EXPECT_EQ(TerraformPlanCounts(""), "");
}

TEST(TerraformAdapterTest, InspectReportsThePlanCountsOfADriftPlan) {
  testing::TempDir checkout;
  WriteModule(checkout);
  StubWorld world(kTerraformEnv);
  process::BoostCommandRunner runner;
  config::Pin pin = MakePin();
  ApplyRequest req = MakeRequest(pin, checkout.path());

  Result<Observation> missing = TerraformAdapter(runner, world.env()).Inspect(req);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->state, Observed::kOtherDeployed);
  EXPECT_EQ(missing->detail, "terraform workspace prod does not exist");

  ASSERT_TRUE(TerraformAdapter(runner, world.env()).Apply(req)->ok);
  world.ClearLog();
  world.env()["STUB_TF_PLAN_EXIT"] = "0";
  Result<Observation> same = TerraformAdapter(runner, world.env()).Inspect(req);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->state, Observed::kPinDeployed);
  EXPECT_EQ(same->exit_code, 0);
  std::vector<Invocation> calls = world.Invocations();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[2].args, ExpectedPlan(""));  // no -out: the drift plan is never applied

  world.env()["STUB_TF_PLAN_EXIT"] = "2";
  testing::WriteFile(world.Sub("tf-plan-summary"), "0 to add, 1 to change, 0 to destroy");
  Result<Observation> drift = TerraformAdapter(runner, world.env()).Inspect(req);
  ASSERT_TRUE(drift.ok()) << drift.status().ToString();
  EXPECT_EQ(drift->state, Observed::kOtherDeployed);
  EXPECT_EQ(drift->detail, "terraform plan (workspace prod): 0 to add, 1 to change, 0 to destroy");
  EXPECT_EQ(drift->exit_code, 2);

  // The state file wins over the environment (tests change it between passes).
  testing::WriteFile(world.Sub("tf-plan-exit"), "1");
  Result<Observation> broken = TerraformAdapter(runner, world.env()).Inspect(req);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("terraform plan: exit 1"));
}

}  // namespace
}  // namespace sluice::adapters
