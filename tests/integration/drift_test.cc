// Drift (issue #5), end to end: the real `sluice` binary deploys through the
// helm and terraform stand-ins of tests/stubs (Helm and Terraform cannot be
// installed here; the stand-ins reproduce their documented CLI contract),
// then `sluice reconcile --once --drift` asks them what really runs:
//   https://helm.sh/docs/helm/helm_get_values/ — the user-supplied values of
//     the release as JSON, where the deployed digest is read;
//   https://developer.hashicorp.com/terraform/cli/commands/plan#detailed-exitcode
//     — 0 no changes, 1 error, 2 changes present: drift when Git did not change.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;

struct Invocation {
  std::string program;
  std::string cwd;
  std::vector<std::string> args;
  std::string Line() const {
    std::string out = program;
    for (const auto& a : args) out += " " + a;
    return out;
  }
};

// The stand-ins' log (tests/stubs/helm: "== prog", "cwd:", "arg:" lines, "==").
std::vector<Invocation> Invocations(const std::string& log) {
  std::vector<Invocation> out;
  if (!fs::exists(log)) return out;
  std::istringstream in(ReadFile(log));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("== ", 0) == 0) {
      out.push_back({line.substr(3), "", {}});
    } else if (!out.empty() && line.rfind("arg:", 0) == 0) {
      out.back().args.push_back(line.substr(4));
    } else if (!out.empty() && line.rfind("cwd:", 0) == 0) {
      out.back().cwd = line.substr(4);
    }
  }
  return out;
}

std::vector<std::string> Lines(const std::vector<Invocation>& calls) {
  std::vector<std::string> out;
  for (const auto& c : calls) out.push_back(c.Line());
  return out;
}

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& app) {
  for (const auto& o : pass["outcomes"]) {
    if (o["app"] == app) return &o;
  }
  return nullptr;
}

std::vector<nlohmann::json> DriftEvents(const std::vector<nlohmann::json>& events) {
  std::vector<nlohmann::json> out;
  for (const auto& e : events) {
    if (e.value("event", "") == "drift") out.push_back(e);
  }
  return out;
}

class DriftTest : public ::testing::Test {
 protected:
  DriftTest() {
    cluster_ = f_.state + "/cluster";
    log_ = f_.state + "/stub.log";
    fs::create_directories(cluster_);
    const char* path = std::getenv("PATH");
    f_.extra_env = {"PATH=" + std::string(SLUICE_STUBS_DIR) + ":" + (path ? path : "/usr/bin:/bin"),
                    "SLUICE_PASS_ENV=STUB_STATE_DIR,SLUICE_STUB_LOG", "STUB_STATE_DIR=" + cluster_,
                    "SLUICE_STUB_LOG=" + log_};
  }

  static std::string HelmPin(const std::string& app, const std::string& digest) {
    return "artifact:\n  image: registry.example.com/shop/" + app + "\n  digest: " + digest +
           "\n  version: 1.0.0\ndeploy:\n  adapter: helm\n  helm:\n    release: " + app +
           "\n    chart: oci://registry.example.com/charts/" + app +
           "\n    version: 1.8.0\n    namespace: shop\n    timeout: 2m\n";
  }

