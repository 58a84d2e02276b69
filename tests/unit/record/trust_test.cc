#include "record/trust.h"

#include <gtest/gtest.h>

#include "core/time_format.h"
#include "crypto/sshsig.h"
#include "record/refs.h"
#include "support/temp_dir.h"

namespace sluice::record {
namespace {

crypto::PrivateKey Key(uint8_t fill, const std::string& comment) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  return *crypto::PrivateKey::FromSeed(seed, comment);
}

Event Verified(const std::string& commit) {
  Event e;
  e.time = *ParseRfc3339("2026-11-22T10:00:00Z");
  e.env = "staging";
  e.app = "api";
  e.kind = EventKind::kVerified;
  e.digest = "sha256:" + std::string(64, 'a');
  e.commit = commit;
  e.output = "unicode \xc3\xa9 and \"quotes\"";
  return e;
}

const std::string kCommit(40, 'c');

TEST(RecordTrustTest, SignedLineVerifiesAndStillParsesAsTheSameEvent) {
  RecordKeys keys(Key(1, "replica-a"), {});
  std::string line = keys.SignLine(EventToJsonLine(Verified(kCommit)));
  EXPECT_NE(line.find(",\"sig\":\""), std::string::npos);
  LineVerdict v = VerifyEventLine(line, kCommit, keys.trusted());
  EXPECT_TRUE(v.trusted) << v.reason;
  EXPECT_EQ(v.signer, "replica-a");
  auto parsed = ParseEventLine(line);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, Verified(kCommit));
}

// The events cache keeps what SplitSignedLine returns for every line of a
// pass (30,000 after a first full pass of 10,000 pins): the unsigned line
// is the signed one without its signature, and holds no slack (it held
// twice its length, 12 MB of that pass's peak).
TEST(RecordTrustTest, SplittingASignedLineGivesTheUnsignedLineWithoutSlack) {
  RecordKeys keys(Key(1, "replica-a"), {});
  const std::string unsigned_line = EventToJsonLine(Verified(kCommit));
  const std::string line = keys.SignLine(unsigned_line);
  auto split = SplitSignedLine(line);
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->first, unsigned_line);
  EXPECT_EQ(line.substr(line.size() - 2 - split->second.size(), split->second.size()),
            split->second);
  EXPECT_LE(split->first.capacity(), split->first.size() + 16);
  EXPECT_FALSE(SplitSignedLine(unsigned_line).has_value());
}

TEST(RecordTrustTest, OtherReplicasListedKeyIsTrustedAnUnlistedOneIsNot) {
  RecordKeys a(Key(1, "a"), {Key(2, "b").public_key()});
  RecordKeys b(Key(2, "b"), {});
  RecordKeys c(Key(3, "c"), {});
  std::string from_b = b.SignLine(EventToJsonLine(Verified(kCommit)));
  EXPECT_TRUE(VerifyEventLine(from_b, kCommit, a.trusted()).trusted);
  std::string from_c = c.SignLine(EventToJsonLine(Verified(kCommit)));
  LineVerdict v = VerifyEventLine(from_c, kCommit, a.trusted());
  EXPECT_FALSE(v.trusted);
  EXPECT_EQ(v.reason, "signed by a key not in trust.controllerKeys");
}

TEST(RecordTrustTest, UnsignedTamperedCopiedAndGarbageLinesAreNotTrusted) {
  RecordKeys keys(Key(1, "a"), {});
  const auto& k = keys.trusted();
  std::string unsigned_line = EventToJsonLine(Verified(kCommit));
  EXPECT_EQ(VerifyEventLine(unsigned_line, kCommit, k).reason, "unsigned event");

  std::string line = keys.SignLine(unsigned_line);
  std::string tampered = line;
  tampered.replace(tampered.find("staging"), 7, "prodxxx");
  EXPECT_EQ(VerifyEventLine(tampered, kCommit, k).reason,
            "bad signature (the line was changed after signing)");

  // A genuine line copied onto another commit's note.
  LineVerdict copied = VerifyEventLine(line, std::string(40, 'd'), k);
  EXPECT_FALSE(copied.trusted);
  EXPECT_EQ(copied.reason.rfind("signed for commit", 0), 0u) << copied.reason;

  // Keys appended after the signature, a signature of another namespace,
  // truncation at every length, garbage: never trusted, never a crash.
  EXPECT_FALSE(
      VerifyEventLine(line.substr(0, line.size() - 1) + ",\"event\":\"x\"}", kCommit, k).trusted);
  auto git_ns = crypto::SshSigSign(keys.signing_key(), "git", unsigned_line);
  ASSERT_TRUE(git_ns.ok());
  std::string other_ns = unsigned_line.substr(0, unsigned_line.size() - 1) + ",\"sig\":\"" +
                         crypto::Base64Encode(*git_ns) + "\"}";
  EXPECT_FALSE(VerifyEventLine(other_ns, kCommit, k).trusted);
  for (size_t n = 0; n < line.size(); n += 7) {
    EXPECT_FALSE(VerifyEventLine(line.substr(0, n), kCommit, k).trusted) << n;
  }
  EXPECT_EQ(VerifyEventLine("{{{ \xff garbage", kCommit, k).reason,
            "not a signed sluice event line");
  EXPECT_FALSE(VerifyEventLine("", kCommit, k).trusted);
}

