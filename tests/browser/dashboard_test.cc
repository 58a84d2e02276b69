// The dashboard in a real browser: a `sluice controller --listen` serving a
// test environments repository (git daemon), loaded by the Debian chromium
// through playwright-core (dashboard.test.mjs). It fails — never skips — when
// npm, node or chromium cannot run. The screenshot lands in
// <build>/screenshots/dashboard.png.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "integration/env_repo_fixture.h"
#include "net/http_client.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

// playwright-core from package-lock.json, installed with `npm ci` into
// <build>/browser (not the source tree); reinstalled when the lock changes.
std::string InstallPlaywright() {
  const std::string dir = std::string(SLUICE_BUILD_DIR) + "/browser";
  const std::string src = std::string(SLUICE_SOURCE_DIR) + "/tests/browser";
  fs::create_directories(dir);
  std::string lock = ReadFile(src + "/package-lock.json");
  bool fresh = fs::exists(dir + "/node_modules/playwright-core/package.json") &&
               fs::exists(dir + "/package-lock.json") &&
               ReadFile(dir + "/package-lock.json") == lock;
  if (!fresh) {
    fs::copy_file(src + "/package.json", dir + "/package.json",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(src + "/package-lock.json", dir + "/package-lock.json",
                  fs::copy_options::overwrite_existing);
    CommandOutput npm = RunCommand({"npm", "ci", "--no-audit", "--no-fund"}, dir);
    EXPECT_EQ(npm.exit_code, 0) << "npm ci in " << dir << " failed:\n" << npm.out << npm.err;
  }
  for (const char* script : {"chromium.mjs", "dashboard.test.mjs", "delivery.test.mjs"}) {
    fs::copy_file(src + "/" + script, dir + "/" + script, fs::copy_options::overwrite_existing);
  }
  return dir;
}

// A `sluice controller --listen` serving `f` on a free port, its first pass
// waited for (a deadline, never a sleep); Stop() ends it with SIGTERM and
// checks it exits 0.
class ServedController {
 public:
  explicit ServedController(const EnvRepoFixture& f)
      : log(tmp_.Sub("controller.log")),
        port_(FreePort()),
        child_(std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir", f.workdir,
               "--interval", "1h", "--listen", "127.0.0.1:" + std::to_string(port_),
               bp::std_out > bp::null, bp::std_err > log) {
    EXPECT_TRUE(WaitForPort(port_, 20000)) << ReadFile(log);
    base = "http://127.0.0.1:" + std::to_string(port_);
    WaitUntil([this] { return Ready(); }, std::chrono::seconds(60),
              "the controller's first pass (/readyz 200)");
  }
  ~ServedController() {
    if (stopped_) return;
    ::kill(child_.id(), SIGTERM);
    child_.wait();
  }

  bool Ready() {
    net::HttpRequest req;
    req.url = base + "/readyz";
    auto res = http_.Send(req);
    return res.ok() && res->status == 200;
  }

  void Stop() {
    stopped_ = true;
    ::kill(child_.id(), SIGTERM);
    child_.wait();
    EXPECT_EQ(child_.exit_code(), 0) << ReadFile(log);
  }

 private:
  TempDir tmp_;

 public:
  const std::string log;
  std::string base;

 private:
  int port_;
  net::CurlHttpClient http_;
  bp::child child_;
  bool stopped_ = false;
};

TEST(DashboardBrowserTest, GridShowsTheRunningVersionAndWhyAReleaseIsBlocked) {
  ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
      << "chromium is missing: run scripts/install-deps.sh (Debian package chromium)";
  const std::string node_dir = InstallPlaywright();
  ASSERT_FALSE(::testing::Test::HasFailure());

  // dev/api deploys and verifies. prod/web is pushed straight to main without
  // a signed merge, so prod's rule (1 signed approval from release-managers)
  // blocks it.
  EnvRepoFixture f(std::map<std::string, std::optional<std::string>>{
      {"environments/prod/environment.yaml",
       "upstream: dev\napproval: {required: 1, from: [release-managers], evidence: signed}\n"}});
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "2.5.3")}},
                  "Pin api in dev; prod needs a signed approval");
  f.CommitAndPush({{"environments/prod/apps/web.yaml", f.PinYaml(Digest('b'), "7.1.0")}},
                  "Promote web 7.1.0 to prod");

  TempDir tmp;
  ServedController controller(f);
  const std::string& base = controller.base;
  ASSERT_TRUE(controller.Ready()) << ReadFile(controller.log);

  WriteFile(tmp.Sub("expect.json"), R"([
    {"app": "api", "env": "dev",
     "contains": ["Up to date", "Running: 2.5.3", "Safe version: 2.5.3",
                  "Recent events", "Checked OK 2.5.3", "Deploying 2.5.3"]},
    {"app": "web", "env": "prod",
     "contains": ["Blocked", "Direct push by Test User", "without approval",
                  "Running: nothing yet",
                  "Waiting to deploy: 7.1.0", "Blocked 7.1.0"]},
    {"app": "api", "env": "prod", "contains": ["Not deployed here"]}
  ])");
  const std::string screenshot = std::string(SLUICE_BUILD_DIR) + "/screenshots/dashboard.png";
  fs::remove(screenshot);
  CommandOutput node = RunCommand(
      {"node", node_dir + "/dashboard.test.mjs", base + "/", screenshot, tmp.Sub("expect.json")},
      node_dir);
  EXPECT_EQ(node.exit_code, 0) << node.out << node.err;
  EXPECT_TRUE(fs::exists(screenshot)) << node.out << node.err;
  std::cout << node.out;

  controller.Stop();
}

