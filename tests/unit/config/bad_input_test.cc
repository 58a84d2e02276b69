// One table of malformed files of every kind: each row names the exact
// "path:line: " a diagnostic must start with and a fragment of its message.

#include <gtest/gtest.h>

#include <functional>

#include "config/pin.h"
#include "config/policy.h"
#include "config/settings.h"
#include "config_test_util.h"

namespace sluice::config {
namespace {

using testing::HasDiagnostic;
using testing::kDigest;

enum class Kind { kPin, kPolicy, kSettings };

struct BadRow {
  const char* name;
  Kind kind;
  std::string yaml;
  std::string prefix;
  std::string fragment;
};

const char kPinPath[] = "environments/prod/apps/api.yaml";
const char kPolicyPath[] = "environments/prod/environment.yaml";

// A pin whose artifact and deploy lines can be swapped for a bad one.
std::string Pin(const std::string& artifact_extra, const std::string& deploy) {
  return "artifact:\n  image: registry.example.com/shop/api\n" + artifact_extra + "deploy:\n" +
         deploy;
}
std::string PinWithDigest(const std::string& digest) {
  return Pin("  digest: " + digest + "\n", "  adapter: exec\n  exec: {command: [x]}\n");
}
std::string PinWithDeploy(const std::string& deploy) {
  return Pin("  digest: " + kDigest + "\n", deploy);
}

std::vector<BadRow> Rows() {
  const std::string pin = std::string(kPinPath) + ":";
  const std::string pol = std::string(kPolicyPath) + ":";
  return {
      {"TagInsteadOfDigest", Kind::kPin, PinWithDigest("prod"), pin + "3: ",
       "artifact.digest 'prod' is a tag, not a digest: tags are mutable and are rejected"},
      {"VersionTagInsteadOfDigest", Kind::kPin, PinWithDigest("v1.2"),
       pin + "3: ", "is a tag, not a digest"},
      {"UppercaseHexDigest", Kind::kPin, PinWithDigest("sha256:" + std::string(64, 'A')),
       pin + "3: ", "uses uppercase hex; digests are lowercase"},
      {"ShortDigest", Kind::kPin, PinWithDigest("sha256:abc123"),
       pin + "3: ", "has 6 hex digits; a sha256 digest has exactly 64"},
      {"DigestWithoutAlgorithm", Kind::kPin, PinWithDigest(std::string(64, 'a')),
       pin + "3: ", "lacks its algorithm prefix"},
      {"UnsupportedAlgorithm", Kind::kPin, PinWithDigest("md5:" + std::string(32, 'a')),
       pin + "3: ", "unsupported algorithm 'md5'"},
      {"DigestAsList", Kind::kPin, PinWithDigest("[a]"),
       pin + "3: ", "artifact.digest must be a string, got a list"},
      {"UnknownNestedKeyWithSuggestion", Kind::kPin,
       PinWithDeploy("  adapter: helm\n  helm:\n    relase: api\n    chart: c\n"),
       pin + "7: ", "unknown key 'relase' in deploy.helm; did you mean 'release'?"},
      {"UnknownTopLevelKey", Kind::kPin,
       PinWithDeploy("  adapter: exec\n  exec: {command: [x]}\nverifcation: {}\n"),
       pin + "7: ", "unknown key 'verifcation' at the top level; did you mean 'verification'?"},
      {"DotDotValuesPath", Kind::kPin,
       PinWithDeploy("  adapter: helm\n  helm:\n    release: api\n    chart: c\n"
                     "    values:\n      - values/ok.yaml\n      - ../secrets/prod.yaml\n"),
       pin + "11: ",
       "deploy.helm.values[1] '../secrets/prod.yaml' contains a '..' component: paths must be "
       "relative to the repository root and stay inside it"},
      {"AbsoluteExecPath", Kind::kPin,
       PinWithDeploy("  adapter: exec\n  exec:\n    command: [/usr/local/bin/deploy, x]\n"),
       pin + "7: ",
       "deploy.exec.command[0] '/usr/local/bin/deploy' is absolute: paths must be relative"},
      {"TerraformDirEscapes", Kind::kPin,
       PinWithDeploy("  adapter: terraform\n  terraform: {dir: infra/../../x}\n"),
       pin + "6: ", "deploy.terraform.dir"},
      {"WrongAdapterBlock", Kind::kPin,
       PinWithDeploy("  adapter: helm\n  terraform: {dir: infra}\n"),
       pin + "6: ", "deploy.terraform does not match deploy.adapter 'helm'"},
      {"MissingAdapterBlock", Kind::kPin, PinWithDeploy("  adapter: helm\n"),
       pin + "5: ", "deploy.adapter is 'helm' but deploy.helm is missing"},
      {"UnknownAdapter", Kind::kPin, PinWithDeploy("  adapter: kubectl\n"),
       pin + "5: ", "deploy.adapter must be one of helm, terraform, exec, got 'kubectl'"},
      {"EmptyExecCommand", Kind::kPin, PinWithDeploy("  adapter: exec\n  exec: {command: []}\n"),
       pin + "6: ", "deploy.exec.command is empty"},
      {"BadHelmTimeout", Kind::kPin,
       PinWithDeploy("  adapter: helm\n  helm: {release: api, chart: c, timeout: 5 minutes}\n"),
       pin + "6: ", "deploy.helm.timeout: invalid duration"},
      {"PinTopLevelList", Kind::kPin, "- a\n- b\n", pin + "1: ", "the file must be a map of keys"},
      {"PinYamlSyntaxError", Kind::kPin,
       "artifact:\n  image: r/api\n  digest: [unclosed\ndeploy: {}\n",
       pin + "4: ", "YAML syntax error"},

      {"BadHours", Kind::kPolicy,
       "windows:\n  timezone: UTC\n  allow:\n    - days: [mon]\n      hours: \"25:00-26:00\"\n",
       pol + "5: ", "windows.allow[0].hours '25:00-26:00' must be \"HH:MM-HH:MM\""},
      {"BadMinutes", Kind::kPolicy, "windows: {allow: [{hours: \"10:60-11:00\"}]}\n",
       pol + "1: ", "HH:MM-HH:MM"},
      {"StartAt24", Kind::kPolicy, "windows: {allow: [{hours: \"24:00-02:00\"}]}\n",
       pol + "1: ", "starts at 24:00"},
      {"UnknownWeekday", Kind::kPolicy,
       "windows:\n  allow:\n    - days: [mon, tues]\n      hours: \"10:00-12:00\"\n",
       pol + "3: ", "windows.allow[0].days[1]: unknown weekday 'tues'; did you mean 'tue'?"},
      {"UnknownWeekdayInRange", Kind::kPolicy, "windows: {allow: [{days: [mon-fir]}]}\n",
       pol + "1: ", "unknown weekday 'fir'"},
      {"BadDuration", Kind::kPolicy, "gates:\n  upstreamVerified: true\n  soak: 1hour\n",
       pol + "3: ", "gates.soak: invalid duration \"1hour\""},
      {"NegativeDuration", Kind::kPolicy, "verification: {duration: -5m}\n",
       pol + "1: ", "verification.duration: invalid duration"},
      {"Feb29InNonLeapYear", Kind::kPolicy,
       "freezes:\n  - name: x\n    from: 2027-02-28\n    to: 2027-02-29\n", pol + "4: ",
       "freezes[0].to '2027-02-29' is not a real date: February 2027 has 28 days (2027 is not "
       "a leap year)"},
      {"FreezeFromAfterTo", Kind::kPolicy,
       "freezes:\n  - { name: x, from: 2026-12-01, to: 2026-11-26 }\n",
       pol + "2: ", "freezes[0]: from 2026-12-01 is after to 2026-11-26"},
      {"FreezeBadDateForm", Kind::kPolicy,
       "freezes: [{name: x, from: 26-11-2026, to: 2026-12-01}]\n",
       pol + "1: ", "is not a date in the form YYYY-MM-DD"},
      {"ApprovalRequiredNotANumber", Kind::kPolicy,
       "approval:\n  required: two\n  from: [release-managers]\n",
       pol + "2: ", "approval.required must be a whole number \u2265 0, got 'two'"},
      {"ApprovalHugeNumber", Kind::kPolicy,
       "approval: {required: 99999999999999999999999, from: [a]}\n", pol + "1: ",
       "approval.required must be a whole number \u2265 0, got '99999999999999999999999'"},
      {"BadEvidence", Kind::kPolicy, "approval: {required: 1, from: [a], evidence: signd}\n",
       pol + "1: ",
       "approval.evidence must be one of forge, signed, forge+signed, got 'signd'; did you "
       "mean 'signed'?"},
      {"BadRollbackTarget", Kind::kPolicy, "gates:\n  rollbackTarget: optional\n",
       pol + "2: ", "gates.rollbackTarget must be 'required' or a map"},
      {"UnknownKeyInRollbackTarget", Kind::kPolicy,
       "gates:\n  rollbackTarget:\n    required: true\n    allowfirst: true\n",
       pol + "4: ", "did you mean 'allowFirst'?"},
      {"NegativeVulnerabilityLimit", Kind::kPolicy, "gates: {vulnerabilities: {maxHigh: -1}}\n",
       pol + "1: ", "gates.vulnerabilities.maxHigh must be a whole number \u2265 0, got '-1'"},
      {"HttpExpectOutOfRange", Kind::kPolicy,
       "verification:\n  checks:\n    - http: {url: http://x, expect: 42}\n",
       pol + "3: ", "verification.checks[0].http.expect must be a whole number from 100 to 599"},
      {"GatesAsScalar", Kind::kPolicy, "gates: strict\n",
       pol + "1: ", "gates must be a map of keys"},
      {"PolicyYamlSyntaxError", Kind::kPolicy,
       "upstream: staging\napproval:\n  required: 1\n from: [x]\n",
       pol + "4: ", "YAML syntax error"},
      {"StrayCommaAtTopLevel", Kind::kPolicy, "# policy\n, upstream: dev\n",
       pol + "2: ", "YAML syntax error: unexpected ','"},
      {"MultipleDocuments", Kind::kPolicy, "upstream: dev\n---\nupstream: staging\n",
       pol + "2: ", "more than one YAML document"},
      // Files that look like one block mapping are parsed once; these must
      // still take the counting parse and be refused, never half-read.
      {"StrayCommaAfterContent", Kind::kPolicy, "upstream: dev\n, soak: 1h\n",
       pol + "2: ", "YAML syntax error: end of map not found"},
      {"DocumentEndMarker", Kind::kPolicy, "upstream: dev\n...\nupstream: staging\n",
       pol + "3: ", "more than one YAML document"},
      {"JunkAfterTopLevelFlowMap", Kind::kPolicy, "{upstream: dev}, soak: 1h\n",
       pol + "1: ", "YAML syntax error: end of map not found"},

      {"PipelineMissing", Kind::kSettings, "groups: {a: [b]}\n",
       "sluice.yaml:1: ", "pipeline is required"},
      {"PipelineEmpty", Kind::kSettings, "pipeline: []\n", "sluice.yaml:1: ", "pipeline is empty"},
      {"PipelineNotAList", Kind::kSettings, "pipeline: dev\n",
       "sluice.yaml:1: ", "pipeline must be a list of environment names"},
      {"DuplicateEnvInPipeline", Kind::kSettings, "pipeline:\n  - dev\n  - prod\n  - dev\n",
       "sluice.yaml:4: ", "pipeline[2]: environment 'dev' appears twice in the pipeline"},
      {"GroupMembersNotAList", Kind::kSettings, "pipeline: [dev]\ngroups:\n  ops: alice\n",
       "sluice.yaml:3: ", "groups.ops must be a list of strings"},
      {"NotifyTargetMissing", Kind::kSettings, "pipeline: [dev]\nnotify: [{}]\n",
       "sluice.yaml:2: ", "notify[0].target is required"},
      {"UnknownSettingsKey", Kind::kSettings, "pipeline: [dev]\nnotifications: []\n",
       "sluice.yaml:2: ", "unknown key 'notifications' at the top level"},
  };
}

// Names the row in gtest output instead of dumping its bytes.
void PrintTo(const BadRow& row, std::ostream* os) { *os << row.name; }

class BadInputTest : public ::testing::TestWithParam<BadRow> {};

TEST_P(BadInputTest, ReportsProblemAtItsLine) {
  const BadRow& row = GetParam();
  Diagnostics diags;
  bool parsed = false;
  switch (row.kind) {
    case Kind::kPin:
      parsed = ParsePin(row.yaml, kPinPath, diags).has_value();
      break;
    case Kind::kPolicy:
      parsed = ParseEnvironmentPolicy(row.yaml, kPolicyPath, diags).has_value();
      break;
    case Kind::kSettings:
      parsed = ParseRepoSettings(row.yaml, "sluice.yaml", diags).has_value();
      break;
  }
  EXPECT_FALSE(parsed) << "input:\n" << row.yaml;
  EXPECT_TRUE(HasDiagnostic(diags, row.prefix, row.fragment)) << "input:\n" << row.yaml;
}

INSTANTIATE_TEST_SUITE_P(Table, BadInputTest, ::testing::ValuesIn(Rows()),
                         [](const ::testing::TestParamInfo<BadRow>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace sluice::config
