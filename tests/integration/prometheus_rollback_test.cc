// `onFailure: rollback` end to end with a REAL Prometheus (issue #6, part 7):
// the real `sluice` binary deploys through the exec adapter; the "service"
// is a cpp-httplib exporter whose metrics depend on the digest the adapter
// rolled out; a real `prometheus` scrapes it every 250 ms; the environment's
// verification queries that Prometheus. A healthy release is verified and
// becomes the LKG; a bad one fails verification with the measured value in
// the record, and the controller pushes and applies the rollback itself.
//
// Nothing sleeps blindly: the rollout script returns (like `helm --wait`)
// once the exporter has served the new release to two scrapes, so the first
// one is stored in Prometheus before the verification starts; the test polls
// Prometheus's HTTP API with a deadline where it needs a value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "env_repo_fixture.h"
#include "support/prometheus.h"

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;

// Stand-in rollout for the exec adapter: makes `$1` the running release of
// the test's service (the exporter reads <state>/running), logs it, and, like
// `helm upgrade --wait`, returns only once the new release is live, here:
// once the exporter says Prometheus has scraped it (<state>/scraped-<commit>).
constexpr char kRolloutScript[] = R"(#!/bin/sh
set -eu
state="$2"
echo "$SLUICE_ENV $SLUICE_APP $1 $SLUICE_COMMIT" >> "$state/rollouts.log"
printf '%s %s\n' "$SLUICE_COMMIT" "$1" > "$state/running.tmp"
mv "$state/running.tmp" "$state/running"
i=0
while [ ! -e "$state/scraped-$SLUICE_COMMIT" ]; do
  i=$((i + 1))
  if [ "$i" -gt 600 ]; then echo "release $1 was not scraped within 30 s" >&2; exit 1; fi
  sleep 0.05
done
echo "rolled out $1"
)";

constexpr char kErrorQuery[] = R"(max(sluice_e2e_error_ratio{app="api"}))";
constexpr char kLatencyQuery[] = R"(max(sluice_e2e_latency_p99_seconds{app="api"}))";

// How the service behaves when a given release runs.
struct Health {
  double error_ratio = 0;
  double latency = 0.1;
};

std::string Num(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Serves the metrics of the release the rollout script made current, and
// drops <state>/scraped-<commit> once a rollout has been served to two
// scrapes (the first of them is then surely stored in Prometheus).
class ServiceExporter {
 public:
  explicit ServiceExporter(std::string state)
      : state_(std::move(state)), exporter_([this] { return Render(); }) {}

  void Set(const std::string& digest, Health h) {
    std::lock_guard lock(mu_);
    health_[digest] = h;
  }
  std::string Target() const { return exporter_.Target(); }

 private:
  std::string Render() {
    std::string running;  // "<commit> <digest>", empty before the first rollout
    {
      std::ifstream in(state_ + "/running");
      std::getline(in, running);
    }
    const std::string commit = running.substr(0, running.find(' '));
    const std::string digest =
        running.find(' ') == std::string::npos ? "" : running.substr(running.find(' ') + 1);
    std::lock_guard lock(mu_);
    if (running != last_running_) {
      last_running_ = running;
      scrapes_ = 0;
    }
    if (++scrapes_ == 2 && !commit.empty()) {
      std::ofstream(state_ + "/scraped-" + commit) << digest << "\n";
    }
    Health h = digest.empty() ? Health{} : health_[digest];
    const std::string labels = R"({env="dev",app="api"})";
    return "# TYPE sluice_e2e_error_ratio gauge\nsluice_e2e_error_ratio" + labels + " " +
           Num(h.error_ratio) +
           "\n# TYPE sluice_e2e_latency_p99_seconds gauge\nsluice_e2e_latency_p99_seconds" +
           labels + " " + Num(h.latency) + "\n";
  }

  const std::string state_;
  std::mutex mu_;
  std::map<std::string, Health> health_;
  std::string last_running_;
  int scrapes_ = 0;
  MetricsExporter exporter_;  // last: stops serving before the rest goes
};

const nlohmann::json* Outcome(const nlohmann::json& pass, const std::string& state) {
  for (const auto& o : pass["outcomes"]) {
    if (o["state"] == state) return &o;
  }
  return nullptr;
}

const nlohmann::json* Find(const std::vector<nlohmann::json>& events, const std::string& kind) {
  for (const auto& e : events) {
    if (e["event"] == kind) return &e;
  }
  return nullptr;
}

std::vector<std::string> Kinds(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e["event"]);
  return kinds;
}

class PrometheusRollbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(prometheus_.ready()) << prometheus_.Log();
    const std::string script = f_.work + "/scripts/rollout.sh";
    WriteFile(script, kRolloutScript);
    std::filesystem::permissions(script, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add);
    // The policy in force for every release below: verification against the
    // real Prometheus, an absolute error-ratio limit and a latency limit
    // relative to the baseline read just before each apply.
    const std::string prom = prometheus_.Url();
    f_.CommitAndPush({{"scripts/rollout.sh", kRolloutScript},
                      {"environments/dev/environment.yaml",
                       "onFailure: rollback\n"
                       "verification:\n"
                       "  duration: 2s\n"
                       "  interval: 250ms\n"
                       "  checks:\n"
                       "    - prometheus:\n"
                       "        url: " +
                           prom +
                           "\n"
                           "        query: '" +
                           kErrorQuery +
                           "'\n"
                           "        max: 0.05\n"
                           "    - prometheus:\n"
                           "        url: " +
                           prom +
                           "\n"
                           "        query: '" +
                           kLatencyQuery +
                           "'\n"
                           "        maxRatioToBaseline: 2\n"}},
                     "dev: verify with Prometheus, roll back by itself");
    // Before anything runs the service reports no errors at 100 ms; the
    // first sample of a fresh Prometheus takes ~5-6 s.
    ASSERT_TRUE(prometheus_.WaitForValue(kLatencyQuery, 0.1));
  }

  std::string Pin(const std::string& digest, const std::string& version) const {
    return "artifact:\n  image: registry.example.com/shop/api\n  digest: " + digest +
           "\n  version: " + version +
           "\ndeploy:\n  adapter: exec\n  exec:\n    command: [scripts/rollout.sh, \"{{digest}}\", "
           "\"" +
           f_.state + "\"]\n    timeout: 1m\n";
  }

  // Pushes a pin of `digest` and runs one controller pass, which exits
  // `expected_exit` (1 when the release fails verification).
  nlohmann::json Release(const std::string& digest, const std::string& version, std::string* commit,
                         int expected_exit = 0) {
    *commit = f_.CommitAndPush({{"environments/dev/apps/api.yaml", Pin(digest, version)}},
                               "api " + version);
    return f_.Reconcile(expected_exit);
  }

  std::string DeployedDigest() const {
    auto rows = nlohmann::json::parse(
        f_.Sluice({"status", "--format", "json", "--env", "dev", "--log-level", "off"}).out,
        nullptr, false);
    if (rows.is_discarded() || rows.empty()) return "";
    return rows.at(0)["deployed"]["digest"];
  }

  // The last line of <state>/rollouts.log: "<env> <app> <digest> <commit>".
  std::string LastRollout() const {
    std::vector<std::string> lines;
    std::istringstream in(ReadFile(f_.state + "/rollouts.log"));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines.empty() ? "" : lines.back();
  }

  // A release is verified and becomes the LKG.
  void ExpectVerifiedLkg(const nlohmann::json& pass, const std::string& commit,
                         const std::string& digest) {
    ASSERT_NE(Outcome(pass, "verified"), nullptr) << pass.dump(2);
    EXPECT_EQ(f_.RemoteRef("refs/sluice/lkg/dev/api"), commit);
    EXPECT_EQ(f_.RemoteRef("refs/sluice/deployed/dev/api"), commit);
    auto events = f_.RemoteEvents(commit);
    const nlohmann::json* verified = Find(events, "verified");
    ASSERT_NE(verified, nullptr) << nlohmann::json(events).dump(2);
    EXPECT_EQ((*verified)["digest"], digest);
    EXPECT_NE((*verified)["reason"].get<std::string>().find("2 checks passed"), std::string::npos)
        << verified->dump();
  }

  // After a failed verification of `bad`, the controller pushed one rollback
  // commit restoring `good`'s pin, applied it on the fast path and verified
  // it. Returns the rollback commit.
  std::string ExpectRolledBackTo(const nlohmann::json& pass, const std::string& bad,
                                 const std::string& good, const std::string& good_digest,
                                 const std::string& measured) {
    EXPECT_NE(Outcome(pass, "failed"), nullptr) << pass.dump(2);
    EXPECT_NE(Outcome(pass, "verified"), nullptr) << pass.dump(2);  // the rollback
    // The record of the bad release: failed, with the measured value.
    auto bad_events = f_.RemoteEvents(bad);
    EXPECT_EQ(Kinds(bad_events), (std::vector<std::string>{"applying", "applied", "failed"}))
        << nlohmann::json(bad_events).dump(2);
    const nlohmann::json* failed = Find(bad_events, "failed");
    std::string rollback = f_.RemoteRef("refs/heads/main");
    if (failed != nullptr) {
      const std::string reason = (*failed)["reason"];
      EXPECT_NE(reason.find("verification failed: prometheus"), std::string::npos) << reason;
      EXPECT_NE(reason.find(measured), std::string::npos) << reason;
      EXPECT_NE(reason.find("rolled back by"), std::string::npos) << reason;
      EXPECT_NE(failed->value("output", "").find("FAIL prometheus"), std::string::npos)
          << failed->dump();
    }
    // The rollback commit: by the controller, the failing value in the
    // message, the trailer naming the LKG, exactly the LKG's pin.
    EXPECT_NE(rollback, bad);
    EXPECT_EQ(Git(f_.bare, {"rev-parse", rollback + "^"}).out, bad + "\n");
    const std::string msg = Git(f_.bare, {"log", "-1", "--format=%an%n%B", rollback}).out;
    EXPECT_EQ(msg.rfind("Sluice controller\n", 0), 0u) << msg;
    EXPECT_NE(msg.find("Sluice-Rollback: " + good), std::string::npos) << msg;
    EXPECT_NE(msg.find(measured), std::string::npos) << msg;
    EXPECT_EQ(Git(f_.bare, {"show", rollback + ":environments/dev/apps/api.yaml"}).out,
              Git(f_.bare, {"show", good + ":environments/dev/apps/api.yaml"}).out);
    // Applied as a rollback, verified, and the new LKG.
    auto events = f_.RemoteEvents(rollback);
    EXPECT_EQ(Kinds(events), (std::vector<std::string>{"applying", "rolled-back", "verified"}))
        << nlohmann::json(events).dump(2);
    const nlohmann::json* rolled = Find(events, "rolled-back");
    if (rolled != nullptr) {
      EXPECT_EQ((*rolled)["rollbackTo"], good);
      EXPECT_EQ((*rolled)["digest"], good_digest);
    }
    EXPECT_EQ(f_.RemoteRef("refs/sluice/deployed/dev/api"), rollback);
    EXPECT_EQ(f_.RemoteRef("refs/sluice/lkg/dev/api"), rollback);
    EXPECT_EQ(DeployedDigest(), good_digest);
    EXPECT_EQ(LastRollout(), "dev api " + good_digest + " " + rollback);
    return rollback;
  }

  EnvRepoFixture f_;
  ServiceExporter service_{f_.state};
  PrometheusServer prometheus_{{service_.Target()}, milliseconds(250)};
};

