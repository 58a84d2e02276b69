// Custom gate commands run for real (BoostCommandRunner) in a temp checkout.
#include "evidence/custom_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace sluice::evidence {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kDigest[] =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kCommit[] = "89abcdef0123456789abcdef0123456789abcdef";

class CustomGateTest : public ::testing::Test {
 protected:
  CustomGateTest() {
    pin_.env = "prod";
    pin_.app = "api";
    pin_.artifact.image = "registry.example.com/shop/api";
    pin_.artifact.digest = kDigest;
    pin_.artifact.version = "2.5.3";
    pin_.artifact.source = "feedface";
    req_.env = "prod";
    req_.app = "api";
    req_.commit = kCommit;
    req_.pin = &pin_;
    req_.checkout_dir = checkout_.Sub("repo");
    std::filesystem::create_directories(req_.checkout_dir);
  }

  void Script(const std::string& rel, const std::string& body) {
    std::string path = req_.checkout_dir + "/" + rel;
    testing::WriteFile(path, "#!/bin/sh\n" + body);
    ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  }

  static config::CustomGate Gate(std::vector<std::string> command,
                                 milliseconds timeout = std::chrono::seconds(30)) {
    return config::CustomGate{"load-test", std::move(command), timeout};
  }

  gates::CustomGateEvidence Run(const config::CustomGate& gate) {
    return RunCustomGate(gate, req_, runner_, nullptr);
  }

  testing::TempDir checkout_;
  config::Pin pin_;
  CustomGateRequest req_;
  process::BoostCommandRunner runner_;
};

TEST_F(CustomGateTest, ExitZeroPassesWithFirstStdoutLine) {
  Script("scripts/gate.sh",
         "echo '' ; echo '  p99 180ms under 250ms  '\necho second\n"
         "echo on stderr >&2\nexit 0\n");
  gates::CustomGateEvidence ev = Run(Gate({"scripts/gate.sh"}));
  EXPECT_EQ(ev.name, "load-test");
  EXPECT_EQ(ev.error, "");
  EXPECT_EQ(ev.exit_code, 0);
  EXPECT_FALSE(ev.timed_out);
  EXPECT_EQ(ev.first_line, "p99 180ms under 250ms");
}

TEST_F(CustomGateTest, ExitCodesAreReportedAsIs) {
  Script("scripts/wait.sh", "echo 'load test still running'\nexit 75\n");
  Script("scripts/fail.sh", "echo 'p99 900ms over 250ms'\nexit 1\n");
  gates::CustomGateEvidence wait = Run(Gate({"scripts/wait.sh"}));
  EXPECT_EQ(wait.exit_code, 75);
  EXPECT_EQ(wait.first_line, "load test still running");
  gates::CustomGateEvidence fail = Run(Gate({"scripts/fail.sh"}));
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_EQ(fail.first_line, "p99 900ms over 250ms");
  EXPECT_EQ(fail.error, "");
}

