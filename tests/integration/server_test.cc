// The daemon's HTTP server end to end: the real `sluice controller --listen`
// against a repository served by git daemon, spoken to over HTTP (libcurl).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/process.hpp>
#include <chrono>
#include <cmath>
#include <iostream>
#include <latch>
#include <regex>
#include <sstream>
#include <thread>

#include "env_repo_fixture.h"
#include "net/http_client.h"
#include "server/webhooks.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
using Clock = std::chrono::steady_clock;

constexpr char kSecret[] = "integration-hook-secret";

// Value of the series `series` (name with labels, exactly as rendered) in an
// exposition, or -1 when absent.
double SeriesValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(tmp_.Sub("secret"), std::string(kSecret) + "\n");
    port_ = FreePort();
    log_ = tmp_.Sub("controller.log");
    controller_ = std::make_unique<bp::child>(
        std::string(SLUICE_BINARY), "controller", "--repo", f_.url, "--workdir", f_.workdir,
        "--interval", "1h", "--listen", "127.0.0.1:" + std::to_string(port_),
        "--webhook-secret-file", tmp_.Sub("secret"), "--log-level", "info", bp::std_out > bp::null,
        bp::std_err > log_);
    ASSERT_TRUE(WaitForPort(port_, 20000)) << ReadFile(log_);
    // Ready once the first pass ran (bounded poll).
    WaitUntil([&] { return Get("/readyz").status == 200; }, std::chrono::seconds(30),
              "the controller's first pass (/readyz 200)");
    ASSERT_EQ(Get("/readyz").status, 200) << ReadFile(log_);
  }

  void TearDown() override {
    if (controller_ && controller_->running()) {
      ::kill(controller_->id(), SIGTERM);
      controller_->wait();
      EXPECT_EQ(controller_->exit_code(), 0) << ReadFile(log_);
    }
  }

  net::HttpResponse Send(net::HttpRequest req) {
    req.url = "http://127.0.0.1:" + std::to_string(port_) + req.url;
    auto res = http_.Send(req);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    return res.ok() ? *res : net::HttpResponse{};
  }
  // GET without failing the test on a refused connection (used while polling).
  net::HttpResponse Get(const std::string& path) {
    net::HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port_) + path;
    auto res = http_.Send(req);
    return res.ok() ? *res : net::HttpResponse{};
  }
  net::HttpResponse GitHubHook(const std::string& body, const std::string& secret = kSecret) {
    net::HttpRequest req;
    req.method = "POST";
    req.url = "/hooks/github";
    req.body = body;
    req.headers = {{"Content-Type", "application/json"},
                   {"X-GitHub-Event", "push"},
                   {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                   {"X-Hub-Signature-256", "sha256=" + server::HmacSha256Hex(secret, body)}};
    return Send(req);
  }
  // Reads the status from the API and from a fresh `sluice status`, minus
  // the pass stamp's age and reason (measured at each read).
  void ReadStatusBoth(nlohmann::json* from_api, nlohmann::json* from_cli) {
    auto api = Get("/api/v1/status");
    ASSERT_EQ(api.status, 200);
    CommandOutput cli =
        RunCommand({SLUICE_BINARY, "status", "--repo", f_.url, "--workdir", tmp_.Sub("status-wd"),
                    "--controller-keys", f_.workdir + "/controller-key.pub", "--format", "json",
                    "--log-level", "off"});
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    *from_api = nlohmann::json::parse(api.body);
    *from_cli = nlohmann::json::parse(cli.out);
    // The pass stamp's age is measured at each read; the rest must agree.
    for (auto* rows : {from_api, from_cli}) {
      for (auto& row : *rows) {
        row["lastPass"].erase("ageSeconds");
        row["lastPass"].erase("reason");
      }
    }
  }
  double Passes() {
    return SeriesValue(Get("/metrics").body, "sluice_reconcile_passes_total{result=\"success\"}");
  }
  // Polls the remote until refs/sluice/deployed/dev/api is `commit` (bounded).
  bool WaitDeployed(const std::string& commit, std::chrono::seconds limit) {
    return WaitUntil([&] { return f_.RemoteRef("refs/sluice/deployed/dev/api") == commit; }, limit,
                     "refs/sluice/deployed/dev/api to move to " + commit);
  }
  // Pins dev/api to `digest`, pushes, sends the signed push webhook and
  // returns the milliseconds from the push to the deployed ref moving (-1 if
  // it did not within 20 s; the poll interval is 1h, so only the hook can).
  long PushAndHook(char digest) {
    std::string commit = f_.CommitAndPush(
        {{"environments/dev/apps/api.yaml", f_.PinYaml(Digest(digest))}}, "Pin api");
    auto pushed = Clock::now();
    auto r = GitHubHook(R"({"ref":"refs/heads/main","after":")" + commit + R"("})");
    EXPECT_EQ(r.status, 202) << r.body;
    if (!WaitDeployed(commit, std::chrono::seconds(20))) return -1;
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pushed).count();
  }

  EnvRepoFixture f_;
  TempDir tmp_;
  int port_ = 0;
  std::string log_;
  net::CurlHttpClient http_;
  std::unique_ptr<bp::child> controller_;
};