// The delivery charts (GET /delivery/<env>) in chromium: four charts drawn,
// the failed release marked, no script; and the page is byte for byte what
// `sluice audit --format html` writes for the same record (one code path).
TEST(DashboardBrowserTest, DeliveryChartsDrawAndMatchTheAuditPage) {
  ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
      << "chromium is missing: run scripts/install-deps.sh (Debian package chromium)";
  const std::string node_dir = InstallPlaywright();
  ASSERT_FALSE(::testing::Test::HasFailure());

  // dev/api 1.0 deploys and verifies; 1.1 fails its deploy; 1.2 restores.
  EnvRepoFixture f;
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('a'), "1.0")}}, "api 1.0");
  f.Reconcile();
  WriteFile(f.state + "/fail-b", "");
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('b'), "1.1")}}, "api 1.1");
  f.Reconcile(1);
  f.CommitAndPush({{"environments/dev/apps/api.yaml", f.PinYaml(Digest('c'), "1.2")}}, "api 1.2");
  f.Reconcile();

  TempDir tmp;
  ServedController controller(f);
  const std::string& base = controller.base;
  ASSERT_TRUE(controller.Ready()) << ReadFile(controller.log);
  net::CurlHttpClient http;

  net::HttpRequest req;
  req.url = base + "/delivery/dev";
  auto served = http.Send(req);
  ASSERT_TRUE(served.ok() && served->status == 200) << ReadFile(controller.log);
  CommandOutput audit =
      f.Sluice({"audit", "--env", "dev", "--format", "html", "--workdir", tmp.Sub("audit-workdir"),
                "--repo", f.url, "--controller-keys", f.workdir + "/controller-key.pub"},
               /*with_repo=*/false);
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_EQ(served->body, audit.out);

  WriteFile(tmp.Sub("expect.json"),
            R"json({"charts": 4, "marks": 1, "contains": ["Delivery: dev", "Deploys per week",
                "Lead time", "Change failure rate", "Time to restore",
                "1 failed or rolled-back release(s)"]})json");
  const std::string screenshot = std::string(SLUICE_BUILD_DIR) + "/screenshots/delivery.png";
  fs::remove(screenshot);
  CommandOutput node = RunCommand({"node", node_dir + "/delivery.test.mjs", base + "/delivery/dev",
                                   screenshot, tmp.Sub("expect.json")},
                                  node_dir);
  EXPECT_EQ(node.exit_code, 0) << node.out << node.err;
  EXPECT_TRUE(fs::exists(screenshot)) << node.out << node.err;

  controller.Stop();
}

}  // namespace
}  // namespace sluice::testing
