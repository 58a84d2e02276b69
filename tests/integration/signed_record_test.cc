// SPEC 1.3 rule 4, "the record is signed": entries pushed to the record by
// anyone but a controller (forged refs/sluice/* refs, forged note lines,
// garbage) are ignored for every decision, reported, and never lost. Each
// test is one side door, tried against a real git daemon with the git CLI
// as an engineer with push access would.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "core/time_format.h"
#include "env_repo_fixture.h"

namespace sluice::testing {
namespace {

// A pin whose verification cannot pass (nothing listens on port 1).
std::string FailingPin(const EnvRepoFixture& f, const std::string& digest) {
  return f.PinYaml(digest, "2.0.0") +
         "verification:\n  checks:\n    - http: {url: \"http://127.0.0.1:1/ready\", retries: 0}\n";
}

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& env,
                              const std::string& state) {
  for (const auto& o : pass["outcomes"]) {
    if (o["env"] == env && o["state"] == state) return &o;
  }
  return nullptr;
}

// Appends `line` to the remote's note on `commit`, as anyone with push
// access can (git notes CLI, plain push).
void ForgeNoteLine(const EnvRepoFixture& f, const std::string& commit, const std::string& line) {
  Git(f.work, {"fetch", "-q", "origin", "+refs/notes/sluice:refs/notes/sluice"});
  Git(f.work, {"notes", "--ref=sluice", "append", "-m", line, commit});
  Git(f.work, {"push", "-q", "origin", "refs/notes/sluice:refs/notes/sluice"});
}

// Points a record ref of the remote at `commit` (force push).
void ForgeRef(const EnvRepoFixture& f, const std::string& ref, const std::string& commit) {
  Git(f.work, {"push", "-q", "-f", "origin", commit + ":" + ref});
}

// A `verified` event line as the controller writes it, but unsigned.
std::string ForgedVerified(const std::string& env, const std::string& app,
                           const std::string& digest, const std::string& commit,
                           std::chrono::hours ago) {
  nlohmann::ordered_json j;
  j["v"] = 1;
  j["time"] = FormatRfc3339(std::chrono::system_clock::now() - ago);
  j["env"] = env;
  j["app"] = app;
  j["event"] = "verified";
  j["digest"] = digest;
  j["commit"] = commit;
  j["gates"] = nlohmann::json::array();
  j["approvers"] = nlohmann::json::array();
  j["controller"] = {{"id", "forged"}, {"version", "0"}};
  return j.dump();
}

// A commit off the branch (never on main) pinning dev/api to `digest`.
std::string SideCommit(EnvRepoFixture& f, const std::string& pin) {
  Git(f.work, {"checkout", "-q", "-b", "side"});
  std::string c = CommitFiles(f.work, {{"environments/dev/apps/api.yaml", pin}}, "evil pin");
  Git(f.work, {"checkout", "-q", "main"});
  return c;
}

nlohmann::json Status(const EnvRepoFixture& f, const std::string& env) {
  CommandOutput r = f.Sluice({"status", "--format", "json", "--env", env, "--log-level", "off"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

bool AnyDeployOf(const EnvRepoFixture& f, const std::string& env, const std::string& digest) {
  for (const auto& line : f.Deploys()) {
    if (line.rfind(env + " api " + digest, 0) == 0) return true;
  }
  return false;
}

// (a) A forged refs/sluice/lkg/<env>/<app> pointing at an attacker's
// commit would make a pin equal to it a "rollback" (no windows, no soak).
TEST(SignedRecordTest, ForgedLkgRefIsIgnoredByRollbackDetection) {
  EnvRepoFixture f;
  std::string good =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api 1");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  ASSERT_EQ(f.RemoteRef("refs/sluice/lkg/dev/api"), good);

  const std::string evil_pin = f.PinYaml(Digest('e'), "6.6.6");
  std::string evil = SideCommit(f, evil_pin);
  ForgeRef(f, "refs/sluice/lkg/dev/api", evil);
  std::string pinned = f.CommitAndPush({{"environments/dev/apps/api.yaml", evil_pin}}, "api e");

  nlohmann::json pass = f.Reconcile();
  for (const auto& o : pass["outcomes"]) {
    EXPECT_EQ(o["reason"].get<std::string>().find("rolled back"), std::string::npos) << pass.dump();
  }
  for (const auto& e : f.RemoteEvents(pinned)) {
    EXPECT_NE(e["event"], "rolled-back") << e.dump();
  }
  // The controller's own LKG went on (the new release verified), and the
  // forged value is reported.
  nlohmann::json rows = Status(f, "dev");
  EXPECT_EQ(rows.at(0)["lkg"]["commit"], pinned) << rows.dump();
  CommandOutput audit = f.Sluice({"audit", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  bool reported = false;
  const nlohmann::json report = nlohmann::json::parse(audit.out);
  for (const auto& u : report["untrusted"]) {
    reported |= u["kind"] == "ref" && u["ref"] == "refs/sluice/lkg/dev/api" && u["commit"] == evil;
  }
  EXPECT_TRUE(reported) << audit.out;
}

// (a) ... and by `sluice rollback`, also from a fresh workdir that trusts
// only the controller's listed key.
TEST(SignedRecordTest, ForgedLkgRefIsIgnoredBySluiceRollback) {
  EnvRepoFixture f;
  std::string good =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api 1");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  std::string bad =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", FailingPin(f, Digest('b'))}}, "api 2");
  ASSERT_NE(Outcome(f.Reconcile(/*expected_exit=*/1), "dev", "failed"), nullptr);

  // A reader with its own workdir that lists the controller's key.
  TempDir reader;
  const std::vector<std::string> as_reader = {"--repo",
                                              f.url,
                                              "--workdir",
                                              reader.Sub("w"),
                                              "--controller-keys",
                                              f.workdir + "/controller-key.pub"};
  auto rollback = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"rollback", "dev",         "api", "--format",
                                     "json",     "--log-level", "off"};
    args.insert(args.end(), extra.begin(), extra.end());
    return f.Sluice(args, /*with_repo=*/extra.empty());
  };
  CommandOutput before = rollback(as_reader);
  ASSERT_EQ(before.exit_code, 0) << before.err;
  EXPECT_EQ(nlohmann::json::parse(before.out)["target"], good) << before.out;

  std::string evil = SideCommit(f, f.PinYaml(Digest('e'), "6.6.6"));
  ForgeRef(f, "refs/sluice/lkg/dev/api", evil);

  CommandOutput r = rollback({});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["target"], good) << r.out;
  CommandOutput r2 = rollback(as_reader);
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(nlohmann::json::parse(r2.out)["target"], good) << r2.out;
  // A reader that never saw the genuine LKG and lists no controller key
  // believes nothing pushed: no LKG at all, rather than the forged one.
  TempDir stranger;
  CommandOutput r3 = rollback({"--repo", f.url, "--workdir", stranger.Sub("w")});
  EXPECT_EQ(r3.exit_code, 1) << r3.out;
  EXPECT_NE(r3.err.find("no last-known-good"), std::string::npos) << r3.err;
  EXPECT_EQ(f.RemoteRef("refs/heads/main"), bad);
}