TEST_F(ServerTest, HealthzAndMetricsExposeTheCounters) {
  auto h = Get("/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok");
  auto m = Get("/metrics");
  ASSERT_EQ(m.status, 200);
  static const std::regex kLine(
      R"(^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eE]+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \+Inf)$)");
  std::istringstream in(m.body);
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(std::regex_match(line, kLine)) << line;
  }
  EXPECT_GE(SeriesValue(m.body, "sluice_reconcile_passes_total{result=\"success\"}"), 1);
  EXPECT_EQ(SeriesValue(m.body, "sluice_fetch_errors_total"), 0);
  EXPECT_GE(SeriesValue(m.body, "sluice_reconcile_duration_seconds_count"), 1);
  EXPECT_GT(SeriesValue(m.body, "sluice_last_successful_pass_timestamp_seconds"), 1.6e9);
  EXPECT_GE(SeriesValue(m.body, "sluice_outcomes_total{state=\"verified\"}"), 0);
  EXPECT_NE(m.body.find("sluice_build_info{version=\""), std::string::npos);
  for (const char* kind : {"registry", "scan"}) {
    const std::string label = std::string("{kind=\"") + kind + "\"}";
    EXPECT_GE(SeriesValue(m.body, "sluice_evidence_cache_hits_total" + label), 0) << kind;
    EXPECT_GE(SeriesValue(m.body, "sluice_evidence_cache_misses_total" + label), 0) << kind;
    EXPECT_GE(SeriesValue(m.body, "sluice_evidence_cache_entries" + label), 0) << kind;
  }
}

TEST_F(ServerTest, StatusApiMatchesTheStatusCommand) {
  const double baseline = Passes();
  long ms = PushAndHook('a');
  ASSERT_GE(ms, 0) << ReadFile(log_);
  // The deployed ref lands before the pass records `verified`: wait (bounded)
  // until the pass has returned, then until the daemon's view and a fresh CLI
  // read agree. The CLI has a workdir of its own, so it never shares the
  // daemon's cache.
  WaitUntil([&] { return Passes() > baseline; }, std::chrono::seconds(15),
            "the pass to return (sluice_reconcile_passes_total)");
  nlohmann::json from_api, from_cli;
  WaitUntil(
      [&] {
        ReadStatusBoth(&from_api, &from_cli);
        return HasFatalFailure() || from_api == from_cli;
      },
      std::chrono::seconds(15), "the status API and the status command to agree");
  if (HasFatalFailure()) return;
  EXPECT_EQ(from_api, from_cli) << from_api.dump(2) << "\n---\n" << from_cli.dump(2);
  ASSERT_EQ(from_api.size(), 1u);
  EXPECT_EQ(from_api[0]["state"], "in-sync");
  EXPECT_EQ(from_api[0]["lastPass"]["freshness"], "fresh");  // the daemon's own stamp
  auto page = Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("api/v1/status"), std::string::npos);
}

TEST_F(ServerTest, SignedWebhookTriggersAPassLongBeforeTheInterval) {
  auto baseline = Passes();
  long ms = PushAndHook('b');
  ASSERT_GE(ms, 0) << "no pass within 20s of the webhook (interval 1h)\n" << ReadFile(log_);
  // The metric is updated when the pass returns, just after its pushes.
  WaitUntil([&] { return Passes() > baseline; }, std::chrono::seconds(10),
            "the pass to return (sluice_reconcile_passes_total)");
  EXPECT_GT(Passes(), baseline);
  EXPECT_EQ(f_.Deploys().size(), 1u);
  EXPECT_GE(SeriesValue(Get("/metrics").body,
                        "sluice_webhooks_total{source=\"github\",result=\"accepted\"}"),
            1);
}

