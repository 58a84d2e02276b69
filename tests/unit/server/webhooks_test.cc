// Webhook verification. References:
// - GitHub, "Validating webhook deliveries"
//   (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
//   X-Hub-Signature-256 is "sha256=" + the HMAC-SHA256 hex digest of the raw
//   body under the secret, compared in constant time; the page's test values
//   (secret "It's a Secret to Everybody", payload "Hello, World!") are used below.
// - GitLab, "Webhooks" (https://docs.gitlab.com/ee/user/project/integrations/webhooks.html,
//   "Validate payloads by using a secret token"): the secret token is sent
//   as-is in X-Gitlab-Token; push events carry X-Gitlab-Event: Push Hook and
//   "ref": "refs/heads/<branch>".
#include "server/webhooks.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice::server {
namespace {

constexpr char kDocSecret[] = "It's a Secret to Everybody";
constexpr char kDocPayload[] = "Hello, World!";
constexpr char kDocDigest[] = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

constexpr char kSecret[] = "s3cret";
constexpr char kPushMain[] = R"({"ref":"refs/heads/main","after":"abc","commits":[]})";

// A header lookup over a fixed map (names as the test spells them).
std::function<std::string(const std::string&)> Headers(std::map<std::string, std::string> headers) {
  return [headers](const std::string& name) {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  };
}

std::string Sign(const std::string& body, const std::string& secret = kSecret) {
  return "sha256=" + HmacSha256Hex(secret, body);
}

TEST(WebhookTest, HmacMatchesGitHubDocumentedTestValues) {
  EXPECT_EQ(HmacSha256Hex(kDocSecret, kDocPayload), kDocDigest);
  EXPECT_TRUE(VerifySha256Signature(kDocSecret, kDocPayload, std::string("sha256=") + kDocDigest));
}

TEST(WebhookTest, SignatureAcceptsUpperCaseHexAndRejectsTampering) {
  std::string upper = std::string("sha256=") + kDocDigest;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(VerifySha256Signature(kDocSecret, kDocPayload, upper));
  EXPECT_FALSE(VerifySha256Signature(kDocSecret, "Hello, World?", upper));
  EXPECT_FALSE(VerifySha256Signature("another secret", kDocPayload, upper));
}

TEST(WebhookTest, SignatureRejectsMalformedHeaders) {
  std::string good = Sign(kPushMain);
  EXPECT_TRUE(VerifySha256Signature(kSecret, kPushMain, good));
  EXPECT_FALSE(VerifySha256Signature(kSecret, kPushMain, ""));
  EXPECT_FALSE(VerifySha256Signature(kSecret, kPushMain, good.substr(7)));  // no prefix
  EXPECT_FALSE(VerifySha256Signature(kSecret, kPushMain, "sha1=" + good.substr(7)));
  EXPECT_FALSE(VerifySha256Signature(kSecret, kPushMain, good.substr(0, good.size() - 1)));
  EXPECT_FALSE(VerifySha256Signature(kSecret, kPushMain, good + "0"));
  EXPECT_FALSE(VerifySha256Signature("", kPushMain, Sign(kPushMain, "")));  // no secret, no pass
}

TEST(WebhookTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_FALSE(ConstantTimeEquals("abcd", "abc"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
  EXPECT_TRUE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
}

TEST(WebhookTest, GitLabTokenMustEqualTheSecret) {
  EXPECT_TRUE(VerifyToken(kSecret, kSecret));
  EXPECT_FALSE(VerifyToken(kSecret, "s3cre"));
  EXPECT_FALSE(VerifyToken(kSecret, "s3cret "));
  EXPECT_FALSE(VerifyToken(kSecret, ""));
  EXPECT_FALSE(VerifyToken("", ""));
}

TEST(WebhookTest, GitHubPushToTrackedBranchWakes) {
  HookDecision d = EvaluateHook(
      HookSource::kGitHub, kSecret, "main",
      Headers({{"X-Hub-Signature-256", Sign(kPushMain)}, {"X-GitHub-Event", "push"}}), kPushMain);
  EXPECT_EQ(d.verdict, HookVerdict::kWake) << d.reason;
}

TEST(WebhookTest, GitHubPushToAnotherBranchIsIgnored) {
  std::string body = R"({"ref":"refs/heads/feature/x"})";
  HookDecision d = EvaluateHook(
      HookSource::kGitHub, kSecret, "main",
      Headers({{"X-Hub-Signature-256", Sign(body)}, {"X-GitHub-Event", "push"}}), body);
  EXPECT_EQ(d.verdict, HookVerdict::kIgnore);
  EXPECT_NE(d.reason.find("refs/heads/feature/x"), std::string::npos) << d.reason;
  // A tag with the branch's name is not the branch.
  body = R"({"ref":"refs/tags/main"})";
  d = EvaluateHook(HookSource::kGitHub, kSecret, "main",
                   Headers({{"X-Hub-Signature-256", Sign(body)}, {"X-GitHub-Event", "push"}}),
                   body);
  EXPECT_EQ(d.verdict, HookVerdict::kIgnore);
}

TEST(WebhookTest, GitHubPingAndOtherEventsAreIgnored) {
  std::string ping = R"({"zen":"Keep it logically awesome.","hook_id":1})";
  EXPECT_EQ(
      EvaluateHook(HookSource::kGitHub, kSecret, "main",
                   Headers({{"X-Hub-Signature-256", Sign(ping)}, {"X-GitHub-Event", "ping"}}), ping)
          .verdict,
      HookVerdict::kIgnore);
  EXPECT_EQ(EvaluateHook(HookSource::kGitHub, kSecret, "main",
                         Headers({{"X-Hub-Signature-256", Sign(kPushMain)},
                                  {"X-GitHub-Event", "pull_request"}}),
                         kPushMain)
                .verdict,
            HookVerdict::kIgnore);
}

TEST(WebhookTest, GitHubBadOrMissingSignatureIsUnauthorized) {
  HookDecision missing = EvaluateHook(HookSource::kGitHub, kSecret, "main",
                                      Headers({{"X-GitHub-Event", "push"}}), kPushMain);
  EXPECT_EQ(missing.verdict, HookVerdict::kUnauthorized);
  EXPECT_NE(missing.reason.find("missing X-Hub-Signature-256"), std::string::npos);
  HookDecision wrong =
      EvaluateHook(HookSource::kGitHub, kSecret, "main",
                   Headers({{"X-Hub-Signature-256", Sign(kPushMain, "guess")}}), kPushMain);
  EXPECT_EQ(wrong.verdict, HookVerdict::kUnauthorized);
  EXPECT_EQ(wrong.reason.find(kSecret), std::string::npos) << "the secret must never be echoed";
}

TEST(WebhookTest, UnparseableBodyIsABadRequestOnlyAfterVerification) {
  std::string body = "payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";  // form-encoded
  EXPECT_EQ(EvaluateHook(HookSource::kGitHub, kSecret, "main",
                         Headers({{"X-Hub-Signature-256", Sign(body)}}), body)
                .verdict,
            HookVerdict::kBadRequest);
  EXPECT_EQ(EvaluateHook(HookSource::kGitHub, kSecret, "main",
                         Headers({{"X-Hub-Signature-256", Sign("x")}}), body)
                .verdict,
            HookVerdict::kUnauthorized);
}

TEST(WebhookTest, GitLabPushHookToTrackedBranchWakes) {
  std::string body = R"({"object_kind":"push","ref":"refs/heads/main"})";
  auto headers = Headers({{"X-Gitlab-Token", kSecret}, {"X-Gitlab-Event", "Push Hook"}});
  EXPECT_EQ(EvaluateHook(HookSource::kGitLab, kSecret, "main", headers, body).verdict,
            HookVerdict::kWake);
  EXPECT_EQ(EvaluateHook(HookSource::kGitLab, kSecret, "release", headers, body).verdict,
            HookVerdict::kIgnore);
}

TEST(WebhookTest, GitLabWrongTokenOrOtherEvent) {
  std::string body = R"({"object_kind":"push","ref":"refs/heads/main"})";
  EXPECT_EQ(
      EvaluateHook(HookSource::kGitLab, kSecret, "main",
                   Headers({{"X-Gitlab-Token", "nope"}, {"X-Gitlab-Event", "Push Hook"}}), body)
          .verdict,
      HookVerdict::kUnauthorized);
  EXPECT_EQ(EvaluateHook(HookSource::kGitLab, kSecret, "main",
                         Headers({{"X-Gitlab-Event", "Push Hook"}}), body)
                .verdict,
            HookVerdict::kUnauthorized);
  EXPECT_EQ(EvaluateHook(
                HookSource::kGitLab, kSecret, "main",
                Headers({{"X-Gitlab-Token", kSecret}, {"X-Gitlab-Event", "Tag Push Hook"}}), body)
                .verdict,
            HookVerdict::kIgnore);
}

TEST(WebhookTest, GenericHookWakesOnAnyVerifiedCall) {
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main",
                         Headers({{"X-Sluice-Signature-256", Sign("")}}), "")
                .verdict,
            HookVerdict::kWake);
  const std::string json = R"({"reason":"manual"})";
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main",
                         Headers({{"X-Sluice-Signature-256", Sign(json)}}), json)
                .verdict,
            HookVerdict::kWake);
  // The deprecated alias still verifies.
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main",
                         Headers({{"X-Sluice-Signature", Sign(json)}}), json)
                .verdict,
            HookVerdict::kWake);
  // The new name wins when both are sent.
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main",
                         Headers({{"X-Sluice-Signature-256", "sha256=00"},
                                  {"X-Sluice-Signature", Sign(json)}}),
                         json)
                .verdict,
            HookVerdict::kUnauthorized);
  // Verified but not JSON: 400, as docs/operations.md says.
  HookDecision d =
      EvaluateHook(HookSource::kGeneric, kSecret, "main",
                   Headers({{"X-Sluice-Signature-256", Sign("anything")}}), "anything");
  EXPECT_EQ(d.verdict, HookVerdict::kBadRequest);
  EXPECT_NE(d.reason.find("not JSON"), std::string::npos) << d.reason;
  // Not verified: 401 before anything in the body is looked at.
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main",
                         Headers({{"X-Sluice-Signature-256", Sign("other")}}), "anything")
                .verdict,
            HookVerdict::kUnauthorized);
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main", Headers({}), "").verdict,
            HookVerdict::kUnauthorized);
  // GitHub's header is not accepted on the generic endpoint.
  EXPECT_EQ(EvaluateHook(HookSource::kGeneric, kSecret, "main",
                         Headers({{"X-Hub-Signature-256", Sign("")}}), "")
                .verdict,
            HookVerdict::kUnauthorized);
}