TEST(RecordTrustTest, RefsAreConfirmedOnlyByTheMatchingEventKinds) {
  Event e = Verified(kCommit);
  bool confirmable = false;
  EXPECT_TRUE(ConfirmsRef("refs/sluice/lkg/staging/api", e, &confirmable));
  EXPECT_TRUE(confirmable);
  EXPECT_TRUE(ConfirmsRef("refs/sluice/deployed/staging/api", e, &confirmable));
  EXPECT_TRUE(ConfirmsRef("refs/sluice/applied/staging", e, &confirmable));
  EXPECT_FALSE(ConfirmsRef("refs/sluice/lkg/staging/web", e, &confirmable));
  EXPECT_FALSE(ConfirmsRef("refs/sluice/lkg/prod/api", e, &confirmable));
  e.kind = EventKind::kApplied;
  EXPECT_FALSE(ConfirmsRef("refs/sluice/lkg/staging/api", e, &confirmable));
  EXPECT_TRUE(ConfirmsRef("refs/sluice/deployed/staging/api", e, &confirmable));
  e.kind = EventKind::kBlocked;
  EXPECT_FALSE(ConfirmsRef("refs/sluice/deployed/staging/api", e, &confirmable));
  EXPECT_FALSE(ConfirmsRef("refs/sluice/applied/staging", e, &confirmable));
  EXPECT_TRUE(ConfirmsRef("refs/sluice/candidate/staging/api", e, &confirmable));
  EXPECT_FALSE(ConfirmsRef("refs/sluice/pass", e, &confirmable));
  EXPECT_FALSE(confirmable);
  EXPECT_EQ(RefEnvApp("refs/sluice/lkg/prod/api"),
            (std::pair<std::string, std::string>{"prod", "api"}));
  EXPECT_EQ(RefEnvApp("refs/sluice/applied/prod"),
            (std::pair<std::string, std::string>{"prod", ""}));
}

// The record's fetch takes only the names the controller writes
// (record/refs.h): one level more or less could collide with the local
// copies and stop every fetch after it.
TEST(RecordTrustTest, OnlyTheNamesTheControllerWritesAreRecordRefs) {
  for (const char* name : {"refs/notes/sluice", "refs/sluice/pass", "refs/sluice/deployed/prod/api",
                           "refs/sluice/lkg/prod/api", "refs/sluice/candidate/e00/app-00001",
                           "refs/sluice/applied/prod"}) {
    EXPECT_TRUE(IsRecordRefName(name)) << name;
  }
  for (const char* name :
       {"refs/sluice/deployed", "refs/sluice/deployed/", "refs/sluice/deployed/prod",
        "refs/sluice/deployed/prod/", "refs/sluice/deployed//api",
        "refs/sluice/deployed/prod/api/x", "refs/sluice/applied", "refs/sluice/applied/prod/api",
        "refs/sluice/applied/", "refs/sluice/pass/x", "refs/sluice/other/prod/api", "refs/sluice/",
        "refs/notes/sluice2", "refs/heads/main", ""}) {
    EXPECT_FALSE(IsRecordRefName(name)) << name;
  }
  EXPECT_TRUE(IsRecordRefName(DeployedRef("prod", "api")));
  EXPECT_TRUE(IsRecordRefName(AppliedRef("prod")));
}

TEST(RecordTrustTest, KeysLoadFromFilesOrAreGeneratedOnceInTheWorkdir) {
  testing::TempDir dir;
  bool generated = false;
  auto first = RecordKeys::Load({}, dir.path(), &generated);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(generated);
  auto again = RecordKeys::Load({}, dir.path(), &generated);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(generated);
  EXPECT_EQ((*again)->signing_key().public_key(), (*first)->signing_key().public_key());

  TrustOptions opts;
  opts.signing_key_file = dir.path() + "/controller-key";
  opts.controller_keys_file = dir.Sub("replicas.pub");
  testing::WriteFile(opts.controller_keys_file,
                     "# replicas\n" + Key(5, "b").public_key().ToOpenSsh() + "\n");
  auto listed = RecordKeys::Load(opts, dir.Sub("elsewhere"), &generated);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ((*listed)->trusted().size(), 2u);

  testing::WriteFile(opts.controller_keys_file, "ssh-rsa AAAA x\n");
  auto bad = RecordKeys::Load(opts, dir.path(), &generated);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("replicas.pub:1:"), std::string::npos)
      << bad.status().ToString();
  opts.signing_key_file = dir.Sub("missing");
  EXPECT_FALSE(RecordKeys::Load(opts, dir.path(), &generated).ok());
}

TEST(RecordTrustTest, UntrustedEntriesRoundTripThroughJson) {
  UntrustedEntry e{"event", kCommit, "", "{{{ \xff", "dev", "api", "unsigned event"};
  auto back = UntrustedEntry::FromJson(e.ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->kind, "event");
  EXPECT_EQ(back->env, "dev");
  EXPECT_EQ(back->reason, "unsigned event");
  EXPECT_FALSE(UntrustedEntry::FromJson("nope").ok());
}

}  // namespace
}  // namespace sluice::record
