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
  for (const char* script : {"dashboard.test.mjs", "delivery.test.mjs"}) {
    fs::copy_file(src + "/" + script, dir + "/" + script, fs::copy_options::overwrite_existing);
  }
  return dir;
}

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
  const int port = FreePort();
  const std::string log = tmp.Sub("controller.log");
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir",
                       f.workdir, "--interval", "1h", "--listen",
                       "127.0.0.1:" + std::to_string(port), bp::std_out > bp::null,
                       bp::std_err > log);
  ASSERT_TRUE(WaitForPort(port, 20000)) << ReadFile(log);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  // Ready once the first pass ran (polled with a deadline).
  net::CurlHttpClient http;
  auto ready = [&] {
    net::HttpRequest req;
    req.url = base + "/readyz";
    auto res = http.Send(req);
    return res.ok() && res->status == 200;
  };
  WaitUntil(ready, std::chrono::seconds(60), "the controller's first pass (/readyz 200)");
  ASSERT_TRUE(ready()) << ReadFile(log);

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

  ::kill(controller.id(), SIGTERM);
  controller.wait();
  EXPECT_EQ(controller.exit_code(), 0) << ReadFile(log);
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
  const int port = FreePort();
  const std::string log = tmp.Sub("controller.log");
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir",
                       f.workdir, "--interval", "1h", "--listen",
                       "127.0.0.1:" + std::to_string(port), bp::std_out > bp::null,
                       bp::std_err > log);
  ASSERT_TRUE(WaitForPort(port, 20000)) << ReadFile(log);
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  net::CurlHttpClient http;
  auto ready = [&] {
    net::HttpRequest req;
    req.url = base + "/readyz";
    auto res = http.Send(req);
    return res.ok() && res->status == 200;
  };
  WaitUntil(ready, std::chrono::seconds(60), "the controller's first pass (/readyz 200)");

  net::HttpRequest req;
  req.url = base + "/delivery/dev";
  auto served = http.Send(req);
  ASSERT_TRUE(served.ok() && served->status == 200) << ReadFile(log);
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

  ::kill(controller.id(), SIGTERM);
  controller.wait();
  EXPECT_EQ(controller.exit_code(), 0) << ReadFile(log);
}

}  // namespace
}  // namespace sluice::testing