  // `sluice reconcile --once [--drift] --format json`, parsed; it must exit
  // `expected_exit` (1 when a drift check errs).
  nlohmann::json Pass(bool drift = true, int expected_exit = 0) {
    std::vector<std::string> args = {"reconcile", "--once",      "--format",
                                     "json",      "--log-level", "warn"};
    if (drift) args.push_back("--drift");
    CommandOutput r = f_.Sluice(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.err << r.out;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  nlohmann::json StatusRow() {
    CommandOutput r = f_.Sluice({"status", "--format", "json", "--log-level", "warn"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r.out;
    return j.is_array() && !j.empty() ? j[0] : nlohmann::json::object();
  }

  // What someone does by hand on the cluster: a `helm upgrade` outside Git.
  void HelmUpgradeByHand(const std::string& digest) {
    CommandOutput r = RunCommand({std::string(SLUICE_STUBS_DIR) + "/helm", "upgrade", "--install",
                                  "api", "oci://registry.example.com/charts/api", "--namespace",
                                  "shop", "--set-string", "image.digest=" + digest, "--set-string",
                                  "image.repository=registry.example.com/shop/api"},
                                 "", {"STUB_STATE_DIR=" + cluster_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void ClearLog() { fs::remove(log_); }

  EnvRepoFixture f_;
  std::string cluster_;
  std::string log_;
};

TEST_F(DriftTest, HelmDriftIsRecordedOnceShownByStatusAndResolved) {
  std::string commit =
      f_.CommitAndPush({{"environments/dev/apps/api.yaml", HelmPin("api", Digest('a'))}}, "api");
  nlohmann::json first = Pass(/*drift=*/false);
  ASSERT_NE(Outcome(first, "api"), nullptr) << first.dump();
  ASSERT_EQ((*Outcome(first, "api"))["state"], "verified") << first.dump();

  // In sync: two read-only helm queries, nothing recorded.
  ClearLog();
  nlohmann::json in_sync = Pass();
  EXPECT_EQ(in_sync["driftChecks"], 1);
  EXPECT_TRUE(in_sync["outcomes"].empty()) << in_sync.dump();
  EXPECT_EQ(Lines(Invocations(log_)),
            (std::vector<std::string>{"helm status api --namespace shop -o json",
                                      "helm get values api --namespace shop -o json"}));
  EXPECT_TRUE(DriftEvents(f_.RemoteEvents(commit)).empty());

  HelmUpgradeByHand(Digest('f'));
  nlohmann::json drifted = Pass();
  const nlohmann::json* drift = Outcome(drifted, "api");
  ASSERT_NE(drift, nullptr) << drifted.dump();
  EXPECT_EQ((*drift)["state"], "drift");
  EXPECT_EQ((*drift)["reason"],
            "helm release api (namespace shop): image.digest sha256:ffffffffffff… ≠ pinned "
            "sha256:aaaaaaaaaaaa…");
  std::vector<nlohmann::json> events = DriftEvents(f_.RemoteEvents(commit));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["env"], "dev");
  EXPECT_EQ(events[0]["commit"], commit);
  EXPECT_EQ(events[0]["digest"], Digest('a'));
  EXPECT_EQ(events[0]["reason"], (*drift)["reason"]);
  EXPECT_EQ(events[0]["adapter"]["name"], "helm");
  EXPECT_EQ(events[0]["adapter"]["exitCode"], 0);
  EXPECT_FALSE(events[0].contains("resolved"));

  // Seen again: not recorded again.
  nlohmann::json again = Pass();
  EXPECT_EQ(again["driftChecks"], 1);
  EXPECT_TRUE(again["outcomes"].empty()) << again.dump();
  EXPECT_EQ(DriftEvents(f_.RemoteEvents(commit)).size(), 1u);

  nlohmann::json row = StatusRow();
  EXPECT_EQ(row["state"], "in-sync") << row.dump();
  ASSERT_EQ(row["reasons"].size(), 1u) << row.dump();
  EXPECT_EQ(row["reasons"][0].get<std::string>().rfind(
                "drift: helm release api (namespace shop): image.digest sha256:ffffffffffff…", 0),
            0u)
      << row.dump();

  // Sluice is not auto-healing: drift never started an upgrade.
  for (const auto& call : Invocations(log_)) EXPECT_NE(call.args.at(0), "upgrade") << call.Line();

  HelmUpgradeByHand(Digest('a'));
  nlohmann::json back = Pass();
  ASSERT_NE(Outcome(back, "api"), nullptr) << back.dump();
  EXPECT_EQ((*Outcome(back, "api"))["state"], "drift-resolved");
  events = DriftEvents(f_.RemoteEvents(commit));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["resolved"], true);
  row = StatusRow();
  EXPECT_EQ(row["state"], "in-sync");
  EXPECT_TRUE(row["reasons"].empty()) << row.dump();

  // Without --drift a one-shot pass asks helm nothing.
  ClearLog();
  nlohmann::json plain = Pass(/*drift=*/false);
  EXPECT_EQ(plain["driftChecks"], 0);
  EXPECT_TRUE(Invocations(log_).empty());
}

TEST_F(DriftTest, TerraformPlanExit2IsDriftAndExit1IsAnError) {
  std::string commit = f_.CommitAndPush(
      {{"infra/api/main.tf", "variable \"image_digest\" {}\n"},
       {"environments/dev/apps/api.yaml",
        "artifact:\n  image: registry.example.com/shop/api\n  digest: " + Digest('a') +
            "\ndeploy:\n  adapter: terraform\n  terraform:\n    dir: infra/api\n    vars: "
            "{image_digest: \"{{digest}}\"}\n    timeout: 2m\n"}},
      "api on terraform");
  nlohmann::json first = Pass(/*drift=*/false);
  ASSERT_EQ((*Outcome(first, "api"))["state"], "verified") << first.dump();

  WriteFile(cluster_ + "/tf-plan-exit", "0");
  ClearLog();
  nlohmann::json in_sync = Pass();
  EXPECT_EQ(in_sync["driftChecks"], 1);
  EXPECT_TRUE(in_sync["outcomes"].empty()) << in_sync.dump();
  std::vector<Invocation> calls = Invocations(log_);
  // init, workspace select (never new: observing creates nothing), and a
  // plan without -out: a drift plan is never applied.
  EXPECT_EQ(Lines(calls),
            (std::vector<std::string>{"terraform init -input=false -no-color",
                                      "terraform workspace select dev",
                                      "terraform plan -input=false -no-color -lock-timeout=1m "
                                      "-detailed-exitcode -var image_digest=" +
                                          Digest('a')}));
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(fs::path(calls[2].cwd).filename().string(), "api");
  EXPECT_EQ(fs::path(calls[2].cwd).parent_path().filename().string(), "infra");

  // Nothing changed in Git, yet the plan finds changes: drift.
  WriteFile(cluster_ + "/tf-plan-exit", "2");
  ClearLog();
  nlohmann::json drifted = Pass();
  const nlohmann::json* drift = Outcome(drifted, "api");
  ASSERT_NE(drift, nullptr) << drifted.dump();
  EXPECT_EQ((*drift)["state"], "drift");
  EXPECT_EQ((*drift)["reason"],
            "terraform plan (workspace dev): 1 to add, 1 to change, 1 to destroy");
  std::vector<nlohmann::json> events = DriftEvents(f_.RemoteEvents(commit));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["adapter"]["name"], "terraform");
  EXPECT_EQ(events[0]["adapter"]["exitCode"], 2);
  for (const auto& call : Invocations(log_)) {
    EXPECT_NE(call.args.at(0), "apply") << call.Line();
    EXPECT_NE(call.args.at(0), "show") << call.Line();
  }

  // A plan that fails is an error to report (exit 1), not drift, and not recorded.
  WriteFile(cluster_ + "/tf-plan-exit", "1");
  nlohmann::json broken = Pass(/*drift=*/true, /*expected_exit=*/1);
  const nlohmann::json* error = Outcome(broken, "api");
  ASSERT_NE(error, nullptr) << broken.dump();
  EXPECT_EQ((*error)["state"], "error");
  EXPECT_NE((*error)["reason"].get<std::string>().find("terraform plan: exit 1"), std::string::npos)
      << broken.dump();
  EXPECT_EQ(DriftEvents(f_.RemoteEvents(commit)).size(), 1u);
  EXPECT_EQ(StatusRow()["reasons"][0],
            "drift: terraform plan (workspace dev): 1 to add, 1 to change, 1 to destroy (seen " +
                events[0]["time"].get<std::string>().substr(0, 19) + "Z)");
}

TEST_F(DriftTest, ExecPinsNeverDrift) {
  std::string commit =
      f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('a'))}}, "api");
  ASSERT_EQ((*Outcome(Pass(/*drift=*/false), "api"))["state"], "verified");
  nlohmann::json p = Pass();
  EXPECT_EQ(p["driftChecks"], 0);
  EXPECT_TRUE(p["outcomes"].empty()) << p.dump();
  EXPECT_EQ(f_.Deploys().size(), 1u);
  EXPECT_TRUE(DriftEvents(f_.RemoteEvents(commit)).empty());
}

