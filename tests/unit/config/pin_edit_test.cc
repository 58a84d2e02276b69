#include "config/pin_edit.h"

#include <gtest/gtest.h>

#include "config/pin.h"
#include "config_test_util.h"

namespace sluice::config {
namespace {

const char kPath[] = "environments/prod/apps/api.yaml";
const std::string kNew = "sha256:" + std::string(64, 'b');

// The worked example's prod pin, comments and all.
const char kCommented[] =
    "# The pin of api in prod.\n"
    "artifact:\n"
    "  image: registry.example.com/shop/api\n"
    "  # Required and immutable.\n"
    "  digest: sha256:2312c00072c32ff91127edcd91fb421fd6a232dc2c3027d61bf09e6fc54c0cf5\n"
    "  version: 2.5.2   # informative\n"
    "  # Commit of api's source code.\n"
    "  source: 55e4119766a3897094cec5dcbbd642af5f541dd6\n"
    "deploy:\n"
    "  adapter: exec\n"
    "  exec: { command: [scripts/deploy.sh, \"{{digest}}\"], timeout: 2m }\n"
    "  # With Helm instead:\n"
    "  #   adapter: helm\n"
    "verification:\n"
    "  duration: 10m\n"
    "  checks:\n"
    "    - http: { url: https://api.internal/ready, expect: 200 }\n";

Pin MustParse(const std::string& text) {
  Diagnostics diags;
  auto pin = ParsePin(text, kPath, diags);
  EXPECT_TRUE(pin.has_value()) << FormatDiagnostics(diags) << "\n" << text;
  return pin.value_or(Pin{});
}

TEST(PinEditTest, ChangesOnlyTheArtifactValuesAndKeepsEveryComment) {
  auto out = EditPinArtifact(kCommented,
                             {{"digest", kNew},
                              {"version", "2.5.3"},
                              {"source", "87fea83a9553070349f1447d1db14d8bf18656a6"},
                              {"promotedFrom", "staging@0123456789abcdef0123456789abcdef01234567"}},
                             kPath);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::string expected = kCommented;
  auto replace = [&](const std::string& from, const std::string& to) {
    auto pos = expected.find(from);
    ASSERT_NE(pos, std::string::npos) << from;
    expected.replace(pos, from.size(), to);
  };
  replace("sha256:2312c00072c32ff91127edcd91fb421fd6a232dc2c3027d61bf09e6fc54c0cf5", kNew);
  replace("version: 2.5.2   # informative", "version: 2.5.3   # informative");
  replace("source: 55e4119766a3897094cec5dcbbd642af5f541dd6\n",
          "source: 87fea83a9553070349f1447d1db14d8bf18656a6\n"
          "  promotedFrom: staging@0123456789abcdef0123456789abcdef01234567\n");
  EXPECT_EQ(*out, expected);
  Pin pin = MustParse(*out);
  EXPECT_EQ(pin.artifact.digest, kNew);
  EXPECT_EQ(pin.artifact.version, "2.5.3");
  EXPECT_EQ(pin.artifact.promoted_from, "staging@0123456789abcdef0123456789abcdef01234567");
  ASSERT_TRUE(pin.verification.has_value());  // the rest of the file still reads the same
}

TEST(PinEditTest, KeepsTheQuotingStyleOfEachValue) {
  std::string text =
      "artifact:\n"
      "  image: registry.example.com/shop/api\n"
      "  digest: \"" +
      testing::kDigest +
      "\"\n"
      "  version: '2.5.2'  # quoted on purpose\n"
      "deploy: { adapter: exec, exec: { command: [deploy.sh] } }\n";
  auto out = EditPinArtifact(text, {{"digest", kNew}, {"version", "it's 2.6"}}, kPath);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(out->find("  digest: \"" + kNew + "\"\n"), std::string::npos) << *out;
  EXPECT_NE(out->find("  version: 'it''s 2.6'  # quoted on purpose\n"), std::string::npos) << *out;
  EXPECT_EQ(MustParse(*out).artifact.version, "it's 2.6");
}

TEST(PinEditTest, QuotesValuesYamlWouldReadAsSomethingElse) {
  std::string text = "artifact:\n  image: x/api\n  digest: " + testing::kDigest +
                     "\n  version: 1.0.0\ndeploy: { adapter: exec, exec: { command: [d.sh] } }\n";
  for (const std::string& v : {std::string("2.10"), std::string("yes"), std::string("a: b"),
                               std::string("1.0 # beta"), std::string("#7"), std::string("null"),
                               std::string("@next"), std::string("\"hi\" there")}) {
    auto out = EditPinArtifact(text, {{"version", v}}, kPath);
    ASSERT_TRUE(out.ok()) << v << ": " << out.status().ToString();
    EXPECT_EQ(out->find("version: " + v + "\n"), std::string::npos) << "not quoted: " << *out;
    EXPECT_EQ(MustParse(*out).artifact.version, v) << *out;
  }
  EXPECT_EQ(YamlScalar("2.5.3"), "2.5.3");
  EXPECT_EQ(YamlScalar("staging@abc"), "staging@abc");
  EXPECT_EQ(YamlScalar("2.10"), "\"2.10\"");
  EXPECT_EQ(YamlScalar(""), "\"\"");
}

TEST(PinEditTest, AddsMissingKeysAtTheBlockIndentAfterItsLastKey) {
  std::string text =
      "artifact:\n"
      "    image: x/api\n"
      "    digest: " +
      testing::kDigest +
      "\n"
      "\n"
      "# deploy section\n"
      "deploy: { adapter: exec, exec: { command: [d.sh] } }\n";
  auto out =
      EditPinArtifact(text, {{"digest", kNew}, {"version", "3.0.0"}, {"source", "abc"}}, kPath);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            "artifact:\n"
            "    image: x/api\n"
            "    digest: " +
                kNew +
                "\n"
                "    version: 3.0.0\n"
                "    source: abc\n"
                "\n"
                "# deploy section\n"
                "deploy: { adapter: exec, exec: { command: [d.sh] } }\n");
  EXPECT_EQ(MustParse(*out).artifact.source, "abc");
}

TEST(PinEditTest, RemovesAKeyWhoseNewValueIsEmpty) {
  // The upstream artifact has no version: the old one must not stay behind.
  std::string text = "artifact:\n  image: x/api\n  digest: " + testing::kDigest +
                     "\n  version: 2.5.2\n  source: abc\ndeploy: { adapter: exec, exec: { command: "
                     "[d.sh] } }\n";
  auto out = EditPinArtifact(text, {{"digest", kNew}, {"version", ""}}, kPath);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->find("version"), std::string::npos) << *out;
  Pin pin = MustParse(*out);
  EXPECT_EQ(pin.artifact.version, "");
  EXPECT_EQ(pin.artifact.source, "abc");
}

