// Reconciler passes on a real repository with an injected clock: what waits
// must deploy by itself when time moves, and nothing else may.
#include "engine/reconciler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>

#include "core/time_format.h"
#include "engine/rollback.h"
#include "record/refs.h"
#include "support/engine_fixture.h"
#include "support/git_servers.h"
#include "support/temp_dir.h"
#include "verify/verifier.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;
using testing::Git;

std::string D(char c) { return "sha256:" + std::string(64, c); }

TimePoint At(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

class ReconcilerTest : public testing::EngineFixture {
 protected:
  std::string Pin(const std::string& digest) {
    return "artifact:\n  image: r.example.com/shop/api\n  digest: " + digest +
           "\ndeploy:\n  adapter: exec\n  exec: {command: [touch, \"" + tmp_.Sub("ran-") +
           "{{env}}-{{digest}}\"]}\n";
  }

  bool Ran(const std::string& env, const std::string& digest) {
    return fs::exists(tmp_.Sub("ran-") + env + "-" + digest);
  }

  // One pass by a fresh reconciler (as `sluice reconcile --once` would).
  record::PassReport Pass() {
    auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    auto report = MakeReconciler(**ws)->RunOnce();
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : record::PassReport{};
  }

  std::string StateOf(const record::PassReport& p, const std::string& env) {
    for (const auto& o : p.outcomes) {
      if (o.env == env) return std::string(record::OutcomeName(o.state)) + ": " + o.reason;
    }
    return "(no outcome)";
  }
};

TEST_F(ReconcilerTest, WaitsForTheWindowThenDeploysWhenTheClockMovesWithoutANewCommit) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "windows:\n  timezone: Europe/Berlin\n  allow:\n"
         "    - {days: [mon, tue, wed, thu], hours: \"11:00-15:00\"}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});

  // Tue 09:00 UTC is 10:00 in Berlin: the window opens at 11:00.
  record::PassReport first = Pass();
  EXPECT_EQ(StateOf(first, "dev").substr(0, 8), "waiting:") << StateOf(first, "dev");
  EXPECT_NE(StateOf(first, "dev").find("opens Tue 11:00 Europe/Berlin"), std::string::npos)
      << StateOf(first, "dev");
  EXPECT_FALSE(Ran("dev", D('a')));

  clock_.Set(At("2026-11-24T10:30:00Z"));  // 11:30 in Berlin
  record::PassReport second = Pass();
  EXPECT_EQ(StateOf(second, "dev").substr(0, 9), "verified:") << StateOf(second, "dev");
  EXPECT_TRUE(Ran("dev", D('a')));
}

// The evidence caches live as long as the reconciler: a controller's passes
// share them, while a fresh reconciler (reconcile --once) starts empty.
TEST_F(ReconcilerTest, PassesOfOneReconcilerShareTheScanCache) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "gates:\n  vulnerabilities: {maxCritical: 0}\n"
         "windows:\n  timezone: Europe/Berlin\n  allow:\n"
         "    - {days: [mon, tue, wed, thu], hours: \"11:00-15:00\"}\n"}});
  Push({{"artifacts/api/sha256-" + std::string(64, 'a') + "/trivy.json",
         R"({"SchemaVersion":2,"Results":[]})"},
        {"environments/dev/apps/api.yaml", Pin(D('a'))}});

  auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  Reconciler r(**ws, runner_, verifier_, http_, clock_, cancel_, {});
  for (int pass = 1; pass <= 3; ++pass) {
    auto report = r.RunOnce();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(StateOf(*report, "dev").substr(0, 8), "waiting:") << StateOf(*report, "dev");
  }
  EvidenceCacheStats stats = r.EvidenceCaches();
  EXPECT_EQ(stats.scan.misses, 1u);  // read and parsed by the first pass only
  EXPECT_EQ(stats.scan.hits, 2u);
  EXPECT_EQ(stats.scan.entries, 1u);
  EXPECT_EQ(stats.registry.hits + stats.registry.misses, 0u);  // no registry gate

  Reconciler fresh(**ws, runner_, verifier_, http_, clock_, cancel_, {});
  EXPECT_EQ(fresh.EvidenceCaches().scan.entries, 0u);
}