TEST_F(DriftTest, PendingApplyIsNotDelayedByDriftChecks) {
  f_.CommitAndPush({{"environments/dev/apps/api.yaml", HelmPin("api", Digest('a'))}}, "api");
  Pass(/*drift=*/false);
  f_.CommitAndPush({{"environments/dev/apps/web.yaml", HelmPin("web", Digest('b'))}}, "web");
  ClearLog();
  nlohmann::json p = Pass();
  ASSERT_EQ((*Outcome(p, "web"))["state"], "verified") << p.dump();
  std::vector<std::string> lines = Lines(Invocations(log_));
  ASSERT_FALSE(lines.empty());
  // The upgrade of the new pin is the first thing helm is asked to do.
  EXPECT_EQ(lines[0].rfind("helm upgrade --install web ", 0), 0u) << lines[0];
  EXPECT_EQ(p["driftChecks"], 2);
}

TEST_F(DriftTest, DriftIntervalIsCheckedOnTheCommandLineAndInTheConfigFile) {
  CommandOutput flag = f_.Sluice({"controller", "--drift-interval", "5s"});
  EXPECT_EQ(flag.exit_code, 2) << flag.err;
  EXPECT_NE(flag.err.find("--drift-interval: '5s' is shorter than 1m"), std::string::npos)
      << flag.err;
  EXPECT_NE(flag.err.find("0 to turn drift checks off"), std::string::npos) << flag.err;

  std::string config = f_.state + "/controller.yaml";
  WriteFile(config, "interval: 30s\ndriftInterval: soon\n");
  CommandOutput file = f_.Sluice({"controller", "--config", config});
  EXPECT_EQ(file.exit_code, 1) << file.err;
  EXPECT_NE(file.err.find(config + ":2: driftInterval: "), std::string::npos) << file.err;

  CommandOutput help = f_.Sluice({"controller", "--help"}, /*with_repo=*/false);
  EXPECT_NE(help.out.find("--drift-interval"), std::string::npos);
  EXPECT_NE(help.out.find("--drift-checks-per-pass"), std::string::npos);
  CommandOutput reconcile_help = f_.Sluice({"reconcile", "--help"}, /*with_repo=*/false);
  EXPECT_NE(reconcile_help.out.find("--drift"), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