TEST(PinEditTest, UnknownKeysAndCrlfLineEndingsSurvive) {
  std::string text = "artifact:\r\n  image: x/api\r\n  digest: " + testing::kDigest +
                     "\r\n  team-note: keep me\r\nextra: 1\r\n";
  auto out = EditPinArtifact(text, {{"digest", kNew}, {"version", "1.1.0"}}, kPath);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "artifact:\r\n  image: x/api\r\n  digest: " + kNew +
                      "\r\n  team-note: keep me\r\n  version: 1.1.0\r\nextra: 1\r\n");
}

TEST(PinEditTest, RefusesFlowStyleAndMultiLineValuesNamingTheLine) {
  auto flow = EditPinArtifact("# pin\nartifact: { image: x, digest: " + testing::kDigest + " }\n",
                              {{"digest", kNew}}, kPath);
  ASSERT_FALSE(flow.ok());
  EXPECT_NE(flow.status().message().find(std::string(kPath) + ":2:"), std::string::npos)
      << flow.status().ToString();
  EXPECT_NE(flow.status().message().find("block"), std::string::npos);

  auto multi = EditPinArtifact(
      "artifact:\n  image: x\n  digest: " + testing::kDigest + "\n  version: |\n    2.5.2\n",
      {{"version", "2.6.0"}}, kPath);
  ASSERT_FALSE(multi.ok());
  EXPECT_NE(multi.status().message().find(std::string(kPath) + ":4:"), std::string::npos)
      << multi.status().ToString();

  auto none = EditPinArtifact("deploy: {}\n", {{"digest", kNew}}, kPath);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("artifact"), std::string::npos);
}

}  // namespace
}  // namespace sluice::config