// The generic hook takes the header name outgoing notifications sign with
// (X-Sluice-Signature-256), still the deprecated X-Sluice-Signature, and
// answers 400 to a signed body that is not JSON (docs/operations.md). A pass
// a hook starts that finds nothing to do logs one line saying so.
TEST_F(ServerTest, GenericHookTakesTheNotificationHeaderAndWantsJson) {
  auto generic = [&](const std::string& body, const std::string& header,
                     const std::string& secret = kSecret) {
    net::HttpRequest req;
    req.method = "POST";
    req.url = "/hooks/generic";
    req.body = body;
    req.headers = {{"Content-Type", "application/json"},
                   {header, "sha256=" + server::HmacSha256Hex(secret, body)}};
    return Send(req);
  };
  const std::string json = R"({"reason":"manual"})";
  auto r = generic(json, "X-Sluice-Signature-256");
  EXPECT_EQ(r.status, 202) << r.body;
  std::string log;
  WaitUntil([&] { return (log = ReadFile(log_)).find("nothing to do") != std::string::npos; },
            std::chrono::seconds(20), "the webhook's pass to log that it found nothing to do");
  EXPECT_NE(log.find(" info webhook pass at "), std::string::npos) << log;
  EXPECT_NE(log.find(": nothing to do (no new commit, no change pending)"), std::string::npos)
      << log;

  EXPECT_EQ(generic(json, "X-Sluice-Signature").status, 202);  // deprecated alias
  auto not_json = generic("reason=manual", "X-Sluice-Signature-256");
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  EXPECT_NE(not_json.body.find("not JSON"), std::string::npos) << not_json.body;
  EXPECT_EQ(generic(json, "X-Sluice-Signature-256", "not-the-secret").status, 401);
  EXPECT_EQ(generic("reason=manual", "X-Sluice-Signature-256", "not-the-secret").status, 401);
}

TEST_F(ServerTest, BadSignatureIs401AndLoggedWithoutTheSecret) {
  auto r = GitHubHook(R"({"ref":"refs/heads/main"})", "not-the-secret");
  EXPECT_EQ(r.status, 401);
  net::HttpRequest unsigned_req;
  unsigned_req.method = "POST";
  unsigned_req.url = "/hooks/github";
  unsigned_req.body = "{}";
  EXPECT_EQ(Send(unsigned_req).status, 401);
  // The warning is logged (bounded poll: the log is written by another process).
  std::string log;
  WaitUntil([&] { return (log = ReadFile(log_)).find("rejected") != std::string::npos; },
            std::chrono::seconds(10), "\"rejected\" in the controller's log");
  EXPECT_NE(log.find("webhook github from 127.0.0.1 rejected"), std::string::npos) << log;
  EXPECT_EQ(log.find(kSecret), std::string::npos) << "the secret leaked into the log";
}

TEST_F(ServerTest, OversizedBodyIs413) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = "/hooks/github";
  req.body = std::string(1024 * 1024 + 10, ' ');
  req.headers = {{"Content-Type", "application/json"},
                 {"X-Hub-Signature-256", "sha256=" + server::HmacSha256Hex(kSecret, req.body)}};
  EXPECT_EQ(Send(req).status, 413);
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(ServerTest, BurstOfWebhooksCoalescesIntoAFewPasses) {
  const double before = Passes();
  const std::string body = R"({"ref":"refs/heads/main"})";
  // 50 senders released at once by a latch, so the deliveries arrive as one
  // burst rather than spread over several (fast) passes.
  constexpr int kHooks = 50;
  std::latch go(kHooks);
  std::vector<std::thread> senders;
  std::atomic<int> accepted{0};
  for (int t = 0; t < kHooks; ++t) {
    senders.emplace_back([&] {
      net::CurlHttpClient client;
      net::HttpRequest req;
      req.method = "POST";
      req.url = "http://127.0.0.1:" + std::to_string(port_) + "/hooks/github";
      req.body = body;
      req.headers = {{"Content-Type", "application/json"},
                     {"X-GitHub-Event", "push"},
                     {"X-Hub-Signature-256", "sha256=" + server::HmacSha256Hex(kSecret, body)}};
      go.arrive_and_wait();
      auto r = client.Send(req);
      if (r.ok() && r->status == 202) ++accepted;
    });
  }
  auto burst_start = Clock::now();
  for (auto& t : senders) t.join();
  const double burst_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - burst_start).count();
  EXPECT_EQ(accepted.load(), kHooks);
  // At least one pass follows; then watch a bounded window for any more.
  WaitUntil([&] { return Passes() > before; }, std::chrono::seconds(20),
            "a pass after the burst (sluice_reconcile_passes_total)");
  auto settle = Clock::now() + std::chrono::seconds(2);
  double after = Passes();
  while (Clock::now() < settle) {
    after = Passes();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "[ burst    ] " << kHooks << " webhooks delivered in " << burst_ms << " ms -> "
            << (after - before) << " extra pass(es)\n";
  EXPECT_GE(after - before, 1);
  // Coalesced: one pass now, then at most one per 500 ms spacing window
  // while deliveries keep arriving, then one for the last of them.
  const double bound = 2 + std::floor(burst_ms / 500.0);
  EXPECT_LE(after - before, bound) << "webhooks must coalesce";
}

