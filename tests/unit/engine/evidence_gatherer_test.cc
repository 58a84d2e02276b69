// EvidenceGatherer against a real environments repository made with the git
// CLI, the controller's Workspace cache, real custom gate commands and a
// registry seen through a fake HttpClient.
#include "engine/evidence_gatherer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/bounded_cache.h"
#include "core/time_format.h"
#include "record/event.h"
#include "record/refs.h"
#include "support/env_repo_test.h"
#include "support/fake_http.h"
#include "support/git_servers.h"
#include "support/temp_dir.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kD0 = "sha256:" + std::string(64, '0');
const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');

std::string PinYaml(const std::string& digest) {
  return "artifact:\n  image: 127.0.0.1:9/shop/api\n  digest: " + digest +
         "\n  version: 2.5.3\ndeploy:\n  adapter: exec\n  exec: {command: [scripts/deploy.sh]}\n";
}

std::string IncidentYaml(const std::string& id, const std::string& status,
                         const std::string& envs) {
  return "id: " + id + "\ntitle: t\nstatus: " + status +
         "\nseverity: sev1\nopened: 2026-11-22T10:00:00Z\n" +
         (envs.empty() ? "" : "environments: " + envs + "\n");
}

std::string Sample(const std::string& name) {
  return testing::ReadFile(std::string(SLUICE_TEST_DATA_DIR) + "/scans/" + name);
}

// Answers every HEAD as the registry would when it holds only `present`.
testing::FakeHttpClient::Handler RegistryHolding(std::string present) {
  return [present](const net::HttpRequest& req) -> Result<net::HttpResponse> {
    net::HttpResponse res;
    if (req.url.size() >= present.size() &&
        req.url.compare(req.url.size() - present.size(), present.size(), present) == 0) {
      res.status = 200;
      res.headers.emplace("docker-content-digest", present);
      res.headers.emplace("content-type", "application/vnd.oci.image.manifest.v1+json");
    } else {
      res.status = 404;
    }
    return res;
  };
}

class EvidenceGathererTest : public testing::EnvRepoTest {
 protected:
  void SetUp() override {
    // 1. staging runs D1, prod runs D0; CI stored scan reports for D1.
    const std::string d1_dir = "artifacts/api/sha256-" + std::string(64, '1') + "/";
    Write("scripts/gate-ok.sh",
          "#!/bin/sh\ntest -f calendars/holidays.ics || { echo 'not in a checkout'; exit 1; }\n"
          "echo \"ok for $SLUICE_DIGEST\"\n");
    Write("scripts/gate-wait.sh", "#!/bin/sh\necho 'load test queued'\nexit 75\n");
    ASSERT_EQ(::chmod(Path("scripts/gate-ok.sh").c_str(), 0755), 0);
    ASSERT_EQ(::chmod(Path("scripts/gate-wait.sh").c_str(), 0755), 0);
    staging_commit_ =
        testing::CommitFiles(work_,
                             {{"sluice.yaml", "pipeline: [staging, prod]\n"},
                              {"environments/staging/apps/api.yaml", PinYaml(kD1)},
                              {"environments/prod/apps/api.yaml", PinYaml(kD0)},
                              {"calendars/holidays.ics", kCalendar},
                              {d1_dir + "build.yaml", "source: abc\n"},
                              {d1_dir + "trivy.json", Sample("trivy.json")},
                              {d1_dir + "grype.json", Sample("grype.json")},
                              {"incidents/INC-1.yaml", IncidentYaml("INC-1", "open", "[prod]")},
                              {"incidents/INC-2.yaml", IncidentYaml("INC-2", "resolved", "")},
                              {"incidents/INC-4.yaml", IncidentYaml("INC-4", "open", "[staging]")}},
                             "staging runs D1");
    // 2. the promotion of D1 to prod: the candidate.
    candidate_commit_ = testing::CommitFiles(
        work_, {{"environments/prod/apps/api.yaml", PinYaml(kD1)}}, "promote api to prod");
    // 3. the branch moved on: an incident declared after the candidate.
    head_commit_ = testing::CommitFiles(
        work_, {{"incidents/INC-3.yaml", IncidentYaml("INC-3", "open", "")}}, "declare INC-3");
    testing::Git(work_, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});

    auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
    ASSERT_TRUE(ws.ok()) << ws.status().ToString();
    ws_ = std::move(*ws);
    Status synced = ws_->Sync(false);
    ASSERT_TRUE(synced.ok()) << synced.ToString();

    // The record: staging deployed and verified D1 at staging_commit_.
    git::Repository& repo = ws_->repo();
    ASSERT_TRUE(repo.SetRef(record::DeployedRef("staging", "api"), staging_commit_, "test").ok());
    ASSERT_TRUE(repo.SetRef(record::LkgRef("staging", "api"), staging_commit_, "test").ok());
    ASSERT_TRUE(repo.SetRef(record::DeployedRef("prod", "api"), staging_commit_, "test").ok());
    ASSERT_TRUE(repo.SetRef(record::LkgRef("prod", "api"), staging_commit_, "test").ok());
    record::Event applied;
    applied.time = *ParseRfc3339("2026-11-20T08:00:00Z");
    applied.env = "staging";
    applied.app = "api";
    applied.kind = record::EventKind::kApplied;
    applied.digest = kD1;
    applied.commit = staging_commit_;
    record::Event verified = applied;
    verified.kind = record::EventKind::kVerified;
    verified.time = *ParseRfc3339("2026-11-20T08:30:00Z");
    record::Event other_app = verified;
    other_app.app = "web";
    other_app.time = *ParseRfc3339("2026-11-21T00:00:00Z");
    ASSERT_TRUE(repo.WriteNote(record::kNotesRef, staging_commit_,
                               record::EventToJsonLine(applied) + "\n" +
                                   record::EventToJsonLine(verified) + "\n" +
                                   record::EventToJsonLine(other_app) + "\n",
                               record::Workspace::Identity())
                    .ok());

    pin_.env = "prod";
    pin_.app = "api";
    pin_.artifact.image = "127.0.0.1:9/shop/api";
    pin_.artifact.digest = kD1;
    pin_.artifact.version = "2.5.3";
    policy_.env = "prod";
    policy_.upstream = "staging";
    policy_.gates.upstream_verified = true;
    policy_.gates.soak = std::chrono::hours(1);
    policy_.gates.vulnerabilities = config::VulnerabilityLimits{0, 0, std::nullopt};
    policy_.gates.registry_verify_digest = true;
    policy_.gates.no_active_incident = true;
    policy_.gates.custom = {{"smoke", {"scripts/gate-ok.sh"}, std::chrono::seconds(30)},
                            {"load", {"scripts/gate-wait.sh"}, std::chrono::seconds(30)}};
    policy_.freezes = {{"black-friday", "2026-11-26", "2026-12-01", ""},
                       {"", "", "", "calendars/holidays.ics"},
                       {"", "", "", "calendars/missing.ics"}};
  }

  void Write(const std::string& rel, const std::string& content) {
    testing::WriteFile(Path(rel), content);
  }
  std::string Path(const std::string& rel) const { return work_ + "/" + rel; }

  gates::Candidate Candidate(const std::string& commit) {
    gates::Candidate c;
    c.env = "prod";
    c.app = "api";
    c.commit = commit;
    c.pin = &pin_;
    c.policy = &policy_;
    return c;
  }

  gates::Evidence Gather(const gates::Candidate& c, const std::string& head) {
    EvidenceGatherer gatherer(*ws_, http_, runner_, registry_);
    gates::Evidence ev = gatherer.Gather(c, staging_commit_, head, nullptr);
    // Custom gates run apart, once approval passed; here from the candidate.
    ev.custom = gatherer.RunCustomGates(c, c.commit, nullptr);
    return ev;
  }

  static constexpr char kCalendar[] =
      "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nSUMMARY:Holiday\n"
      "DTSTART;VALUE=DATE:20261224\nDTEND;VALUE=DATE:20261227\nEND:VEVENT\nEND:VCALENDAR\n";

  git::LibGit2 libgit2_;
  const std::string work_ = work();
  std::string staging_commit_;
  std::string candidate_commit_;
  std::string head_commit_;
  std::unique_ptr<record::Workspace> ws_;
  config::Pin pin_;
  config::EnvironmentPolicy policy_;
  testing::FakeHttpClient http_{RegistryHolding(kD1)};
  process::BoostCommandRunner runner_;
  evidence::RegistryClient registry_{http_};
};

