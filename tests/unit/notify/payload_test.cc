// Payloads, signatures, commit links, retry classification and target
// loading: pure functions fed with strings.
#include "notify/payload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/secrets.h"
#include "core/time_format.h"
#include "notify/notifier.h"
#include "notify/target.h"
#include "server/webhooks.h"
#include "support/temp_dir.h"

namespace sluice::notify {
namespace {

using nlohmann::json;

const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

record::Event Sample(record::EventKind kind) {
  record::Event e;
  e.time = *ParseRfc3339("2026-11-24T10:00:00Z");
  e.env = "prod";
  e.app = "api";
  e.kind = kind;
  e.digest = "sha256:" + std::string(64, 'a');
  e.version = "2.5.3";
  e.commit = kCommit;
  e.reason = "approval: 0 of 1 approvals from release-managers";
  e.gates = {{"approval", "block", "0 of 1 approvals from release-managers"}};
  e.controller_id = "ctl-1";
  e.controller_version = "1.0.0";
  return e;
}

// Every mrkdwn text of the Slack blocks, joined.
std::string AllText(const json& slack) {
  std::string all;
  for (const auto& b : slack["blocks"]) {
    if (b.contains("text")) all += b["text"]["text"].get<std::string>() + "\n";
    if (b.contains("fields")) {
      for (const auto& f : b["fields"]) all += f["text"].get<std::string>() + "\n";
    }
    if (b.contains("elements")) {
      for (const auto& el : b["elements"]) all += el["text"].get<std::string>() + "\n";
    }
  }
  return all;
}

TEST(NotifiedKindsTest, OutcomesArePostedButWaitingAndApplyingAreNot) {
  using K = record::EventKind;
  for (K k : {K::kBlocked, K::kApplied, K::kVerified, K::kFailed, K::kRolledBack, K::kDrift}) {
    EXPECT_TRUE(IsNotified(k)) << record::EventKindName(k);
  }
  EXPECT_FALSE(IsNotified(K::kWaiting));
  EXPECT_FALSE(IsNotified(K::kApplying));
}

TEST(SlackPayloadTest, HasTextFallbackAndBlocksWithEnvAppVersionDigestReasonAndCommitLink) {
  std::string url = "https://github.com/shop/environments/commit/" + kCommit;
  json j = json::parse(SlackPayload(Sample(record::EventKind::kBlocked), url));
  ASSERT_TRUE(j["text"].is_string());
  EXPECT_EQ(j["text"], "prod/api 2.5.3 blocked: approval: 0 of 1 approvals from release-managers");
  ASSERT_TRUE(j["blocks"].is_array());
  for (const auto& b : j["blocks"]) {
    EXPECT_TRUE(b["type"] == "section" || b["type"] == "context") << b.dump();
  }
  EXPECT_EQ(j["blocks"][0]["type"], "section");
  EXPECT_EQ(j["blocks"][0]["text"]["type"], "mrkdwn");
  EXPECT_NE(j["blocks"][0]["text"]["text"].get<std::string>().find("Blocked"), std::string::npos);
  const auto& fields = j["blocks"][1]["fields"];
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[0]["text"], "*Environment*\nprod");
  EXPECT_EQ(fields[1]["text"], "*App*\napi");
  EXPECT_EQ(fields[2]["text"], "*Version*\n2.5.3");
  EXPECT_EQ(fields[3]["text"], "*Digest*\n`sha256:aaaaaaaaaaaa`");
  EXPECT_EQ(fields[4]["text"], "*Event*\nblocked");
  EXPECT_EQ(fields[5]["text"], "*Commit*\n<" + url + "|0123456789ab>");
  std::string all = AllText(j);
  EXPECT_NE(all.find("*Why:* approval: 0 of 1 approvals"), std::string::npos) << all;
  EXPECT_NE(all.find("2026-11-24T10:00:00Z"), std::string::npos) << all;
}

TEST(SlackPayloadTest, WithoutALinkTheCommitIsShownShort) {
  json j = json::parse(SlackPayload(Sample(record::EventKind::kVerified), ""));
  EXPECT_EQ(j["blocks"][1]["fields"][5]["text"], "*Commit*\n`0123456789ab`");
}

TEST(SlackPayloadTest, RepositoryTextCannotInjectLinksOrMentions) {
  record::Event e = Sample(record::EventKind::kFailed);
  e.reason = "exit 1: <!channel> see <https://evil.example|here> & more";
  json j = json::parse(SlackPayload(e, ""));
  std::string all = AllText(j);
  EXPECT_EQ(all.find("<!channel>"), std::string::npos) << all;
  EXPECT_NE(all.find("&lt;!channel&gt; see &lt;https://evil.example|here&gt; &amp; more"),
            std::string::npos)
      << all;
}

TEST(SlackPayloadTest, LongReasonsStayWithinSlackLimits) {
  record::Event e = Sample(record::EventKind::kFailed);
  e.reason = std::string(10000, 'x');
  json j = json::parse(SlackPayload(e, ""));
  for (const auto& b : j["blocks"]) {
    if (b.contains("text")) {
      EXPECT_LT(b["text"]["text"].get<std::string>().size(), 3000u);
    }
  }
}

TEST(WebhookPayloadTest, IsTheRecordEventInAnEnvelope) {
  record::Event e = Sample(record::EventKind::kVerified);
  json j = json::parse(WebhookPayload(e, "https://x/commit/1", "d-1"));
  EXPECT_EQ(j["type"], "sluice.event");
  EXPECT_EQ(j["delivery"], "d-1");
  EXPECT_EQ(j["commitUrl"], "https://x/commit/1");
  EXPECT_EQ(j["summary"],
            "prod/api 2.5.3 verified: approval: 0 of 1 approvals from release-managers");
  // Exactly the line the record holds in refs/notes/sluice.
  EXPECT_EQ(j["event"], json::parse(record::EventToJsonLine(e)));
  EXPECT_EQ(j["event"]["event"], "verified");
  EXPECT_EQ(j["event"]["digest"], e.digest);
}

TEST(SignatureTest, IsHmacSha256OfTheBodyLikeGitHub) {
  const std::string body = R"({"type":"sluice.event"})";
  EXPECT_EQ(SignatureHeaderValue("s3cret", body),
            "sha256=" + server::HmacSha256Hex("s3cret", body));
  // RFC 4231 test case 2.
  EXPECT_EQ(SignatureHeaderValue("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DeliveryIdTest, IsRandomHex) {
  std::string a = NewDeliveryId(), b = NewDeliveryId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
}

TEST(CommitUrlTest, FromTheForgeOrAKnownHostingUrl) {
  config::ForgeSettings gh{"github", "https://api.github.com", "shop/envs", ""};
  EXPECT_EQ(CommitUrl(gh, "git://x/envs", "abc"), "https://github.com/shop/envs/commit/abc");
  config::ForgeSettings ghe{"github", "https://ghe.corp/api/v3/", "shop/envs", ""};
  EXPECT_EQ(CommitUrl(ghe, "", "abc"), "https://ghe.corp/shop/envs/commit/abc");
  config::ForgeSettings gl{"gitlab", "https://gitlab.corp/api/v4", "grp/envs", ""};
  EXPECT_EQ(CommitUrl(gl, "", "abc"), "https://gitlab.corp/grp/envs/-/commit/abc");
  EXPECT_EQ(CommitUrl(std::nullopt, "https://bot:tok@github.com/shop/envs.git", "abc"),
            "https://github.com/shop/envs/commit/abc");
  EXPECT_EQ(CommitUrl(std::nullopt, "https://gitlab.com/grp/envs", "abc"),
            "https://gitlab.com/grp/envs/-/commit/abc");
  // No address known: no link rather than a wrong one.
  EXPECT_EQ(CommitUrl(std::nullopt, "git://git.example.com/envs", "abc"), "");
  EXPECT_EQ(CommitUrl(std::nullopt, "https://git.example.com/envs.git", "abc"), "");
  EXPECT_EQ(CommitUrl(std::nullopt, "/srv/envs", "abc"), "");
}

TEST(RetryAfterTest, SecondsOrAnHttpDate) {
  TimePoint now = *ParseRfc3339("2015-10-21T07:27:00Z");
  EXPECT_EQ(ParseRetryAfter("30", now), std::chrono::milliseconds(30000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), std::chrono::milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now),
            std::chrono::milliseconds(60000));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), std::chrono::milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
}

TEST(JudgeAttemptTest, RetriesTransientFailuresOnly) {
  TimePoint now{};
  auto with = [](long status, std::string retry_after = "") {
    net::HttpResponse r;
    r.status = status;
    if (!retry_after.empty()) r.headers.emplace("retry-after", retry_after);
    return Result<net::HttpResponse>(r);
  };
  using K = AttemptVerdict::Kind;
  EXPECT_EQ(JudgeAttempt(with(200), now).kind, K::kSent);
  EXPECT_EQ(JudgeAttempt(with(204), now).kind, K::kSent);
  EXPECT_EQ(JudgeAttempt(with(500), now).kind, K::kRetry);
  EXPECT_EQ(JudgeAttempt(with(502), now).kind, K::kRetry);
  EXPECT_EQ(JudgeAttempt(with(408), now).kind, K::kRetry);
  auto limited = JudgeAttempt(with(429, "7"), now);
  EXPECT_EQ(limited.kind, K::kRetry);
  EXPECT_EQ(limited.retry_after, std::chrono::milliseconds(7000));
  EXPECT_EQ(JudgeAttempt(with(404), now).kind, K::kGiveUp);
  EXPECT_EQ(JudgeAttempt(with(400), now).kind, K::kGiveUp);
  EXPECT_EQ(JudgeAttempt(with(301), now).kind, K::kGiveUp);
  EXPECT_EQ(JudgeAttempt(Result<net::HttpResponse>(Status::IOError("refused")), now).kind,
            K::kRetry);
  EXPECT_EQ(JudgeAttempt(Result<net::HttpResponse>(Status::Timeout("slow")), now).kind, K::kRetry);
}

TEST(RedactedTargetUrlTest, SlackShowsOnlyTheHostWebhooksLoseCredentialsAndQuery) {
  EXPECT_EQ(RedactedTargetUrl(Target::Kind::kSlack,
                              "https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/…");
  EXPECT_EQ(RedactedTargetUrl(Target::Kind::kWebhook,
                              "https://u:p@hooks.example.com:8443/sluice?token=abc#x"),
            "https://hooks.example.com:8443/sluice");
}

class LoadTargetsTest : public ::testing::Test {
 protected:
  sluice::testing::TempDir tmp_;
};

TEST_F(LoadTargetsTest, ReadsTheSlackUrlAndTheWebhookSecretFromFiles) {
  std::string slack = tmp_.Sub("slack-url"), secret = tmp_.Sub("secret");
  sluice::testing::WriteFile(slack, "https://hooks.slack.com/services/T/B/SECRETPATH\n");
  sluice::testing::WriteFile(secret, "hmac-key\n");
  std::vector<std::shared_ptr<const Target>> targets;
  config::Notification s{"team", "slack", "", slack, "", "c.yaml:3", 3};
  config::Notification w{"audit",    "webhook", "https://hooks.example.com/sluice", "", secret,
                         "c.yaml:4", 4};
  ASSERT_TRUE(LoadTargets({s, w}, targets).ok());
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0]->kind, Target::Kind::kSlack);
  EXPECT_EQ(targets[0]->url, "https://hooks.slack.com/services/T/B/SECRETPATH");
  EXPECT_EQ(targets[0]->name, "slack https://hooks.slack.com/…");
  EXPECT_EQ(targets[0]->id, "team");
  EXPECT_EQ(targets[1]->secret, "hmac-key");
  EXPECT_EQ(targets[1]->name, "webhook https://hooks.example.com/sluice");
  EXPECT_EQ(targets[1]->id, "audit");
  // What was read is a secret: redacted wherever output leaves the process.
  EXPECT_EQ(RedactRegisteredSecrets("k=hmac-key u=https://hooks.slack.com/services/T/B/SECRETPATH"),
            "k=*** u=***");
}

TEST_F(LoadTargetsTest, ProblemsNameTheLineAndFileAndTheFixButNeverTheContent) {
  std::string not_url = tmp_.Sub("not-a-url");
  sluice::testing::WriteFile(not_url, "xoxb-SECRET-TOKEN\n");
  std::vector<std::shared_ptr<const Target>> targets;
  config::Notification missing{
      "a", "webhook", "https://h.example.com/x", "", tmp_.Sub("nope"), "c.yaml:7", 7};
  config::Notification bad{"b", "slack", "", not_url, "", "c.yaml:9", 9};
  config::Notification good{"c", "webhook", "https://h.example.com/y", "", "", "c.yaml:11", 11};
  Status s = LoadTargets({missing, bad, good}, targets);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      s.message().find("c.yaml:7: notify a: secretFile " + tmp_.Sub("nope") + ": cannot read it"),
      std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("or remove secretFile"), std::string::npos) << s.message();
  EXPECT_NE(
      s.message().find("c.yaml:9: notify b: slackWebhookFile " + not_url + ": does not hold a URL"),
      std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("SECRET"), std::string::npos) << s.message();
  // The entry that loaded still gets notifications.
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0]->url, "https://h.example.com/y");
}

}  // namespace
}  // namespace sluice::notify