// Every decision names the commit that brought the pin (its author proposed
// the change), also when the head the controller acts on is a later commit.
TEST_F(ReconcilerTest, EventsNameTheCommitThatBroughtThePin) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "windows:\n  timezone: UTC\n  allow:\n    - {days: [tue], hours: \"10:00-11:00\"}\n"}});
  std::string pin = Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});
  std::string head = Push({{"README.md", "unrelated\n"}});

  EXPECT_EQ(StateOf(Pass(), "dev").substr(0, 8), "waiting:");  // 09:00, window opens at 10:00
  clock_.Set(At("2026-11-24T10:30:00Z"));
  EXPECT_EQ(StateOf(Pass(), "dev").substr(0, 9), "verified:");

  std::string note = Git(bare_, {"notes", "--ref=sluice", "show", head}).out;
  std::vector<record::Event> events = record::ParseNote(note);
  std::vector<std::string> kinds;
  for (const record::Event& e : events) {
    kinds.emplace_back(record::EventKindName(e.kind));
    EXPECT_EQ(e.commit, head);
    EXPECT_EQ(e.landing, pin) << record::EventToJsonLine(e);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"waiting", "applying", "applied", "verified"}));
}

TEST_F(ReconcilerTest, UnprotectedPolicyEditTakesEffectInTheCommitThatMakesIt) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "windows:\n  timezone: UTC\n  allow:\n    - {hours: \"12:00-13:00\"}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});
  clock_.Set(At("2026-11-24T12:30:00Z"));
  ASSERT_EQ(StateOf(Pass(), "dev").substr(0, 9), "verified:");

  // One commit pins a new digest and deletes the window rule. dev's policy
  // asks for no approval, so any edit of it is approved under the version
  // before it (trust rule 1): the edit is in force at once. (Protected
  // environments: tests/integration/trust_test.cc.)
  clock_.Set(At("2026-11-24T20:00:00Z"));
  Push({{"environments/dev/environment.yaml", "{}\n"},
        {"environments/dev/apps/api.yaml", Pin(D('b'))}});
  record::PassReport p = Pass();
  EXPECT_EQ(StateOf(p, "dev").substr(0, 9), "verified:") << StateOf(p, "dev");
  EXPECT_TRUE(Ran("dev", D('b')));
}