TEST_F(EvidenceGathererTest, GathersEveryFactThePolicyNeeds) {
  gates::Evidence ev = Gather(Candidate(candidate_commit_), head_commit_);

  EXPECT_EQ(ev.lkg_commit, std::optional<std::string>(staging_commit_));
  EXPECT_TRUE(ev.ever_deployed);

  ASSERT_TRUE(ev.upstream.has_value());
  EXPECT_EQ(ev.upstream->env, "staging");
  EXPECT_TRUE(ev.upstream->digest_deployed);
  EXPECT_TRUE(ev.upstream->digest_verified);
  ASSERT_TRUE(ev.upstream->verified_at.has_value());
  EXPECT_EQ(FormatRfc3339(*ev.upstream->verified_at), "2026-11-20T08:30:00Z");

  ASSERT_TRUE(ev.scan.has_value());
  const std::string dir = "artifacts/api/sha256-" + std::string(64, '1');
  EXPECT_TRUE(ev.scan->found);
  EXPECT_EQ(ev.scan->error, "");
  EXPECT_EQ(ev.scan->path, dir + "/grype.json, " + dir + "/trivy.json");
  EXPECT_EQ(ev.scan->format, "grype+trivy");
  // Per severity the larger count of the two reports.
  std::map<std::string, int> want = {
      {"critical", 1}, {"high", 2}, {"medium", 1}, {"low", 1}, {"unknown", 1}};
  EXPECT_EQ(ev.scan->counts, want);

  ASSERT_TRUE(ev.registry.has_value());
  EXPECT_TRUE(ev.registry->exists) << ev.registry->error;
  EXPECT_THAT(http_.urls(), ElementsAre("http://127.0.0.1:9/v2/shop/api/manifests/" + kD1));

  ASSERT_TRUE(ev.incidents.has_value());
  // Read at the head: INC-3 was declared after the candidate; INC-4 is
  // staging's; INC-2 is resolved.
  EXPECT_THAT(ev.incidents->open, ElementsAre("INC-1", "INC-3"));
  EXPECT_EQ(ev.incidents->error, "");

  ASSERT_EQ(ev.custom.size(), 2u);
  EXPECT_EQ(ev.custom[0].name, "smoke");
  EXPECT_EQ(ev.custom[0].error, "");
  EXPECT_EQ(ev.custom[0].exit_code, 0);
  EXPECT_EQ(ev.custom[0].first_line, "ok for " + kD1);
  EXPECT_EQ(ev.custom[1].name, "load");
  EXPECT_EQ(ev.custom[1].exit_code, 75);
  EXPECT_EQ(ev.custom[1].first_line, "load test queued");
  // The scratch checkout is gone.
  std::error_code ec;
  EXPECT_TRUE(!fs::exists(ws_->ScratchDir(), ec) || fs::is_empty(ws_->ScratchDir(), ec));

  ASSERT_EQ(ev.calendars.size(), 2u);
  EXPECT_EQ(ev.calendars[0].path, "calendars/holidays.ics");
  EXPECT_EQ(ev.calendars[0].text, kCalendar);
  EXPECT_EQ(ev.calendars[0].error, "");
  EXPECT_EQ(ev.calendars[1].path, "calendars/missing.ics");
  EXPECT_THAT(ev.calendars[1].error, HasSubstr("does not exist at the policy commit"));

  // The gates can evaluate all of it.
  std::vector<gates::GateResult> results =
      gates::EvaluateGates(Candidate(candidate_commit_), ev, *ParseRfc3339("2026-11-22T12:00:00Z"));
  EXPECT_FALSE(results.empty());
}

