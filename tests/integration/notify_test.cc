// Notifications end to end: `sluice reconcile --once` over a repository
// served by git daemon posts to the targets its sluice.yaml names, as the
// controller's configuration (--config) defines them — a signed JSON webhook
// and a Slack incoming webhook, both loopback receivers here — and delivers
// before it exits.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "env_repo_fixture.h"
#include "server/webhooks.h"
#include "support/http_receiver.h"

namespace sluice::testing {
namespace {

using nlohmann::json;

constexpr char kHookSecret[] = "notify-integration-secret";

// sluice.yaml naming both targets, in the first commit: prod is protected,
// so its notification targets change only with approval (trust rule).
constexpr char kNotifyingSettings[] =
    "pipeline: [dev, prod]\n"
    "groups:\n  release-managers: [alice]\n"
    "notify:\n"
    "  - {target: audit}\n"
    "  - {target: team}\n";

TEST(NotifyTest, BlockedAndVerifiedChangesReachTheWebhookAndSlackSignedAndOnce) {
  EnvRepoFixture f(
      std::map<std::string, std::optional<std::string>>{{"sluice.yaml", kNotifyingSettings}});
  TempDir tmp;
  Receiver hook;
  Receiver slack;
  WriteFile(tmp.Sub("hook-secret"), std::string(kHookSecret) + "\n");
  WriteFile(tmp.Sub("slack-url"), slack.Url("/services/T01/B02/SLACKSECRETPATH") + "\n");
  WriteFile(tmp.Sub("controller.yaml"), "notify:\n  audit: {url: \"" + hook.Url("/sluice") +
                                            "\", secretFile: \"" + tmp.Sub("hook-secret") +
                                            "\"}\n  team: {slackWebhookFile: \"" +
                                            tmp.Sub("slack-url") + "\"}\n");
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "2.5.3")},
                   {"environments/prod/apps/web.yaml", f.PinYaml(Digest('b'), "7.1.0")}},
                  "Pin api in dev, web in prod (pushed straight to main)");

  CommandOutput out =
      f.Sluice({"reconcile", "--once", "--format", "json", "--config", tmp.Sub("controller.yaml")});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  // Once-mode delivers before it exits: nothing to wait for here.
  auto reqs = hook.Requests();
  ASSERT_EQ(reqs.size(), 3u) << out.err;

  std::map<std::string, json> by_event;
  for (const auto& r : reqs) {
    EXPECT_EQ(r.path, "/sluice");
    EXPECT_EQ(r.Header("X-Sluice-Signature-256"),
              "sha256=" + server::HmacSha256Hex(kHookSecret, r.body));
    json j = json::parse(r.body);
    EXPECT_EQ(j["type"], "sluice.event");
    EXPECT_EQ(r.Header("X-Sluice-Event"), j["event"]["event"]);
    by_event[j["event"]["env"].get<std::string>() + "/" + j["event"]["app"].get<std::string>() +
             " " + j["event"]["event"].get<std::string>()] = j;
  }
  ASSERT_EQ(by_event.count("dev/api applied"), 1u);
  ASSERT_EQ(by_event.count("dev/api verified"), 1u);
  ASSERT_EQ(by_event.count("prod/web blocked"), 1u);
  const json& blocked = by_event["prod/web blocked"];
  EXPECT_EQ(blocked["event"]["version"], "7.1.0");
  EXPECT_EQ(blocked["event"]["digest"], Digest('b'));
  EXPECT_NE(blocked["summary"].get<std::string>().find("7.1.0 blocked: approval: "),
            std::string::npos)
      << blocked.dump();
  EXPECT_EQ(by_event["dev/api verified"]["event"]["version"], "2.5.3");

  // Slack got the same three, as Block Kit messages.
  auto slack_reqs = slack.Requests();
  ASSERT_EQ(slack_reqs.size(), 3u);
  std::string texts;
  for (const auto& r : slack_reqs) {
    EXPECT_EQ(r.path, "/services/T01/B02/SLACKSECRETPATH");
    json j = json::parse(r.body);
    EXPECT_TRUE(j["blocks"].is_array());
    texts += j["text"].get<std::string>() + "\n";
  }
  EXPECT_NE(texts.find("prod/web 7.1.0 blocked: "), std::string::npos) << texts;
  EXPECT_NE(texts.find("dev/api 2.5.3 verified: "), std::string::npos) << texts;

  // A second pass changes nothing: the blocked change is not announced again.
  out =
      f.Sluice({"reconcile", "--once", "--format", "json", "--config", tmp.Sub("controller.yaml")});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(hook.Requests().size(), 3u);
  EXPECT_EQ(slack.Requests().size(), 3u);
  // Secrets stay out of the output.
  EXPECT_EQ(out.err.find("SLACKSECRETPATH"), std::string::npos) << out.err;
  EXPECT_EQ(out.err.find(kHookSecret), std::string::npos) << out.err;
}