TEST(WebhookTest, ReasonsQuoteRequestTextSafely) {
  std::string body = "{\"ref\":\"refs/heads/\\u001b[31m" + std::string(200, 'x') + "\"}";
  HookDecision d = EvaluateHook(HookSource::kGitHub, kSecret, "main",
                                Headers({{"X-Hub-Signature-256", Sign(body)}}), body);
  EXPECT_EQ(d.verdict, HookVerdict::kIgnore);
  EXPECT_EQ(d.reason.find('\x1b'), std::string::npos);
  EXPECT_LT(d.reason.size(), 200u);
}

// Gate results on the pull request: a pull/merge request into the tracked
// branch (opened, pushed to, reviewed) wakes the controller, which posts
// the statuses again. GitHub: "Webhook events and payloads", pull_request
// (pull_request.base.ref) and pull_request_review; GitLab: "Merge request
// events" (object_attributes.target_branch).
TEST(WebhookTest, PullRequestIntoTheTrackedBranchWakes) {
  const std::string pr = R"({"action":"synchronize","pull_request":{"base":{"ref":"main"}}})";
  for (const char* event : {"pull_request", "pull_request_review"}) {
    HookDecision d =
        EvaluateHook(HookSource::kGitHub, kSecret, "main",
                     Headers({{"X-Hub-Signature-256", Sign(pr)}, {"X-GitHub-Event", event}}), pr);
    EXPECT_EQ(d.verdict, HookVerdict::kWake) << event << ": " << d.reason;
  }
  const std::string other = R"({"pull_request":{"base":{"ref":"release"}}})";
  HookDecision d = EvaluateHook(
      HookSource::kGitHub, kSecret, "main",
      Headers({{"X-Hub-Signature-256", Sign(other)}, {"X-GitHub-Event", "pull_request"}}), other);
  EXPECT_EQ(d.verdict, HookVerdict::kIgnore);
  EXPECT_NE(d.reason.find("release"), std::string::npos) << d.reason;
  const std::string junk = "not json";
  d = EvaluateHook(
      HookSource::kGitHub, kSecret, "main",
      Headers({{"X-Hub-Signature-256", Sign(junk)}, {"X-GitHub-Event", "pull_request"}}), junk);
  EXPECT_EQ(d.verdict, HookVerdict::kBadRequest);

  const std::string mr =
      R"({"object_kind":"merge_request","object_attributes":{"target_branch":"main"}})";
  auto headers = Headers({{"X-Gitlab-Token", kSecret}, {"X-Gitlab-Event", "Merge Request Hook"}});
  EXPECT_EQ(EvaluateHook(HookSource::kGitLab, kSecret, "main", headers, mr).verdict,
            HookVerdict::kWake);
  EXPECT_EQ(EvaluateHook(HookSource::kGitLab, kSecret, "release", headers, mr).verdict,
            HookVerdict::kIgnore);
}

}  // namespace
}  // namespace sluice::server