TEST_F(CustomGateTest, TimeoutKillsTheCommand) {
  Script("scripts/slow.sh", "echo started\nexec sleep 30\n");
  auto start = std::chrono::steady_clock::now();
  gates::CustomGateEvidence ev = Run(Gate({"scripts/slow.sh"}, milliseconds(300)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_TRUE(ev.timed_out);
  EXPECT_EQ(ev.first_line, "started");
  EXPECT_EQ(ev.error, "");
}

TEST_F(CustomGateTest, CandidateArrivesAsJsonOnStdinAndInTheEnvironment) {
  Script("scripts/echo.sh",
         "IFS= read -r line\necho \"$line\"\necho \"$SLUICE_GATE $SLUICE_ENV $SLUICE_APP "
         "$SLUICE_DIGEST $SLUICE_IMAGE $SLUICE_VERSION $SLUICE_COMMIT $1\" > env.txt\n");
  gates::CustomGateEvidence ev = Run(Gate({"scripts/echo.sh", "--digest={{digest}}"}));
  ASSERT_EQ(ev.exit_code, 0) << ev.error;
  nlohmann::json j = nlohmann::json::parse(ev.first_line);
  EXPECT_EQ(j["gate"], "load-test");
  EXPECT_EQ(j["env"], "prod");
  EXPECT_EQ(j["app"], "api");
  EXPECT_EQ(j["commit"], kCommit);
  EXPECT_EQ(j["digest"], kDigest);
  EXPECT_EQ(j["image"], "registry.example.com/shop/api");
  EXPECT_EQ(j["version"], "2.5.3");
  EXPECT_EQ(testing::ReadFile(req_.checkout_dir + "/env.txt"),
            std::string("load-test prod api ") + kDigest + " registry.example.com/shop/api 2.5.3 " +
                kCommit + " --digest=" + kDigest + "\n");
}

TEST_F(CustomGateTest, ProgramOnPath) {
  gates::CustomGateEvidence ok = Run(Gate({"true"}));
  EXPECT_EQ(ok.exit_code, 0) << ok.error;
  gates::CustomGateEvidence missing = Run(Gate({"sluice-no-such-program-xyz"}));
  EXPECT_EQ(missing.exit_code, -1);
  EXPECT_THAT(missing.error, HasSubstr("sluice-no-such-program-xyz"));
}

TEST_F(CustomGateTest, PathsEscapingTheCheckoutAreRejected) {
  testing::WriteFile(checkout_.Sub("outside.sh"), "#!/bin/sh\nexit 0\n");
  ASSERT_EQ(::chmod(checkout_.Sub("outside.sh").c_str(), 0755), 0);
  for (const char* escape : {"../outside.sh", "scripts/../../outside.sh"}) {
    gates::CustomGateEvidence ev = Run(Gate({escape}));
    EXPECT_EQ(ev.exit_code, -1) << escape;
    EXPECT_THAT(ev.error, HasSubstr("must be a path inside the repository")) << escape;
  }
  gates::CustomGateEvidence abs = Run(Gate({checkout_.Sub("outside.sh")}));
  EXPECT_THAT(abs.error, HasSubstr("must be a path inside the repository"));

  std::filesystem::create_directories(req_.checkout_dir + "/scripts");
  std::filesystem::create_symlink(checkout_.Sub("outside.sh"),
                                  req_.checkout_dir + "/scripts/link.sh");
  gates::CustomGateEvidence link = Run(Gate({"scripts/link.sh"}));
  EXPECT_EQ(link.exit_code, -1);
  EXPECT_THAT(link.error, HasSubstr("resolves outside the repository"));
}

TEST_F(CustomGateTest, MissingOrNotExecutableScriptIsAnError) {
  gates::CustomGateEvidence missing = Run(Gate({"scripts/none.sh"}));
  EXPECT_THAT(missing.error, HasSubstr("does not exist in commit"));
  testing::WriteFile(req_.checkout_dir + "/scripts/plain.sh", "exit 0\n");
  gates::CustomGateEvidence plain = Run(Gate({"scripts/plain.sh"}));
  EXPECT_THAT(plain.error, HasSubstr("is not executable"));
}

TEST_F(CustomGateTest, UnknownPlaceholderIsAnError) {
  Script("scripts/gate.sh", "exit 0\n");
  gates::CustomGateEvidence ev = Run(Gate({"scripts/gate.sh", "{{nope}}"}));
  EXPECT_THAT(ev.error, HasSubstr("unknown placeholder {{nope}}"));
}

TEST(CustomGateInputTest, OneJsonLine) {
  config::Pin pin;
  pin.artifact.digest = kDigest;
  pin.artifact.image = "r/x";
  CustomGateRequest req{"prod", "api", kCommit, &pin, "/tmp"};
  std::string input = CustomGateInput(config::CustomGate{"smoke", {"x"}, milliseconds(1)}, req);
  EXPECT_EQ(input.back(), '\n');
  EXPECT_EQ(input.find('\n'), input.size() - 1);
  EXPECT_THAT(input, HasSubstr(R"("gate":"smoke","env":"prod","app":"api")"));
}

}  // namespace
}  // namespace sluice::evidence