// An unapproved edit of sluice.yaml that drops every target cannot silence
// prod (protected): its targets are those of the sluice.yaml in force there.
// dev asks for no approval, so the edit is in force for dev at once.
TEST(NotifyTest, AnUnapprovedEditCannotSilenceAProtectedEnvironment) {
  EnvRepoFixture f(
      std::map<std::string, std::optional<std::string>>{{"sluice.yaml", kNotifyingSettings}});
  TempDir tmp;
  Receiver hook;
  WriteFile(tmp.Sub("hook-secret"), std::string(kHookSecret) + "\n");
  WriteFile(tmp.Sub("controller.yaml"),
            "notify:\n  audit: {url: \"" + hook.Url("/sluice") + "\", secretFile: \"" +
                tmp.Sub("hook-secret") + "\"}\n  team: {url: \"" + hook.Url("/team") +
                "\", secretFile: \"" + tmp.Sub("hook-secret") + "\"}\n");
  f.CommitAndPush({{"sluice.yaml", "pipeline: [dev, prod]\ngroups:\n  release-managers: [alice]\n"},
                   {"environments/dev/apps/api.yaml", f.PinYaml(Digest('d'))},
                   {"environments/prod/apps/web.yaml", f.PinYaml(Digest('e'))}},
                  "Quietly: no more notifications; pin dev and prod");
  CommandOutput out =
      f.Sluice({"reconcile", "--once", "--format", "json", "--config", tmp.Sub("controller.yaml")});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  std::vector<std::string> seen;
  for (const auto& r : hook.Requests()) {
    json j = json::parse(r.body);
    seen.push_back(r.path + " " + j["event"]["env"].get<std::string>() + "/" +
                   j["event"]["app"].get<std::string>() + " " +
                   j["event"]["event"].get<std::string>());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"/sluice prod/web blocked", "/team prod/web blocked"}))
      << out.err;
}

TEST(NotifyTest, AMissingSecretFileIsReportedWithTheLineAndTheDeployStillRuns) {
  EnvRepoFixture f;
  TempDir tmp;
  Receiver hook;
  WriteFile(tmp.Sub("controller.yaml"), "interval: 1m\nnotify:\n  audit: {url: \"" +
                                            hook.Url("/sluice") +
                                            "\", secretFile: /nonexistent/sluice-hook-secret}\n");
  f.CommitAndPush({{"sluice.yaml", "pipeline: [dev, prod]\nnotify:\n  - {target: audit}\n"}},
                  "Notify with a secret that is not there");
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('c'))}}, "Pin api");
  CommandOutput out =
      f.Sluice({"reconcile", "--once", "--format", "json", "--config", tmp.Sub("controller.yaml")});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(f.Deploys().size(), 1u);
  EXPECT_NE(out.err.find(tmp.Sub("controller.yaml") +
                         ":3: notify audit: secretFile /nonexistent/sluice-hook-secret: "
                         "cannot read it"),
            std::string::npos)
      << out.err;
  // Never sent unsigned in its place.
  EXPECT_TRUE(hook.Requests().empty());
}

}  // namespace
}  // namespace sluice::testing