TEST_F(ServerTest, PushToDeployedLatencyWithWebhook) {
  std::vector<long> ms;
  const std::string digests = "cdefabcdef";
  for (char c : digests) {
    long one = PushAndHook(c);
    ASSERT_GE(one, 0) << ReadFile(log_);
    ms.push_back(one);
  }
  std::sort(ms.begin(), ms.end());
  double median = (ms[4] + ms[5]) / 2.0;
  long p95 = ms[static_cast<size_t>(std::ceil(0.95 * ms.size())) - 1];
  std::cout << "[ latency  ] push -> refs/sluice/deployed over " << ms.size()
            << " runs with webhook: median " << median << " ms, p95 " << p95 << " ms, min "
            << ms.front() << " ms, max " << ms.back() << " ms\n";
  RecordProperty("median_ms", std::to_string(median));
  RecordProperty("p95_ms", std::to_string(p95));
  EXPECT_LT(p95, 15000) << "generous bound; the poll interval is 1h";
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// The contract (RecordStore): no `applying` is written while the record's
// last push failed, and the first apply of a process waits until one push of
// it succeeded: the start pass's stamp, here. A refusal that begins after a
// push succeeded is found by the next push (the apply it let through is
// journalled, and reaches the remote once the refusal ends), exactly as
// between any two passes.
TEST_F(ServerTest, ReadyzIsFalseWhileRecordsCannotBePushed) {
  // The start pass's stamp reached the remote (bounded poll).
  ASSERT_TRUE(WaitUntil([&] { return !f_.RemoteRef("refs/sluice/pass").empty(); },
                        std::chrono::seconds(20), "the start pass's stamp on the remote"))
      << ReadFile(log_);
  f_.RefuseRecordPushes(true);
  std::string first =
      f_.CommitAndPush({{"environments/dev/apps/api.yaml", f_.PinYaml(Digest('a'))}}, "Pin api");
  ASSERT_EQ(GitHubHook(R"({"ref":"refs/heads/main","after":")" + first + R"("})").status, 202);
  // Bounded polls: the pass the hook woke pushes its record, which is refused.
  auto poll_readyz = [&](int want) {
    net::HttpResponse r;
    for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline;) {
      r = Get("/readyz");
      if (r.status == want) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return r;
  };
  auto r = poll_readyz(503);
  ASSERT_EQ(r.status, 503) << r.body << ReadFile(log_);
  EXPECT_NE(r.body.find("records cannot be pushed"), std::string::npos) << r.body;
  EXPECT_TRUE(f_.RemoteEvents(first).empty());

  // Now that a push failed, nothing more applies: the next pass cannot even
  // start, since its record does not leave.
  const size_t deploys = f_.Deploys().size();
  auto failed_passes = [&] {
    const std::string log = ReadFile(log_);
    size_t n = 0;
    for (size_t at = log.find("pass failed"); at != std::string::npos;
         at = log.find("pass failed", at + 1)) {
      ++n;
    }
    return n;
  };
  const size_t failed_before = failed_passes();
  std::string second =
      f_.CommitAndPush({{"environments/dev/apps/web.yaml", f_.PinYaml(Digest('b'))}}, "Pin web");
  ASSERT_EQ(GitHubHook(R"({"ref":"refs/heads/main","after":")" + second + R"("})").status, 202);
  ASSERT_TRUE(WaitUntil([&] { return failed_passes() > failed_before; }, std::chrono::seconds(20),
                        "the pass of the second pin to fail"))
      << ReadFile(log_);
  EXPECT_NE(ReadFile(log_).find("pre-receive hook declined"), std::string::npos);
  EXPECT_EQ(f_.Deploys().size(), deploys) << ReadFile(log_);
  EXPECT_EQ(Get("/readyz").status, 503);

  // Once the remote accepts again, nothing of the record is lost: the first
  // pin's `applying` (journalled) reaches the remote, and the second applies.
  f_.RefuseRecordPushes(false);
  ASSERT_EQ(GitHubHook(R"({"ref":"refs/heads/main","after":")" + second + R"("})").status, 202);
  r = poll_readyz(200);
  EXPECT_EQ(r.status, 200) << r.body << ReadFile(log_);
  ASSERT_TRUE(WaitUntil([&] { return f_.RemoteRef("refs/sluice/deployed/dev/web") == second; },
                        std::chrono::seconds(20), "dev/web deployed"))
      << ReadFile(log_);
  std::vector<std::string> kinds;
  for (const auto& e : f_.RemoteEvents(first)) {
    if (e.value("app", "") == "api") kinds.push_back(e.value("event", ""));
  }
  ASSERT_FALSE(kinds.empty()) << ReadFile(log_);
  EXPECT_EQ(kinds.front(), "applying");
}

TEST(ServerStartupTest, MissingSecretFileIsAClearStartupError) {
  TempDir tmp;
  CommandOutput r = RunCommand({SLUICE_BINARY, "controller", "--repo", "git://127.0.0.1:1/x",
                                "--workdir", tmp.Sub("w"), "--listen", "127.0.0.1:0",
                                "--webhook-secret-file", tmp.Sub("no-such-secret")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read --webhook-secret-file " + tmp.Sub("no-such-secret")),
            std::string::npos)
      << r.err;
  WriteFile(tmp.Sub("empty"), "\n");
  r = RunCommand({SLUICE_BINARY, "controller", "--repo", "git://127.0.0.1:1/x", "--workdir",
                  tmp.Sub("w"), "--listen", "127.0.0.1:0", "--webhook-secret-file",
                  tmp.Sub("empty")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
}

TEST(ServerStartupTest, ConfigFileKeysAndBadListen) {
  TempDir tmp;
  WriteFile(tmp.Sub("c.yaml"), "repo: git://127.0.0.1:1/x\nlisten: nonsense\n");
  CommandOutput r = RunCommand({SLUICE_BINARY, "controller", "--config", tmp.Sub("c.yaml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("expected HOST:PORT"), std::string::npos) << r.err;
  WriteFile(tmp.Sub("d.yaml"),
            "repo: git://127.0.0.1:1/x\nlisten: 127.0.0.1:0\n"
            "webhookSecretFile: " +
                tmp.Sub("missing") + "\n");
  r = RunCommand({SLUICE_BINARY, "controller", "--config", tmp.Sub("d.yaml")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read --webhook-secret-file"), std::string::npos) << r.err;
}

TEST(ServerStartupTest, BadRegistryCacheTtlIsAClearStartupError) {
  TempDir tmp;
  CommandOutput r = RunCommand(
      {SLUICE_BINARY, "controller", "--repo", "git://127.0.0.1:1/x", "--registry-cache-ttl", "2d"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--registry-cache-ttl: '2d' is longer than 24h"), std::string::npos)
      << r.err;
  r = RunCommand({SLUICE_BINARY, "controller", "--repo", "git://127.0.0.1:1/x",
                  "--registry-cache-ttl", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--registry-cache-ttl: invalid duration \"soon\""), std::string::npos)
      << r.err;
  WriteFile(tmp.Sub("c.yaml"), "repo: git://127.0.0.1:1/x\nregistryCacheTtl: 1 hour\n");
  r = RunCommand({SLUICE_BINARY, "controller", "--config", tmp.Sub("c.yaml")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(tmp.Sub("c.yaml") + ":2: registryCacheTtl: "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::testing
