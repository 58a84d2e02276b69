#include "crypto/sshsig.h"

#include <gtest/gtest.h>

#include "crypto/ssh_key.h"
#include "support/temp_dir.h"

namespace sluice::crypto {
namespace {

using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;

PrivateKey TestKey(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  auto k = PrivateKey::FromSeed(seed, "test");
  EXPECT_TRUE(k.ok()) << k.status().ToString();
  return *k;
}

TEST(Base64Test, RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 20; ++n) {
    auto back = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(n * 37));
  }
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_FALSE(Base64Decode("Zm9v Yg==").ok());
}

TEST(SshSigTest, SignsAndVerifiesInProcess) {
  PrivateKey key = TestKey(7);
  auto sig = SshSigSign(key, "sluice-record", "hello");
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  auto who =
      SshSigVerify(*sig, "sluice-record", "hello", {TestKey(1).public_key(), key.public_key()});
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_EQ(*who, 1u);
}

TEST(SshSigTest, RejectsChangedMessageOtherNamespaceAndUnlistedKey) {
  PrivateKey key = TestKey(7);
  auto sig = SshSigSign(key, "sluice-record", "hello");
  ASSERT_TRUE(sig.ok());
  auto changed = SshSigVerify(*sig, "sluice-record", "hellO", {key.public_key()});
  EXPECT_EQ(changed.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_FALSE(SshSigVerify(*sig, "git", "hello", {key.public_key()}).ok());
  EXPECT_TRUE(SshSigVerify(*sig, "sluice-record", "hello", {TestKey(2).public_key()})
                  .status()
                  .IsNotFound());
}

TEST(SshSigTest, MalformedBlobsAreErrorsNotCrashes) {
  PrivateKey key = TestKey(7);
  auto sig = SshSigSign(key, "ns", "m");
  ASSERT_TRUE(sig.ok());
  for (size_t n = 0; n < sig->size(); n += 3) {
    EXPECT_FALSE(SshSigVerify(sig->substr(0, n), "ns", "m", {key.public_key()}).ok()) << n;
  }
  std::string flipped = *sig;
  flipped[flipped.size() - 5] ^= 1;
  EXPECT_FALSE(SshSigVerify(flipped, "ns", "m", {key.public_key()}).ok());
  EXPECT_FALSE(SshSigVerify("garbage", "ns", "m", {key.public_key()}).ok());
}

TEST(SshKeyTest, ParsesPublicKeyLinesAndReportsBadOnes) {
  PrivateKey key = TestKey(3);
  std::string line = key.public_key().ToOpenSsh();
  auto parsed = ParsePublicKeyLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, key.public_key());
  EXPECT_EQ(parsed->comment(), "test");

  auto file = ParsePublicKeys("# replicas\n\n" + line + "\nssh-rsa AAAAB3Nza x\n", "keys.pub");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("keys.pub:4:"), std::string::npos)
      << file.status().ToString();
  EXPECT_FALSE(ParsePublicKeyLine("ssh-ed25519 !!!").ok());
  EXPECT_FALSE(ParsePublicKeyLine("ssh-ed25519 " + Base64Encode("short")).ok());
}

TEST(SshKeyTest, PrivateKeyFormatRoundTrips) {
  PrivateKey key = TestKey(9);
  auto back = ParseOpenSshPrivateKey(FormatOpenSshPrivateKey(key));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->seed(), key.seed());
  EXPECT_EQ(back->public_key(), key.public_key());
}

TEST(SshKeyTest, RejectsEncryptedOtherFormatsAndGarbageClearly) {
  TempDir dir;
  auto gen = RunCommand(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-C", "enc", "-f", dir.Sub("enc")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto enc = ParseOpenSshPrivateKey(ReadFile(dir.Sub("enc")));
  ASSERT_FALSE(enc.ok());
  EXPECT_NE(enc.status().message().find("passphrase"), std::string::npos);

  auto pem =
      ParseOpenSshPrivateKey("-----BEGIN PRIVATE KEY-----\nMC4CAQ==\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(pem.ok());
  EXPECT_NE(pem.status().message().find("not an OpenSSH private key"), std::string::npos);
  EXPECT_FALSE(ParseOpenSshPrivateKey("").ok());
  EXPECT_FALSE(ParseOpenSshPrivateKey("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"
                                      "-----END OPENSSH PRIVATE KEY-----\n")
                   .ok());

  auto rsa =
      RunCommand({"ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", dir.Sub("rsa")});
  ASSERT_EQ(rsa.exit_code, 0) << rsa.err;
  auto not_ed = ParseOpenSshPrivateKey(ReadFile(dir.Sub("rsa")));
  ASSERT_FALSE(not_ed.ok());
  EXPECT_NE(not_ed.status().message().find("ed25519"), std::string::npos)
      << not_ed.status().ToString();
  EXPECT_FALSE(ParsePublicKeyLine(ReadFile(dir.Sub("rsa.pub"))).ok());
}

// Interop with the real ssh-keygen, both ways.
TEST(SshSigTest, InteroperatesWithSshKeygen) {
  TempDir dir;
  auto gen = RunCommand(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "replica-a", "-f", dir.Sub("key")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto key = ParseOpenSshPrivateKey(ReadFile(dir.Sub("key")));
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto pub = ParsePublicKeyLine(ReadFile(dir.Sub("key.pub")));
  ASSERT_TRUE(pub.ok()) << pub.status().ToString();
  EXPECT_EQ(*pub, key->public_key());
  EXPECT_EQ(pub->comment(), "replica-a");

  const std::string message = "{\"event\":\"verified\",\"env\":\"prod\"}";
  WriteFile(dir.Sub("msg"), message);
  WriteFile(dir.Sub("allowed"), "sluice " + pub->ToOpenSsh() + "\n");

  // Ours, checked by ssh-keygen.
  auto sig = SshSigSign(*key, "sluice-record", message);
  ASSERT_TRUE(sig.ok());
  WriteFile(dir.Sub("ours.sig"), ArmorSshSig(*sig));
  auto check = RunCommand({"sh", "-c",
                           "ssh-keygen -Y verify -f allowed -I sluice -n sluice-record -s ours.sig "
                           "< msg"},
                          dir.path());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  auto wrong_ns =
      RunCommand({"sh", "-c", "ssh-keygen -Y verify -f allowed -I sluice -n git -s ours.sig < msg"},
                 dir.path());
  EXPECT_NE(wrong_ns.exit_code, 0);

  // ssh-keygen's, checked by us.
  auto sign = RunCommand(
      {"ssh-keygen", "-Y", "sign", "-f", dir.Sub("key"), "-n", "sluice-record", dir.Sub("msg")});
  ASSERT_EQ(sign.exit_code, 0) << sign.err;
  auto blob = DearmorSshSig(ReadFile(dir.Sub("msg.sig")));
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  auto who = SshSigVerify(*blob, "sluice-record", message, {*pub});
  EXPECT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_FALSE(SshSigVerify(*blob, "sluice-record", message + " ", {*pub}).ok());

  // A key file we write is one ssh-keygen reads.
  auto ours = PrivateKey::Generate("generated");
  ASSERT_TRUE(ours.ok());
  WriteFile(dir.Sub("gen"), FormatOpenSshPrivateKey(*ours));
  RunCommand({"chmod", "600", dir.Sub("gen")});
  auto derive = RunCommand({"ssh-keygen", "-y", "-f", dir.Sub("gen")});
  ASSERT_EQ(derive.exit_code, 0) << derive.err;
  auto derived = ParsePublicKeyLine(derive.out);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, ours->public_key());
}

}  // namespace
}  // namespace sluice::crypto