TEST_F(EvidenceGathererTest, MissingFactsAreReportedNotInvented) {
  // A candidate pinning D2: nothing ran it upstream, no scan report, not in
  // the registry; a fresh environment with no record.
  pin_.artifact.digest = kD2;
  pin_.env = "qa";
  gates::Candidate c = Candidate(candidate_commit_);
  c.env = "qa";
  policy_.gates.custom.clear();
  policy_.freezes.clear();
  gates::Evidence ev = Gather(c, staging_commit_);

  EXPECT_FALSE(ev.lkg_commit.has_value());
  EXPECT_FALSE(ev.ever_deployed);
  ASSERT_TRUE(ev.upstream.has_value());
  EXPECT_EQ(ev.upstream->env, "staging");
  EXPECT_FALSE(ev.upstream->digest_deployed);
  EXPECT_FALSE(ev.upstream->digest_verified);
  EXPECT_FALSE(ev.upstream->verified_at.has_value());
  ASSERT_TRUE(ev.scan.has_value());
  EXPECT_FALSE(ev.scan->found);
  EXPECT_EQ(ev.scan->path, "artifacts/api/sha256-" + std::string(64, '2'));
  ASSERT_TRUE(ev.registry.has_value());
  EXPECT_FALSE(ev.registry->exists);
  EXPECT_EQ(ev.registry->error, "");
  ASSERT_TRUE(ev.incidents.has_value());
  EXPECT_THAT(ev.incidents->open, IsEmpty());  // INC-1 is prod's, INC-4 staging's
  EXPECT_TRUE(ev.custom.empty());
  EXPECT_TRUE(ev.calendars.empty());
}

TEST_F(EvidenceGathererTest, BrokenFilesBecomeErrors) {
  const std::string d1_dir = "artifacts/api/sha256-" + std::string(64, '1') + "/";
  std::string broken = testing::CommitFiles(
      work_,
      {{d1_dir + "report.sarif", R"({"version": "2.1.0", "runs": [{"results": [)"},
       {"incidents/INC-5.yaml", "id: INC-5\nstatus: maybe\n"}},
      "broken files");
  testing::Git(work_, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  ASSERT_TRUE(ws_->Sync(false).ok());

  gates::Evidence ev = Gather(Candidate(broken), broken);
  ASSERT_TRUE(ev.scan.has_value());
  EXPECT_TRUE(ev.scan->found);
  EXPECT_EQ(ev.scan->path, d1_dir + "report.sarif");
  EXPECT_THAT(ev.scan->error, HasSubstr("SARIF log is not valid JSON"));
  ASSERT_TRUE(ev.incidents.has_value());
  EXPECT_THAT(ev.incidents->error, HasSubstr("incidents/INC-5.yaml"));
  EXPECT_THAT(ev.incidents->open, ElementsAre("INC-1", "INC-3"));
}

TEST_F(EvidenceGathererTest, UpstreamVerifiedNeedsTheDigestAtTheLkg) {
  // staging's LKG is a commit pinning D0 (verified there), while D1 is what
  // it has deployed since: deployed, not verified, no verification time.
  std::string d0_commit = testing::CommitFiles(
      work_, {{"environments/staging/apps/api.yaml", PinYaml(kD0)}}, "staging back to D0");
  testing::Git(work_, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  ASSERT_TRUE(ws_->Sync(false).ok());
  ASSERT_TRUE(ws_->repo().SetRef(record::LkgRef("staging", "api"), d0_commit, "test").ok());
  record::Event verified;
  verified.time = *ParseRfc3339("2026-11-21T08:30:00Z");
  verified.env = "staging";
  verified.app = "api";
  verified.kind = record::EventKind::kVerified;
  verified.digest = kD0;
  verified.commit = d0_commit;
  ASSERT_TRUE(ws_->repo()
                  .WriteNote(record::kNotesRef, d0_commit, record::EventToJsonLine(verified) + "\n",
                             record::Workspace::Identity())
                  .ok());
  policy_.gates = {};
  policy_.gates.soak = std::chrono::minutes(30);
  gates::Evidence ev = Gather(Candidate(candidate_commit_), head_commit_);
  ASSERT_TRUE(ev.upstream.has_value());
  EXPECT_TRUE(ev.upstream->digest_deployed);
  EXPECT_FALSE(ev.upstream->digest_verified);
  EXPECT_FALSE(ev.upstream->verified_at.has_value());
  EXPECT_FALSE(ev.scan.has_value());
  EXPECT_FALSE(ev.registry.has_value());
  EXPECT_FALSE(ev.incidents.has_value());

  // Without an upstream in the policy there is nothing to find.
  policy_.upstream.reset();
  gates::Evidence none = Gather(Candidate(candidate_commit_), head_commit_);
  ASSERT_TRUE(none.upstream.has_value());
  EXPECT_EQ(none.upstream->env, "");
  EXPECT_FALSE(none.upstream->digest_deployed);
}

TEST_F(EvidenceGathererTest, NoGatesNoWorkAndNoPolicyOnlyRefs) {
  policy_.gates = {};
  policy_.freezes.clear();
  gates::Evidence ev = Gather(Candidate(candidate_commit_), head_commit_);
  EXPECT_TRUE(ev.ever_deployed);
  EXPECT_FALSE(ev.upstream || ev.scan || ev.registry || ev.incidents);
  EXPECT_TRUE(ev.custom.empty());
  EXPECT_TRUE(http_.urls().empty());
  EXPECT_FALSE(fs::exists(ws_->ScratchDir()));

  gates::Candidate c = Candidate(candidate_commit_);
  c.policy = nullptr;
  c.pin = nullptr;
  gates::Evidence bare = Gather(c, head_commit_);
  EXPECT_EQ(bare.lkg_commit, std::optional<std::string>(staging_commit_));
}

TEST_F(EvidenceGathererTest, CustomGatesFailClosedWhenTheCommitCannotBeExported) {
  policy_.gates = {};
  policy_.gates.custom = {{"smoke", {"scripts/gate-ok.sh"}, std::chrono::seconds(30)}};
  gates::Evidence ev = Gather(Candidate(std::string(40, 'f')), head_commit_);
  ASSERT_EQ(ev.custom.size(), 1u);
  EXPECT_EQ(ev.custom[0].name, "smoke");
  EXPECT_THAT(ev.custom[0].error, HasSubstr("cannot check out ffffffffffff"));
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(ws_->ScratchDir(), ec));
}

// A Trivy report with `n` critical findings.
std::string TrivyCriticals(int n) {
  std::string vulns;
  for (int i = 0; i < n; ++i) {
    vulns += std::string(i ? "," : "") + R"({"VulnerabilityID":"CVE-2026-)" + std::to_string(i) +
             R"(","Severity":"CRITICAL"})";
  }
  return R"({"SchemaVersion":2,"Results":[{"Target":"img","Vulnerabilities":[)" + vulns + "]}]}";
}