TEST_F(ReconcilerTest, SoakWaitsForTheUpstreamVerificationToAge) {
  Push({{"sluice.yaml", "pipeline: [dev, staging]\n"},
        {"environments/dev/environment.yaml", "{}\n"},
        {"environments/staging/environment.yaml",
         "upstream: dev\ngates:\n  upstreamVerified: true\n  soak: 1h\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('c'))}});
  EXPECT_EQ(StateOf(Pass(), "dev").substr(0, 9), "verified:");
  // The promotion lands right after dev verified it: it must soak an hour.
  Push({{"environments/staging/apps/api.yaml", Pin(D('c'))}});
  std::string staging = StateOf(Pass(), "staging");
  EXPECT_EQ(staging.substr(0, 8), "waiting:") << staging;
  EXPECT_NE(staging.find("1h to go"), std::string::npos) << staging;
  EXPECT_FALSE(Ran("staging", D('c')));

  clock_.Advance(std::chrono::minutes(59));
  EXPECT_EQ(StateOf(Pass(), "staging").substr(0, 8), "waiting:");
  clock_.Advance(std::chrono::minutes(2));
  EXPECT_EQ(StateOf(Pass(), "staging").substr(0, 9), "verified:");
  EXPECT_TRUE(Ran("staging", D('c')));
}

TEST_F(ReconcilerTest, UnverifiedUpstreamDigestIsBlocked) {
  Push({{"sluice.yaml", "pipeline: [dev, staging]\n"},
        {"environments/dev/environment.yaml", "{}\n"},
        {"environments/staging/environment.yaml",
         "upstream: dev\ngates:\n  upstreamVerified: true\n"}});
  Push({{"environments/staging/apps/api.yaml", Pin(D('d'))}});
  std::string staging = StateOf(Pass(), "staging");
  EXPECT_EQ(staging.substr(0, 8), "blocked:") << staging;
  EXPECT_FALSE(Ran("staging", D('d')));
}

TEST_F(ReconcilerTest, FailedVerificationKeepsTheLastKnownGood) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", retries: "
         "0}\n"}});
  std::string commit = Push({{"environments/dev/apps/api.yaml", Pin(D('e'))}});
  record::PassReport p = Pass();
  EXPECT_EQ(StateOf(p, "dev").substr(0, 7), "failed:") << StateOf(p, "dev");
  EXPECT_TRUE(Ran("dev", D('e')));
  EXPECT_EQ(RemoteRef(record::DeployedRef("dev", "api")), commit);
  EXPECT_EQ(RemoteRef(record::LkgRef("dev", "api")), "");
  auto note = Git(bare_, {"notes", "--ref=sluice", "show", commit});
  EXPECT_NE(note.out.find("\"event\":\"failed\""), std::string::npos);
  EXPECT_NE(note.out.find("127.0.0.1:1/ready"), std::string::npos) << note.out;
}

}  // namespace
}  // namespace sluice::engine

namespace sluice::engine {
namespace {

TEST_F(ReconcilerTest, RollbackIsNotHeldByAClosedWindow) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "windows:\n  timezone: UTC\n  allow:\n    - {hours: \"09:00-10:00\"}\n"}});
  std::string good = Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});
  ASSERT_EQ(StateOf(Pass(), "dev").substr(0, 9), "verified:");
  Push({{"environments/dev/apps/api.yaml",
         Pin(D('b')) + "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/\", "
                       "retries: 0}\n"}});
  ASSERT_EQ(StateOf(Pass(), "dev").substr(0, 7), "failed:");

  clock_.Set(At("2026-11-24T18:00:00Z"));                   // window closed
  Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});  // restore the verified pin
  record::PassReport p = Pass();
  EXPECT_EQ(StateOf(p, "dev").substr(0, 9), "verified:") << StateOf(p, "dev");
}

TEST_F(ReconcilerTest, NewReleaseIsStillHeldByTheClosedWindow) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml",
         "windows:\n  timezone: UTC\n  allow:\n    - {hours: \"09:00-10:00\"}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});
  ASSERT_EQ(StateOf(Pass(), "dev").substr(0, 9), "verified:");
  clock_.Set(At("2026-11-24T18:00:00Z"));
  Push({{"environments/dev/apps/api.yaml", Pin(D('c'))}});
  EXPECT_EQ(StateOf(Pass(), "dev").substr(0, 8), "waiting:");
}