// (a) `sluice promote` with --controller-keys does not promote what a
// forged LKG names; with the genuine record it does.
TEST(SignedRecordTest, PromoteRefusesAForgedUpstreamLkg) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))},
                   {"environments/prod/apps/api.yaml", f.PinYaml(Digest('0'))}},
                  "api a in dev, 0 in prod");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  auto promote = [&] {
    return f.Sluice({"promote", "api", "--from", "dev", "--to", "prod", "--repo", f.work,
                     "--workdir", f.workdir + "-promote", "--controller-keys",
                     f.workdir + "/controller-key.pub", "--format", "json", "--log-level", "off"},
                    /*with_repo=*/false);
  };
  std::string evil = SideCommit(f, f.PinYaml(Digest('e'), "6.6.6"));
  ForgeRef(f, "refs/sluice/lkg/dev/api", evil);
  CommandOutput forged = promote();
  EXPECT_EQ(forged.exit_code, 3) << forged.out << forged.err;
  EXPECT_NE(forged.err.find("not trusted"), std::string::npos) << forged.err;
  EXPECT_EQ(Git(f.work, {"branch", "--list", "sluice/*"}).out, "");

  f.Reconcile();  // the controller puts its own LKG back
  CommandOutput genuine = promote();
  EXPECT_EQ(genuine.exit_code, 0) << genuine.out << genuine.err;
  EXPECT_NE(genuine.out.find(Digest('a')), std::string::npos) << genuine.out;
}

// (a) A ref rewound by a push to an older commit that really was verified
// does not move the controller's LKG back.
TEST(SignedRecordTest, LkgRewoundToAnOlderVerifiedCommitIsIgnored) {
  EnvRepoFixture f;
  std::string first =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api 1");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  std::string second =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'))}}, "api 2");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  ForgeRef(f, "refs/sluice/lkg/dev/api", first);
  ForgeRef(f, "refs/sluice/deployed/dev/api", first);
  nlohmann::json rows = Status(f, "dev");
  EXPECT_EQ(rows.at(0)["lkg"]["commit"], second) << rows.dump();
  EXPECT_EQ(rows.at(0)["deployed"]["commit"], second) << rows.dump();
  // The next pass pushes the controller's values back over the rewound ones.
  f.Reconcile();
  EXPECT_EQ(f.RemoteRef("refs/sluice/lkg/dev/api"), second);
  EXPECT_EQ(f.RemoteRef("refs/sluice/deployed/dev/api"), second);
}

