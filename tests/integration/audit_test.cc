// End-to-end: the real `sluice` binary reconciles a failing deploy and a good
// one, then `sluice audit` reads them back from the record in Git.
#include <gtest/gtest.h>

#include "env_repo_fixture.h"
#include "record/trust.h"

namespace sluice::testing {
namespace {

// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF line ends).
// Fails the test on a malformed document.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      EXPECT_TRUE(field.empty()) << "quote inside an unquoted field at " << i;
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r') {
      EXPECT_TRUE(i + 1 < text.size() && text[i + 1] == '\n') << "bare CR at " << i;
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else {
      field += c;
    }
  }
  EXPECT_FALSE(quoted) << "unterminated quoted field";
  EXPECT_TRUE(field.empty() && row.empty()) << "last line without CRLF";
  return rows;
}

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(f.state + "/fail-d", "");
    bad = f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('d'), "1.0.0")}},
                          "Pin a bad build of api");
    f.Reconcile(/*expected_exit=*/1);  // the apply fails
    good = f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0.1")}},
                           "Pin a good build of api");
    f.Reconcile();
  }

  EnvRepoFixture f;
  std::string bad;
  std::string good;
};

TEST_F(AuditCliTest, JsonListsTheFailedAndTheVerifiedChange) {
  CommandOutput out = f.Sluice({"audit", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  nlohmann::json report = nlohmann::json::parse(out.out);
  ASSERT_EQ(report["changes"].size(), 2u) << out.out;
  const auto& first = report["changes"][0];
  const auto& second = report["changes"][1];
  EXPECT_EQ(first["commit"], bad);
  EXPECT_EQ(first["env"], "dev");
  EXPECT_EQ(first["app"], "api");
  EXPECT_EQ(first["outcome"], "failed");
  EXPECT_EQ(first["failure"], "adapter");
  EXPECT_EQ(first["subject"], "Pin a bad build of api");
  EXPECT_FALSE(first["proposer"].is_null());
  EXPECT_EQ(second["commit"], good);
  EXPECT_EQ(second["outcome"], "verified");
  EXPECT_EQ(second["version"], "1.0.1");
  EXPECT_FALSE(second["verified"].is_null());
  EXPECT_TRUE(report["exceptions"].empty()) << out.out;  // dev requires no approval
  // One verified deploy; the adapter failure was restored by it.
  EXPECT_EQ(report["dora"]["deploymentFrequency"]["deploys"], 1);
  EXPECT_EQ(report["dora"]["changeFailureRate"]["applied"], 1);
  EXPECT_EQ(report["dora"]["changeFailureRate"]["failed"], 0);
  EXPECT_EQ(report["dora"]["timeToRestore"]["failures"], 1);
  EXPECT_EQ(report["dora"]["timeToRestore"]["restored"], 1);

  CommandOutput none =
      f.Sluice({"audit", "--format", "json", "--env", "prod", "--log-level", "off"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(nlohmann::json::parse(none.out)["changes"].empty());
}

// The proposer is the author of the commit that brought the pin, not of the
// head the controller happened to see: a later unrelated commit by someone
// else rides along in the same push. The controller records that landing
// commit with the change's events, and an older record without it is read by
// walking first parents instead, with the same answer.
TEST_F(AuditCliTest, ProposerIsTheAuthorOfTheCommitThatBroughtThePinRecordedOrNot) {
  std::string pin =
      CommitFiles(f.work, {{"environments/dev/apps/web.yaml", f.PinYaml(Digest('b'), "3.0.0")}},
                  "Pin web 3.0.0");
  Git(f.work, {"commit", "-q", "--allow-empty", "--author", "Other Person <other@example.com>",
               "-m", "Unrelated change on top"});
  std::string head = Git(f.work, {"rev-parse", "HEAD"}).out.substr(0, 40);
  Git(f.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  f.Reconcile();
  std::string proposer = Git(f.work, {"log", "-1", "--format=%an <%ae>", pin}).out;
  proposer.erase(proposer.find_last_not_of('\n') + 1);
  ASSERT_NE(proposer, "Other Person <other@example.com>");

  std::vector<nlohmann::json> events = f.RemoteEvents(head);
  ASSERT_FALSE(events.empty());
  for (const auto& e : events) {
    if (e["app"] == "web") {
      EXPECT_EQ(e.value("landing", ""), pin) << e.dump();
    }
  }

  auto web_change = [&](const std::string& workdir) {
    CommandOutput out = f.Sluice(
        {"audit", "--format", "json", "--app", "web", "--log-level", "off", "--repo", f.url,
         "--workdir", workdir, "--controller-keys", f.workdir + "/controller-key.pub"},
        /*with_repo=*/false);
    EXPECT_EQ(out.exit_code, 0) << out.err;
    nlohmann::json report = nlohmann::json::parse(out.out, nullptr, false);
    if (!report.is_object() || report["changes"].size() != 1u) {
      ADD_FAILURE() << out.out;
      return nlohmann::json();
    }
    return report["changes"][0];
  };
  nlohmann::json recorded = web_change(f.workdir);
  EXPECT_EQ(recorded["commit"], head);
  EXPECT_EQ(recorded["landingCommit"], pin);
  EXPECT_EQ(recorded["proposer"], proposer);
  EXPECT_EQ(recorded["subject"], "Pin web 3.0.0");

  // The same note as a controller without `landing` would have written
  // (and signed) it.
  record::TrustOptions trust;
  trust.signing_key_file = f.workdir + "/controller-key";
  auto keys = record::RecordKeys::Load(trust, f.workdir, nullptr);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  std::string old_note;
  for (const auto& e : events) {
    nlohmann::ordered_json line = nlohmann::ordered_json::parse(e.dump());
    line.erase("landing");
    line.erase("sig");
    old_note += (*keys)->SignLine(line.dump()) + "\n";
  }
  WriteFile(f.state + "/old-note", old_note);
  Git(f.bare, {"notes", "--ref=sluice", "add", "-f", "-F", f.state + "/old-note", head});
  ASSERT_EQ(Git(f.bare, {"notes", "--ref=sluice", "show", head}).out.find("\"landing\""),
            std::string::npos);
  nlohmann::json walked = web_change(f.state + "/fresh-workdir");
  EXPECT_EQ(walked["landingCommit"], pin);
  EXPECT_EQ(walked["proposer"], proposer);
  EXPECT_EQ(walked["subject"], "Pin web 3.0.0");
}

// A promotion merged by its approver: the proposer is who wrote the
// promotion (the merged branch's head), not who merged it.
TEST_F(AuditCliTest, ProposerOfAMergedPromotionIsItsAuthorNotTheMerger) {
  Git(f.work, {"checkout", "-q", "-b", "promote/web"});
  WriteFile(f.work + "/environments/dev/apps/web.yaml", f.PinYaml(Digest('e'), "4.0.0"));
  Git(f.work, {"add", "-A"});
  Git(f.work,
      {"commit", "-q", "--author", "Dana Dev <dana@example.com>", "-m", "Promote web 4.0.0"});
  Git(f.work, {"checkout", "-q", "main"});
  // The merge is authored by the test's identity (the approver here).
  Git(f.work,
      {"merge", "-q", "--no-ff", "-m", "Merge pull request #9 from promote/web", "promote/web"});
  Git(f.work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  f.Reconcile();
  CommandOutput out = f.Sluice({"audit", "--format", "json", "--app", "web", "--log-level", "off"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  nlohmann::json report = nlohmann::json::parse(out.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << out.out;
  nlohmann::json change;
  for (const auto& c : report["changes"]) {
    if (c.value("version", "") == "4.0.0") change = c;
  }
  ASSERT_TRUE(change.is_object()) << out.out;
  EXPECT_EQ(change["proposer"], "Dana Dev <dana@example.com>") << change.dump();
}

TEST_F(AuditCliTest, CsvParsesWithOneRowPerChange) {
  CommandOutput out = f.Sluice({"audit", "--format", "csv", "--log-level", "off"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  auto rows = ParseCsv(out.out);
  ASSERT_EQ(rows.size(), 3u) << out.out;
  ASSERT_GE(rows[0].size(), 16u);
  EXPECT_EQ(rows[0][0], "env");
  EXPECT_EQ(rows[0][15], "outcome");
  for (const auto& r : rows) EXPECT_EQ(r.size(), rows[0].size()) << out.out;
  EXPECT_EQ(rows[1][2], bad);
  EXPECT_EQ(rows[1][15], "failed");
  EXPECT_EQ(rows[2][2], good);
  EXPECT_EQ(rows[2][15], "verified");
}

TEST_F(AuditCliTest, MarkdownAndReleaseNotes) {
  CommandOutput md = f.Sluice({"audit", "--log-level", "off"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("## Exceptions\n\nNone."), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("## DORA"), std::string::npos) << md.out;

  CommandOutput bad_time = f.Sluice({"audit", "--since", "yesterday", "--log-level", "off"});
  EXPECT_EQ(bad_time.exit_code, 2) << bad_time.out;

  CommandOutput notes = f.Sluice({"release-notes", "dev", "api", "--log-level", "off"});
  ASSERT_EQ(notes.exit_code, 0) << notes.err;
  EXPECT_NE(notes.out.find("Release notes: api in dev"), std::string::npos) << notes.out;
  EXPECT_NE(notes.out.find("| version | - | 1.0.1 |"), std::string::npos) << notes.out;
  EXPECT_NE(notes.out.find("Pin a good build of api"), std::string::npos) << notes.out;
}

}  // namespace
}  // namespace sluice::testing