// High availability (SPEC section 8): an environment this replica may not
// act on is neither judged, recorded nor applied, and the pass stays
// unsettled so that the next one looks again (ownership can move without a
// new commit).
TEST_F(ReconcilerTest, AnEnvironmentShouldApplyRefusesIsLeftAloneUntilItIsAllowed) {
  Push({{"sluice.yaml", "pipeline: [dev, qa]\n"},
        {"environments/dev/environment.yaml", "{}\n"},
        {"environments/qa/environment.yaml", "{}\n"}});
  std::string head = Push({{"environments/dev/apps/api.yaml", Pin(D('a'))},
                           {"environments/qa/apps/api.yaml", Pin(D('a'))}});
  auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  std::atomic<bool> qa_allowed{false};
  ReconcileOptions options;
  options.should_apply = [&](const std::string& env) { return env == "dev" || qa_allowed; };
  auto r = MakeReconciler(**ws, options);

  auto first = r->RunOnce();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(StateOf(*first, "dev").substr(0, 9), "verified:") << StateOf(*first, "dev");
  EXPECT_EQ(StateOf(*first, "qa"), "(no outcome)");
  EXPECT_TRUE(Ran("dev", D('a')));
  EXPECT_FALSE(Ran("qa", D('a')));
  for (const record::Event& e :
       record::ParseNote(Git(bare_, {"notes", "--ref=sluice", "show", head}).out)) {
    EXPECT_EQ(e.env, "dev") << record::EventToJsonLine(e);  // nothing written for qa
  }

  // Same head, nothing new: the pass is not skipped as settled.
  auto second = r->RunOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->unchanged);
  qa_allowed = true;  // ownership moved here
  auto third = r->RunOnce();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(StateOf(*third, "qa").substr(0, 9), "verified:") << StateOf(*third, "qa");
  EXPECT_TRUE(Ran("qa", D('a')));
}

// Each app's adapter runs in the files of its commit, with its own pin and
// no other app's, whatever the adapter before it did to its checkout (the
// environment's checkout is kept between applies and updated in place;
// engine/checkouts.h).
TEST_F(ReconcilerTest, EachAdapterSeesItsCommitAndNothingAnEarlierOneLeft) {
  // Lists what the checkout holds (with environment.yaml's content) into $1;
  // with "tamper", leaves a file behind and edits environment.yaml.
  const std::string look =
      "find . | LC_ALL=C sort > \"$1\"\n"
      "cat environments/dev/environment.yaml >> \"$1\"\n"
      "if [ \"$2\" = tamper ]; then\n"
      "  echo left > leftover.txt\n"
      "  echo 'windows: {}' >> environments/dev/environment.yaml\n"
      "fi\n";
  auto pin = [&](const std::string& app, char digest, bool tamper) {
    return "artifact:\n  image: r.example.com/shop/" + app + "\n  digest: " + D(digest) +
           "\ndeploy:\n  adapter: exec\n  exec: {command: [sh, scripts/look.sh, \"" +
           tmp_.Sub("seen-" + app) + "\"" + (tamper ? ", tamper" : "") + "]}\n";
  };
  Push({{"sluice.yaml", "pipeline: [dev]\n"},
        {"environments/dev/environment.yaml", "{}\n"},
        {"scripts/look.sh", look}});
  Push({{"environments/dev/apps/a.yaml", pin("a", 'a', true)},
        {"environments/dev/apps/b.yaml", pin("b", 'b', false)},
        {"environments/dev/apps/c.yaml", pin("c", 'c', false)}});
  auto expected = [](const std::string& app) {
    return ".\n./environments\n./environments/dev\n./environments/dev/apps\n"
           "./environments/dev/apps/" +
           app +
           ".yaml\n./environments/dev/environment.yaml\n./scripts\n./scripts/look.sh\n"
           "./sluice.yaml\n{}\n";
  };
  auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  auto r = MakeReconciler(**ws);
  auto first = r->RunOnce();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  for (const std::string app : {"a", "b", "c"}) {
    EXPECT_EQ(testing::ReadFile(tmp_.Sub("seen-" + app)), expected(app)) << app;
  }

  // The next commit, through the same reconciler: b again, after a's mess.
  Push({{"environments/dev/apps/a.yaml", pin("a", 'd', true)}});
  ASSERT_TRUE(r->RunOnce().ok());
  Push({{"environments/dev/apps/b.yaml", pin("b", 'e', false)},
        {"sluice.yaml", "pipeline: [dev]\n# a comment\n"}});
  ASSERT_TRUE(r->RunOnce().ok());
  std::string b = expected("b");
  EXPECT_EQ(testing::ReadFile(tmp_.Sub("seen-b")), b);
  EXPECT_EQ(testing::ReadFile(tmp_.Sub("workdir/checkouts/dev.env/sluice.yaml")),
            "pipeline: [dev]\n# a comment\n");
}