// (b) A forged `verified` line (and LKG) on an upstream commit that never
// verified does not satisfy upstreamVerified or soak.
TEST(SignedRecordTest, ForgedVerifiedNoteDoesNotSatisfyUpstreamVerifiedOrSoak) {
  // prod needs the digest verified in dev for an hour (and no approval: its
  // first policy version, trusted as it lands).
  EnvRepoFixture f(std::map<std::string, std::optional<std::string>>{
      {"environments/prod/environment.yaml",
       "upstream: dev\ngates:\n  upstreamVerified: true\n  soak: 1h\n"}});
  std::string dev = f.CommitAndPush(
      {{"environments/dev/apps/api.yaml", FailingPin(f, Digest('c'))}}, "api c in dev");
  ASSERT_NE(Outcome(f.Reconcile(/*expected_exit=*/1), "dev", "failed"), nullptr);

  ForgeNoteLine(f, dev, ForgedVerified("dev", "api", Digest('c'), dev, std::chrono::hours(3)));
  ForgeRef(f, "refs/sluice/lkg/dev/api", dev);
  std::string prod =
      f.CommitAndPush({{"environments/prod/apps/api.yaml", f.PinYaml(Digest('c'))}}, "api c prod");

  nlohmann::json pass = f.Reconcile();
  EXPECT_EQ(Outcome(pass, "prod", "applied"), nullptr) << pass.dump();
  EXPECT_EQ(Outcome(pass, "prod", "verified"), nullptr) << pass.dump();
  EXPECT_FALSE(AnyDeployOf(f, "prod", Digest('c')));
  bool judged = false;
  for (const auto& e : f.RemoteEvents(prod)) {
    for (const auto& g : e["gates"]) {
      if (g["name"] == "upstreamVerified") judged = g["result"] != "pass";
    }
  }
  EXPECT_TRUE(judged) << pass.dump();
  // The forged line is still on the remote: reported, not lost.
  EXPECT_NE(Git(f.bare, {"notes", "--ref=sluice", "show", dev}).out.find("\"forged\""),
            std::string::npos);
  nlohmann::json rows = Status(f, "dev");
  EXPECT_FALSE(rows.at(0)["untrusted"].empty()) << rows.dump();
}

// (c) A forged refs/sluice/deployed ref does not make a new pin look
// applied (it would never be deployed) and does not fake `status`.
TEST(SignedRecordTest, ForgedDeployedRefDoesNotStopAnApplyOrFakeStatus) {
  EnvRepoFixture f;
  std::string a =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  std::string b =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'))}}, "api b");
  ForgeRef(f, "refs/sluice/deployed/dev/api", b);
  ForgeRef(f, "refs/sluice/applied/dev", b);

  nlohmann::json rows = Status(f, "dev");
  EXPECT_EQ(rows.at(0)["deployed"]["commit"], a) << rows.dump();
  EXPECT_NE(rows.at(0)["state"], "in-sync") << rows.dump();

  nlohmann::json pass = f.Reconcile();
  EXPECT_NE(Outcome(pass, "dev", "verified"), nullptr) << pass.dump();
  EXPECT_TRUE(AnyDeployOf(f, "dev", Digest('b')));
  CommandOutput text = f.Sluice({"status", "--env", "dev", "--log-level", "off"});
  EXPECT_NE(text.out.find("UNTRUSTED refs/sluice/deployed/dev/api"), std::string::npos) << text.out;
}

// (d) `sluice audit --verify` checks a plain clone against the listed keys.
TEST(SignedRecordTest, AuditVerifyPassesACleanCloneAndFailsAForgedOne) {
  EnvRepoFixture f;
  std::string a =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  TempDir t;
  const std::string keys = f.workdir + "/controller-key.pub";
  auto verify = [&](const std::string& workdir) {
    std::string clone = t.Sub("clone-" + workdir);
    Git(t.path(), {"clone", "-q", "--mirror", f.bare, clone});
    return f.Sluice({"audit", "--verify", "--controller-keys", keys, "--repo", clone, "--workdir",
                     t.Sub(workdir), "--log-level", "off"},
                    /*with_repo=*/false);
  };
  CommandOutput clean = verify("w1");
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_NE(clean.out.find("all verify"), std::string::npos) << clean.out;

  // Another key (not listed) does not verify this record.
  ASSERT_EQ(
      RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", t.Sub("other")}).exit_code,
      0);
  CommandOutput other = f.Sluice({"audit", "--verify", "--controller-keys", t.Sub("other.pub"),
                                  "--repo", f.bare, "--workdir", t.Sub("w0"), "--log-level", "off"},
                                 /*with_repo=*/false);
  EXPECT_EQ(other.exit_code, 3) << other.out << other.err;

  ForgeNoteLine(f, a, ForgedVerified("dev", "api", Digest('a'), a, std::chrono::hours(1)));
  CommandOutput forged = verify("w2");
  EXPECT_EQ(forged.exit_code, 3) << forged.out << forged.err;
  EXPECT_NE(forged.out.find("unsigned event"), std::string::npos) << forged.out;

  CommandOutput usage = f.Sluice({"audit", "--verify", "--log-level", "off"});
  EXPECT_EQ(usage.exit_code, 2) << usage.err;
}