TEST_F(EvidenceGathererTest, ScanReportsAreParsedOncePerTree) {
  policy_.gates = {};
  policy_.gates.vulnerabilities = config::VulnerabilityLimits{0, 0, std::nullopt};
  policy_.freezes.clear();
  const std::string dir = "artifacts/api/sha256-" + std::string(64, '1');
  EvidenceGatherer gatherer(*ws_, http_, runner_, registry_);

  gates::Evidence first = gatherer.Gather(Candidate(candidate_commit_), "", head_commit_, nullptr);
  ASSERT_TRUE(first.scan.has_value());
  EXPECT_EQ(first.scan->format, "grype+trivy");
  EXPECT_EQ(gatherer.scan_parses(), 1u);

  // The next pass, and a later commit whose artifacts/ directory is the same
  // tree: answered from the cache, nothing parsed, the same evidence.
  for (const std::string& commit : {candidate_commit_, head_commit_}) {
    gates::Evidence again = gatherer.Gather(Candidate(commit), "", head_commit_, nullptr);
    ASSERT_TRUE(again.scan.has_value());
    EXPECT_EQ(again.scan->path, first.scan->path);
    EXPECT_EQ(again.scan->format, first.scan->format);
    EXPECT_EQ(again.scan->counts, first.scan->counts);
    EXPECT_TRUE(again.scan->found);
  }
  EXPECT_EQ(gatherer.scan_parses(), 1u);
  CacheStats stats = gatherer.ScanCacheStatistics();
  EXPECT_EQ(stats.hits, 2u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 1u);

  // CI replaces the Trivy report: a new tree id, read and parsed again.
  std::string rescanned = testing::CommitFiles(work_, {{dir + "/trivy.json", TrivyCriticals(3)}},
                                               "rescan api with a newer database");
  testing::Git(work_, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  ASSERT_TRUE(ws_->Sync(false).ok());
  gates::Evidence changed = gatherer.Gather(Candidate(rescanned), "", rescanned, nullptr);
  ASSERT_TRUE(changed.scan.has_value());
  EXPECT_EQ(changed.scan->counts.at("critical"), 3);
  EXPECT_EQ(gatherer.scan_parses(), 2u);

  // The older commit still has the older tree, still cached.
  gates::Evidence old = gatherer.Gather(Candidate(candidate_commit_), "", rescanned, nullptr);
  EXPECT_EQ(old.scan->counts, first.scan->counts);
  EXPECT_EQ(gatherer.scan_parses(), 2u);
  EXPECT_EQ(gatherer.ScanCacheStatistics().entries, 2u);
}

TEST_F(EvidenceGathererTest, MissingScanDirectoryIsNotCached) {
  policy_.gates = {};
  policy_.gates.vulnerabilities = config::VulnerabilityLimits{0, 0, std::nullopt};
  policy_.freezes.clear();
  pin_.artifact.digest = kD2;  // CI has not stored reports for D2 yet
  const std::string dir = "artifacts/api/sha256-" + std::string(64, '2');
  EvidenceGatherer gatherer(*ws_, http_, runner_, registry_);

  gates::Evidence before = gatherer.Gather(Candidate(candidate_commit_), "", head_commit_, nullptr);
  ASSERT_TRUE(before.scan.has_value());
  EXPECT_FALSE(before.scan->found);
  EXPECT_EQ(before.scan->path, dir);
  EXPECT_EQ(gatherer.ScanCacheStatistics().entries, 0u);
  EXPECT_EQ(gatherer.scan_parses(), 0u);

  // The reports land: the next gather finds them.
  std::string stored = testing::CommitFiles(work_, {{dir + "/trivy.json", TrivyCriticals(1)}},
                                            "store scan reports of D2");
  testing::Git(work_, {"push", "--quiet", "origin", "HEAD:refs/heads/main"});
  ASSERT_TRUE(ws_->Sync(false).ok());
  gates::Evidence after = gatherer.Gather(Candidate(stored), "", stored, nullptr);
  ASSERT_TRUE(after.scan.has_value());
  EXPECT_TRUE(after.scan->found);
  EXPECT_EQ(after.scan->counts.at("critical"), 1);
}

TEST_F(EvidenceGathererTest, ScanCacheOfZeroEntriesParsesEveryTime) {
  policy_.gates = {};
  policy_.gates.vulnerabilities = config::VulnerabilityLimits{0, 0, std::nullopt};
  policy_.freezes.clear();
  EvidenceGatherer gatherer(*ws_, http_, runner_, registry_, /*scan_cache_entries=*/0);
  for (int i = 0; i < 3; ++i) {
    gates::Evidence ev = gatherer.Gather(Candidate(candidate_commit_), "", head_commit_, nullptr);
    ASSERT_TRUE(ev.scan.has_value());
    EXPECT_TRUE(ev.scan->found);
  }
  EXPECT_EQ(gatherer.scan_parses(), 3u);
  EXPECT_EQ(gatherer.ScanCacheStatistics().hits, 0u);
}

TEST_F(EvidenceGathererTest, RegistryAnswerIsSharedAcrossGathers) {
  policy_.gates = {};
  policy_.gates.registry_verify_digest = true;
  policy_.freezes.clear();
  EvidenceGatherer gatherer(*ws_, http_, runner_, registry_);
  for (int i = 0; i < 3; ++i) {
    gates::Evidence ev = gatherer.Gather(Candidate(candidate_commit_), "", head_commit_, nullptr);
    ASSERT_TRUE(ev.registry.has_value());
    EXPECT_TRUE(ev.registry->exists) << ev.registry->error;
  }
  EXPECT_EQ(http_.urls().size(), 1u);
  EXPECT_EQ(registry_.CacheStatistics().hits, 2u);
}

}  // namespace
}  // namespace sluice::engine