// A lease lost between two changes of one environment: the second is not
// started (each change is proved again), and the HA layer hears once that
// the pass is done with the environment.
TEST_F(ReconcilerTest, ALeaseLostBetweenTwoChangesStopsTheSecond) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"}, {"environments/dev/environment.yaml", "{}\n"}});
  Push({{"environments/dev/apps/api.yaml", Pin(D('a'))},
        {"environments/dev/apps/web.yaml", Pin(D('b'))}});
  auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  std::atomic<int> asked{0}, done{0};
  ReconcileOptions options;
  options.should_apply = [&](const std::string&) { return ++asked == 1; };  // then lost
  options.done_with_env = [&](const std::string& env) {
    EXPECT_EQ(env, "dev");
    ++done;
  };
  options.drift.interval = std::chrono::milliseconds(0);
  auto r = MakeReconciler(**ws, options);
  auto pass = r->RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  EXPECT_EQ(asked.load(), 2);
  EXPECT_EQ(done.load(), 1);
  EXPECT_EQ(Ran("dev", D('a')) + Ran("dev", D('b')), 1);  // one of the two, not both
  EXPECT_FALSE(pass->unchanged);
}

// The lease is lost while the adapter runs: the replica records no outcome
// (its `applying` stays for the new owner's crash recovery) and says why.
TEST_F(ReconcilerTest, ALeaseLostDuringTheApplyRecordsNoOutcome) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"}, {"environments/dev/environment.yaml", "{}\n"}});
  std::string commit = Push({{"environments/dev/apps/api.yaml", Pin(D('a'))}});
  auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
  ASSERT_TRUE(ws.ok()) << ws.status().ToString();
  ReconcileOptions options;
  options.still_owner = [&](const std::string& env, std::string* why) {
    EXPECT_EQ(env, "dev");
    *why = "lease 42 expired";
    return false;
  };
  options.drift.interval = std::chrono::milliseconds(0);
  {
    auto r = MakeReconciler(**ws, options);
    auto pass = r->RunOnce();
    ASSERT_TRUE(pass.ok()) << pass.status().ToString();
    EXPECT_TRUE(Ran("dev", D('a')));
    std::string state = StateOf(*pass, "dev");
    EXPECT_EQ(state.rfind("error: applied; lease lost", 0), 0u) << state;
    EXPECT_NE(state.find("lease 42 expired"), std::string::npos) << state;
  }
  std::lock_guard lock((*ws)->mutex());
  auto events = (*ws)->TrustedEventsForLocked(commit, "dev", "api");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, record::EventKind::kApplying);
}

// A pass that applied many pins leaves the cache's refs packed once it
// ends: the next pass (a fleet-wide change, a rollback) starts applying at
// once instead of packing them first (at 10,000 pins that was 7 to 14 s of
// the next pass, before its first apply).
TEST_F(ReconcilerTest, APassThatWroteManyRecordRefsLeavesThemPacked) {
  Push({{"sluice.yaml", "pipeline: [dev]\n"}, {"environments/dev/environment.yaml", "{}\n"}});
  std::map<std::string, std::optional<std::string>> pins;
  for (int i = 0; i < 60; ++i) {
    pins["environments/dev/apps/app" + std::to_string(i) + ".yaml"] =
        "artifact:\n  image: r.example.com/shop/app\n  digest: " + D('a') +
        "\ndeploy:\n  adapter: exec\n  exec: {command: [\"true\"]}\n";
  }
  const std::string head = Push(pins);
  record::PassReport pass = Pass();
  ASSERT_EQ(pass.outcomes.size(), 60u);
  for (const auto& o : pass.outcomes) {
    EXPECT_EQ(record::OutcomeName(o.state), std::string("verified")) << o.app << ": " << o.reason;
  }
  const std::string cache = tmp_.Sub("workdir") + "/cache.git";
  size_t loose = 0;
  for (const char* dir : {"/refs/sluice", "/refs/sluice-remote"}) {
    if (!fs::exists(cache + dir)) continue;
    for (const auto& f : fs::recursive_directory_iterator(cache + dir)) {
      if (f.is_regular_file()) ++loose;
    }
  }
  EXPECT_EQ(loose, 0u) << "record refs left loose after the pass";
  EXPECT_EQ(RemoteRef("refs/sluice/lkg/dev/app59"), head);
  EXPECT_NE(Git(cache, {"show-ref", "refs/sluice/lkg/dev/app59"}).out.find(head),
            std::string::npos);
}