// A reader in a fresh workdir without --controller-keys does not trust the
// controller's record: it says so and what to pass, instead of reporting an
// empty history as if nothing had been released.
TEST(SignedRecordTest, ReadingWithoutTheControllersKeySaysWhatToPass) {
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  TempDir t;
  for (const std::string& cmd : {"audit", "status"}) {
    CommandOutput bare = f.Sluice({cmd, "--repo", f.url, "--workdir", t.Sub(cmd + "-w1")},
                                  /*with_repo=*/false);
    EXPECT_EQ(bare.exit_code, 0) << bare.err;
    EXPECT_NE(bare.err.find("not signed by a key this command trusts"), std::string::npos)
        << cmd << ": " << bare.err;
    EXPECT_NE(bare.err.find("pass --controller-keys FILE"), std::string::npos) << bare.err;
    CommandOutput keyed = f.Sluice({cmd, "--repo", f.url, "--workdir", t.Sub(cmd + "-w2"),
                                    "--controller-keys", f.workdir + "/controller-key.pub"},
                                   /*with_repo=*/false);
    EXPECT_EQ(keyed.exit_code, 0) << keyed.err;
    EXPECT_EQ(keyed.err.find("not signed by a key"), std::string::npos) << keyed.err;
  }
}

// (e) Garbage and a tampered signed line: reported, ignored, nothing
// crashes, nothing is lost.
TEST(SignedRecordTest, GarbageAndTamperedLinesAreReportedIgnoredAndKept) {
  EnvRepoFixture f;
  std::string a =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'))}}, "api a");
  ASSERT_NE(Outcome(f.Reconcile(), "dev", "verified"), nullptr);
  std::string note = Git(f.bare, {"notes", "--ref=sluice", "show", a}).out;
  std::string signed_line = note.substr(0, note.find('\n'));
  ASSERT_NE(signed_line.find("\"sig\":\""), std::string::npos) << note;
  // Same signature, other digest: the signature no longer matches.
  std::string tampered = signed_line;
  size_t at = tampered.find(Digest('a'));
  ASSERT_NE(at, std::string::npos);
  tampered.replace(at, Digest('a').size(), Digest('f'));
  // A genuine signed line copied onto another commit.
  std::string b =
      f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'))}}, "api b");

  ForgeNoteLine(f, a, "{{{ not json \xff");
  ForgeNoteLine(f, a, tampered);
  ForgeNoteLine(f, a, signed_line.substr(0, signed_line.size() - 10) + "AAAA\"}");
  ForgeNoteLine(f, b, signed_line);

  nlohmann::json pass = f.Reconcile();  // exits 0
  EXPECT_NE(Outcome(pass, "dev", "verified"), nullptr) << pass.dump();

  CommandOutput audit = f.Sluice({"audit", "--format", "json", "--log-level", "off"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  auto j = nlohmann::json::parse(audit.out);
  std::set<std::string> reasons;
  for (const auto& u : j["untrusted"]) reasons.insert(u["reason"].get<std::string>());
  EXPECT_EQ(j["untrusted"].size(), 4u) << audit.out;
  EXPECT_TRUE(reasons.count("not a signed sluice event line")) << audit.out;
  EXPECT_TRUE(reasons.count("bad signature (the line was changed after signing)")) << audit.out;
  bool copied = false;
  for (const auto& r : reasons) copied |= r.rfind("signed for commit", 0) == 0;
  EXPECT_TRUE(copied) << audit.out;

  CommandOutput md = f.Sluice({"audit", "--log-level", "off"});
  EXPECT_NE(md.out.find("## Untrusted record entries"), std::string::npos) << md.out;
  // Kept on the remote after the controller pushed its record again.
  std::string after = Git(f.bare, {"notes", "--ref=sluice", "show", a}).out;
  EXPECT_NE(after.find("not json"), std::string::npos);
  EXPECT_NE(after.find(tampered), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