TEST_F(PrometheusRollbackTest, ErrorRatioOverMaxIsRolledBackToTheLkg) {
  service_.Set(Digest('a'), {0.001, 0.1});
  service_.Set(Digest('b'), {0.2, 0.1});

  std::string good;
  nlohmann::json pass = Release(Digest('a'), "1.0.0", &good);
  ASSERT_NO_FATAL_FAILURE(ExpectVerifiedLkg(pass, good, Digest('a')));

  std::string bad;
  pass = Release(Digest('b'), "1.1.0", &bad, /*expected_exit=*/1);
  ASSERT_NO_FATAL_FAILURE(ExpectRolledBackTo(pass, bad, good, Digest('a'), "0.2 > max 0.05"));

  // Monitoring agrees: the service is back to the LKG's error ratio.
  EXPECT_TRUE(prometheus_.WaitForValue(kErrorQuery, 0.001));
}

TEST_F(PrometheusRollbackTest, LatencyOverTheBaselineRatioIsRolledBack) {
  service_.Set(Digest('a'), {0.001, 0.1});
  service_.Set(Digest('d'), {0.002, 0.15});  // within 2 x 0.1
  service_.Set(Digest('c'), {0.001, 0.5});   // over 2 x 0.15, errors fine

  std::string first;
  ASSERT_NO_FATAL_FAILURE(
      ExpectVerifiedLkg(Release(Digest('a'), "1.0.0", &first), first, Digest('a')));
  std::string good;
  nlohmann::json pass = Release(Digest('d'), "1.1.0", &good);
  ASSERT_NO_FATAL_FAILURE(ExpectVerifiedLkg(pass, good, Digest('d')));
  // The verified event keeps each check's measurement, the ratio one included.
  const nlohmann::json verified = f_.RemoteEvents(good).back();
  const std::string measured = verified.value("output", "");
  EXPECT_NE(measured.find("0.15 (within 2 x baseline 0.1"), std::string::npos) << verified.dump();

  std::string bad;
  pass = Release(Digest('c'), "1.2.0", &bad, /*expected_exit=*/1);
  ASSERT_NO_FATAL_FAILURE(
      ExpectRolledBackTo(pass, bad, good, Digest('d'), "0.5 > 2 x baseline 0.15"));
  EXPECT_TRUE(prometheus_.WaitForValue(kLatencyQuery, 0.15));
}

}  // namespace
}  // namespace sluice::testing