TEST(RollbackApprovalRuleTest, DefaultsToOneOnCallWhereReleasesNeedApproval) {
  config::EnvironmentPolicy open;
  EXPECT_EQ(RollbackApprovalRule(open).required, 0);
  config::EnvironmentPolicy guarded;
  guarded.approval =
      config::ApprovalPolicy{2, {"release-managers"}, config::Evidence::kSigned, true};
  config::ApprovalPolicy rule = RollbackApprovalRule(guarded);
  EXPECT_EQ(rule.required, 1);
  EXPECT_EQ(rule.from, std::vector<std::string>{"on-call"});
  EXPECT_EQ(rule.evidence, config::Evidence::kSigned);
  guarded.rollback.approval = config::ApprovalPolicy{2, {"sre"}, config::Evidence::kForge, true};
  EXPECT_EQ(RollbackApprovalRule(guarded).from, std::vector<std::string>{"sre"});
}

// What a rollback restores was approved and verified before: its author
// (the on-call engineer who signs it) may approve it, whatever the map says.
TEST(RollbackApprovalRuleTest, SeparateAuthorNeverAppliesToARollback) {
  config::EnvironmentPolicy guarded;
  guarded.approval =
      config::ApprovalPolicy{1, {"release-managers"}, config::Evidence::kSigned, true};
  EXPECT_FALSE(RollbackApprovalRule(guarded).separate_author);
  guarded.rollback.approval =
      config::ApprovalPolicy{1, {"on-call"}, config::Evidence::kSigned, true};
  EXPECT_FALSE(RollbackApprovalRule(guarded).separate_author);
}

TEST(RollbackPushRefusalTest, SaysWhatAPushedRollbackNeeds) {
  config::RepoSettings settings;
  settings.groups["on-call"] = {"carol@example.com"};
  config::ApprovalPolicy signed_rule{1, {"on-call"}, config::Evidence::kSigned, false};
  std::string unsigned_push = RollbackPushRefusal(signed_rule, settings, "prod", false);
  EXPECT_NE(unsigned_push.find("rerun with --sign"), std::string::npos) << unsigned_push;
  EXPECT_NE(unsigned_push.find("--signing-key FILE"), std::string::npos) << unsigned_push;
  EXPECT_NE(unsigned_push.find("on-call (carol@example.com)"), std::string::npos) << unsigned_push;
  EXPECT_EQ(RollbackPushRefusal(signed_rule, settings, "prod", true), "");

  config::ApprovalPolicy forge_rule{1, {"on-call"}, config::Evidence::kForge, false};
  std::string forge = RollbackPushRefusal(forge_rule, settings, "prod", true);
  EXPECT_NE(forge.find("run without --push"), std::string::npos) << forge;

  config::ApprovalPolicy two_signers{2, {"on-call"}, config::Evidence::kSigned, false};
  EXPECT_NE(RollbackPushRefusal(two_signers, settings, "prod", true).find("one signature"),
            std::string::npos);

  config::ApprovalPolicy none{0, {}, config::Evidence::kSigned, false};
  EXPECT_EQ(RollbackPushRefusal(none, settings, "prod", false), "");
  EXPECT_EQ(DescribeRollbackRule(none, settings), "no approval");
}

}  // namespace
}  // namespace sluice::engine
