// Secrets stay with the controller (SPEC 1.3 rule 5), one test per side door
// of issue 15 (side door 4), each driving the real `sluice` binary against a
// real git daemon or git http-backend behind lighttpd:
//   (a) an exec deploy script reads /proc/$PPID/environ and its own
//       environment, and prints what it can still find; the record is redacted;
//   (b) sluice.yaml naming the forge, a token file, secret files and webhook
//       URLs has no effect: the controller's configuration wins, and the
//       repository-named files are never opened (inotify watches them);
//   (c) a --repo URL with a password never reaches cache.git/config, logs,
//       /readyz, /api/v1/status or /proc/<pid>/cmdline;
//   (d) the controller is not dumpable.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "env_repo_fixture.h"
#include "net/http_client.h"
#include "support/http_receiver.h"
#include "support/wait_until.h"

namespace sluice::testing {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kForgeToken[] = "ghp_ForgeTokenFromConfig_7f3a9e";
constexpr char kEnvForgeToken[] = "ghp_ForgeTokenFromEnv_11b2c4";
constexpr char kEnvGitPassword[] = "Git-Pass-From-Env_5d9e01";
constexpr char kHookSecret[] = "Hook-Secret-From-Config_8c1f22";

// Every secret value of these tests, for "appears nowhere" checks.
const std::vector<std::string>& AllSecrets() {
  static const std::vector<std::string> all = {kForgeToken, kEnvForgeToken, kEnvGitPassword,
                                               kHookSecret};
  return all;
}

// The first secret of AllSecrets() (and `extra`) found in `text`, or "".
std::string FindSecret(const std::string& text, const std::vector<std::string>& extra = {}) {
  for (const auto& list : {AllSecrets(), extra}) {
    for (const auto& s : list) {
      if (text.find(s) != std::string::npos) return s;
    }
  }
  return "";
}

// A loopback GitHub API: answers every GET with `[]` (no pull request for
// that commit) and records path and Authorization of each request.
class ForgeStub {
 public:
  ForgeStub() {
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      requests_.push_back(req.path + " auth=" + req.get_header_value("Authorization"));
      res.set_content("[]", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ForgeStub() {
    server_.stop();
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// Watches files for any open (IN_OPEN) with inotify: proof that a process
// never read them, whatever their access times say.
class OpenWatch {
 public:
  explicit OpenWatch(const std::vector<std::string>& paths) {
    fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    EXPECT_GE(fd_, 0);
    for (const auto& p : paths) {
      int wd = inotify_add_watch(fd_, p.c_str(), IN_OPEN | IN_ACCESS);
      EXPECT_GE(wd, 0) << p;
      names_[wd] = p;
    }
  }
  ~OpenWatch() { ::close(fd_); }
  // The watched files opened since construction.
  std::vector<std::string> Opened() {
    std::vector<std::string> out;
    alignas(inotify_event) char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      for (char* p = buf; p < buf + n;) {
        auto* e = reinterpret_cast<inotify_event*>(p);
        out.push_back(names_[e->wd]);
        p += sizeof(inotify_event) + e->len;
      }
    }
    return out;
  }

 private:
  int fd_ = -1;
  std::map<int, std::string> names_;
};

// (a) A dev exec deploy that goes looking for the controller's secrets.
constexpr char kSpyScript[] = R"SH(#!/bin/sh
# Hostile deploy: looks for the controller's secrets where a child can.
state="$1"
if ! tr '\0' '\n' < /proc/$PPID/environ > "$state/parent-environ" 2>/dev/null; then
  echo "UNREADABLE" > "$state/parent-environ"
fi
tr '\0' ' ' < /proc/$PPID/cmdline > "$state/parent-cmdline" 2>/dev/null
env > "$state/own-environ"
# Files of the controller's user are readable to its children: what a script
# finds there and prints must still not reach the record or the logs.
echo "found token $(cat "$2") and hook secret $(cat "$3")"
echo "found token $(cat "$2") and hook secret $(cat "$3") and the git password $4" >&2
exit 7
)SH";

TEST(SecretsTest, ExecDeployFindsNoSecretsInItsParentOrItsOwnEnvironment) {
  EnvRepoFixture f;
  TempDir tmp;
  Receiver hook;
  WriteFile(tmp.Sub("forge-token"), std::string(kForgeToken) + "\n");
  WriteFile(tmp.Sub("hook-secret"), std::string(kHookSecret) + "\n");
  WriteFile(tmp.Sub("controller.yaml"),
            "forge: {type: github, api: \"http://127.0.0.1:1\", repo: shop/envs, tokenFile: \"" +
                tmp.Sub("forge-token") + "\"}\nnotify:\n  audit: {url: \"" + hook.Url("/h") +
                "\", secretFile: \"" + tmp.Sub("hook-secret") + "\"}\n");
  WriteFile(f.work + "/scripts/spy.sh", kSpyScript);
  fs::permissions(f.work + "/scripts/spy.sh", fs::perms::owner_all, fs::perm_options::replace);
  std::string pin = "artifact:\n  image: registry.example.com/shop/app\n  digest: " + Digest('a') +
                    "\ndeploy:\n  adapter: exec\n  exec:\n    command: [scripts/spy.sh, \"" +
                    f.state + "\", \"" + tmp.Sub("forge-token") + "\", \"" +
                    tmp.Sub("hook-secret") + "\", \"" + kEnvGitPassword + "\"]\n";
  std::string commit =
      f.CommitAndPush({{"sluice.yaml", "pipeline: [dev, prod]\nnotify:\n  - {target: audit}\n"},
                       {"scripts/spy.sh", kSpyScript},
                       {"environments/dev/apps/api.yaml", pin}},
                      "dev: a deploy script that goes looking");
  f.extra_env = {std::string("SLUICE_FORGE_TOKEN=") + kEnvForgeToken, "SLUICE_GIT_USERNAME=bot",
                 std::string("SLUICE_GIT_PASSWORD=") + kEnvGitPassword};

  CommandOutput out = f.Sluice({"reconcile", "--once", "--format", "json", "--log-level", "debug",
                                "--config", tmp.Sub("controller.yaml")});
  EXPECT_NE(out.out.find("\"state\":\"failed\""), std::string::npos) << out.err << out.out;

  // The script read its parent: the sluice process, whose environment
  // (readable to root, as here) no longer holds any secret.
  std::string parent_cmdline = ReadFile(f.state + "/parent-cmdline");
  ASSERT_NE(parent_cmdline.find("reconcile"), std::string::npos) << parent_cmdline;
  std::string parent_env = ReadFile(f.state + "/parent-environ");
  if (::geteuid() == 0) {
    EXPECT_NE(parent_env.find("PATH="), std::string::npos) << parent_env;
  }
  EXPECT_EQ(FindSecret(parent_env), "") << parent_env;
  EXPECT_EQ(parent_env.find("SLUICE_FORGE_TOKEN"), std::string::npos) << parent_env;
  EXPECT_EQ(parent_env.find("SLUICE_GIT_PASSWORD"), std::string::npos) << parent_env;
  std::string own_env = ReadFile(f.state + "/own-environ");
  EXPECT_EQ(FindSecret(own_env), "") << own_env;
  EXPECT_EQ(own_env.find("SLUICE_FORGE_TOKEN"), std::string::npos) << own_env;

  // What it printed lands in the record redacted.
  std::vector<nlohmann::json> events = f.RemoteEvents(commit);
  std::string failed_output;
  std::string all_events;
  for (const auto& e : events) {
    all_events += e.dump() + "\n";
    if (e.value("event", "") == "failed") failed_output = e.value("output", "");
  }
  EXPECT_NE(failed_output.find("found token *** and hook secret *** and the git password ***"),
            std::string::npos)
      << all_events;
  // The streamed log lines too.
  EXPECT_NE(out.err.find("[dev/api] found token *** and hook secret ***"), std::string::npos)
      << out.err;
  EXPECT_EQ(FindSecret(all_events), "") << all_events;
  // Nor in the logs, the pass report or the notification sent.
  EXPECT_EQ(FindSecret(out.err), "") << out.err;
  EXPECT_EQ(FindSecret(out.out), "") << out.out;
  for (const auto& r : hook.Requests()) EXPECT_EQ(FindSecret(r.body), "") << r.body;
}

TEST(SecretsTest, ForgeAndSecretFilesNamedByTheRepositoryHaveNoEffect) {
  TempDir tmp;
  ForgeStub configured;  // the controller's forge
  ForgeStub attacker;    // the forge sluice.yaml names
  Receiver hook;         // the controller's notification target
  Receiver attacker_hook;
  WriteFile(tmp.Sub("forge-token"), std::string(kForgeToken) + "\n");
  // Files the repository names: never to be opened by the controller.
  for (const char* name : {"repo-token", "repo-secret", "repo-slack"}) {
    WriteFile(tmp.Sub(name), attacker_hook.Url("/stolen") + "\n");
  }
  WriteFile(tmp.Sub("controller.yaml"),
            "forge: {type: github, api: \"" + configured.Url() +
                "\", repo: shop/envs, tokenFile: \"" + tmp.Sub("forge-token") +
                "\"}\nnotify:\n  audit: {url: \"" + hook.Url("/h") + "\"}\n");
  std::string settings =
      "pipeline: [dev, prod]\ngroups:\n  release-managers: [alice]\n"
      "forge: {type: github, api: \"" +
      attacker.Url() + "\", repo: evil/envs, tokenFile: \"" + tmp.Sub("repo-token") +
      "\"}\n"
      "notify:\n"
      "  - {webhook: {url: \"" +
      attacker_hook.Url("/h") + "\", secretFile: \"" + tmp.Sub("repo-secret") +
      "\"}}\n"
      "  - {slack: {webhookFile: \"" +
      tmp.Sub("repo-slack") +
      "\"}}\n"
      "  - {target: audit}\n";
  // In the first commit: trusted as it lands (trust rule 1), so the keys it
  // carries are what the controller is tempted with.
  EnvRepoFixture f(std::map<std::string, std::optional<std::string>>{
      {"sluice.yaml", settings},
      {"environments/prod/environment.yaml",
       "approval:\n  required: 1\n  from: [release-managers]\n  evidence: forge\n"}});
  std::string commit = f.CommitAndPush(
      {{"environments/prod/apps/web.yaml", f.PinYaml(Digest('b'))}}, "prod: web, no review");

  OpenWatch watch({tmp.Sub("repo-token"), tmp.Sub("repo-secret"), tmp.Sub("repo-slack")});
  CommandOutput out = f.Sluice({"reconcile", "--once", "--format", "json", "--log-level", "warn",
                                "--config", tmp.Sub("controller.yaml")});
  ASSERT_EQ(out.exit_code, 0) << out.err << out.out;
  nlohmann::json report = nlohmann::json::parse(out.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out.out;
  EXPECT_NE(out.out.find("blocked"), std::string::npos) << out.out;
  EXPECT_TRUE(f.Deploys().empty());

  // The controller's forge was asked, with the controller's token; the one
  // sluice.yaml names was not.
  std::vector<std::string> asked = configured.Requests();
  ASSERT_FALSE(asked.empty()) << out.err;
  EXPECT_NE(asked[0].find("/repos/shop/envs/commits/"), std::string::npos) << asked[0];
  EXPECT_NE(asked[0].find(std::string("auth=Bearer ") + kForgeToken), std::string::npos);
  EXPECT_TRUE(attacker.Requests().empty());
  // Notifications went to the configured target only.
  ASSERT_TRUE(hook.WaitForRequests(1)) << out.err;
  EXPECT_TRUE(attacker_hook.Requests().empty());
  // No file the repository names was opened.
  std::vector<std::string> opened = watch.Opened();
  EXPECT_TRUE(opened.empty()) << opened.front();
  // The ignored keys are reported: in the log, and by validate with the fix.
  EXPECT_NE(out.err.find("sluice.yaml:4: forge: is ignored"), std::string::npos) << out.err;
  CommandOutput validate = f.Sluice({"validate", "--repo", f.work}, /*with_repo=*/false);
  EXPECT_EQ(validate.exit_code, 1) << validate.out << validate.err;
  EXPECT_NE(validate.out.find("sluice.yaml:4: forge: is ignored"), std::string::npos)
      << validate.out;
  EXPECT_NE(validate.out.find("sluice.yaml:6: notify[0]: webhook: is ignored"), std::string::npos)
      << validate.out;
  EXPECT_NE(validate.out.find("sluice.yaml:7: notify[1]: slack: is ignored"), std::string::npos)
      << validate.out;
  EXPECT_TRUE(watch.Opened().empty());
  // `sluice status` says so too (on stderr: its JSON keeps its shape).
  CommandOutput status = f.Sluice({"status", "--format", "json"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.err.find("warning: sluice.yaml:4: forge: is ignored"), std::string::npos)
      << status.err;
  EXPECT_FALSE(nlohmann::json::parse(status.out, nullptr, false).is_discarded()) << status.out;
  // With the controller's configuration, validate also checks the names.
  WriteFile(tmp.Sub("other.yaml"), "notify:\n  ops: {url: \"" + hook.Url("/h") + "\"}\n");
  CommandOutput names = f.Sluice({"validate", "--repo", f.work, "--config", tmp.Sub("other.yaml")},
                                 /*with_repo=*/false);
  EXPECT_NE(names.out.find("sluice.yaml:8: notify target 'audit' is not defined in " +
                           tmp.Sub("other.yaml")),
            std::string::npos)
      << names.out << names.err;
  CommandOutput known = f.Sluice(
      {"validate", "--repo", f.work, "--config", tmp.Sub("controller.yaml")}, /*with_repo=*/false);
  EXPECT_EQ(known.out.find("is not defined"), std::string::npos) << known.out;
  EXPECT_EQ(FindSecret(out.err + out.out), "");
  (void)commit;
}

// GET `path` on 127.0.0.1:`port`; status 0 when nothing answers.
net::HttpResponse Get(int port, const std::string& path) {
  net::CurlHttpClient http;
  net::HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + path;
  auto res = http.Send(req);
  return res.ok() ? *res : net::HttpResponse{};
}

TEST(SecretsTest, APasswordInTheRepoUrlIsNeverStoredOrShown) {
  TempDir tmp;
  std::string root = tmp.Sub("srv");
  fs::create_directories(root);
  std::string pin = "artifact:\n  image: r.example.com/api\n  digest: " + Digest('a') +
                    "\ndeploy:\n  adapter: exec\n  exec: {command: [touch, \"" + tmp.Sub("ran") +
                    "\"]}\n";
  MakeRepoWithFiles(root, "envs.git",
                    {{"sluice.yaml", "pipeline: [dev]\n"},
                     {"environments/dev/environment.yaml", "{}\n"},
                     {"environments/dev/apps/api.yaml", pin}});
  GitHttpServer http(root, /*auth_for_fetch=*/true);
  const std::string password = http.password();
  const std::string plain = http.Url("envs.git");  // http://127.0.0.1:P/git/envs.git
  std::string with_password = plain;
  with_password.insert(std::string("http://").size(), http.username() + ":" + password + "@");
  const std::string shown =
      "http://" + http.username() + "@" + plain.substr(std::string("http://").size());

  int port = FreePort();
  std::string log = tmp.Sub("controller.log");
  bp::child controller(std::string(SLUICE_BINARY), "controller", "--repo", with_password,
                       "--workdir", tmp.Sub("w"), "--interval", "1h", "--listen",
                       "127.0.0.1:" + std::to_string(port), "--log-level", "debug",
                       bp::std_out > bp::null, bp::std_err > log);
  ASSERT_TRUE(WaitForPort(port, 20000)) << ReadFile(log);
  WaitUntil([&] { return Get(port, "/readyz").status == 200; }, std::chrono::seconds(30),
            "the controller's first pass (/readyz 200)");
  net::HttpResponse ready = Get(port, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body << ReadFile(log) << http.ErrorLog();
  EXPECT_TRUE(fs::exists(tmp.Sub("ran"))) << ReadFile(log);  // the password was used

  std::string pid = std::to_string(controller.id());
  std::string shown_everywhere =
      ready.body + Get(port, "/api/v1/status").body + Get(port, "/metrics").body +
      Get(port, "/").body + ReadFile("/proc/" + pid + "/cmdline") +
      ReadFile("/proc/" + pid + "/environ") + ReadFile(tmp.Sub("w") + "/cache.git/config");
  if (fs::exists(tmp.Sub("w") + "/negotiate.git/config")) {
    shown_everywhere += ReadFile(tmp.Sub("w") + "/negotiate.git/config");
  }
  EXPECT_EQ(shown_everywhere.find(password), std::string::npos) << shown_everywhere;
  EXPECT_NE(ReadFile(tmp.Sub("w") + "/cache.git/config").find("url = " + shown), std::string::npos)
      << ReadFile(tmp.Sub("w") + "/cache.git/config");

  ::kill(controller.id(), SIGTERM);
  controller.wait();
  EXPECT_EQ(controller.exit_code(), 0);
  std::string logs = ReadFile(log);
  EXPECT_EQ(logs.find(password), std::string::npos) << logs;
  EXPECT_NE(logs.find(shown), std::string::npos) << logs;

  // The same credentials from the configuration (gitUsername,
  // gitPasswordFile) and a --repo without them.
  WriteFile(tmp.Sub("git-password"), password + "\n");
  WriteFile(tmp.Sub("c.yaml"), "gitUsername: " + http.username() + "\ngitPasswordFile: \"" +
                                   tmp.Sub("git-password") + "\"\n");
  CommandOutput configured =
      RunCommand({SLUICE_BINARY, "reconcile", "--once", "--repo", plain, "--workdir", tmp.Sub("w2"),
                  "--config", tmp.Sub("c.yaml"), "--log-level", "debug"});
  EXPECT_EQ(configured.exit_code, 0) << configured.err << http.ErrorLog();
  EXPECT_EQ((configured.out + configured.err).find(password), std::string::npos);

  // A wrong password in the URL: the error names the URL, never the password.
  std::string wrong = plain;
  wrong.insert(std::string("http://").size(), http.username() + ":Wrong-Url-Pass_77@");
  CommandOutput refused = RunCommand(
      {SLUICE_BINARY, "reconcile", "--once", "--repo", wrong, "--workdir", tmp.Sub("w3")});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_EQ((refused.out + refused.err).find("Wrong-Url-Pass_77"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("127.0.0.1"), std::string::npos) << refused.err;
}

// The owner of /proc/<pid>/environ: the process's user while it is dumpable,
// root once PR_SET_DUMPABLE is 0 (the kernel's task_dump_owner).
uid_t ProcOwner(pid_t pid) {
  struct stat st {};
  if (::stat(("/proc/" + std::to_string(pid) + "/environ").c_str(), &st) != 0) return -1;
  return st.st_uid;
}

TEST(SecretsTest, TheControllerIsNotDumpable) {
  // As root nothing is visible (root reads every process): run the
  // controller as nobody, as an operator would run it as its own user.
  ASSERT_EQ(::geteuid(), 0u) << "this test starts processes as another user";
  EnvRepoFixture f;
  std::string home = "/tmp/sluice-nodump-XXXXXX";
  ASSERT_NE(::mkdtemp(home.data()), nullptr);
  constexpr uid_t kNobody = 65534;
  ASSERT_EQ(::chown(home.c_str(), kNobody, kNobody), 0);
  const std::vector<std::string> as_nobody = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                              "--clear-groups", "--"};

  // A control: an ordinary process of that user is dumpable, its /proc
  // entries are its own.
  bp::child control(as_nobody[0], as_nobody[1], as_nobody[2], as_nobody[3], as_nobody[4],
                    "/bin/sleep", "30");
  // Until setpriv has exec'd sleep (between its setresuid and the exec it is
  // not dumpable either).
  WaitUntil(
      [&] {
        return ReadFile("/proc/" + std::to_string(control.id()) + "/cmdline")
                   .rfind("/bin/sleep", 0) == 0;
      },
      std::chrono::seconds(10), "setpriv to exec /bin/sleep");
  EXPECT_EQ(ProcOwner(control.id()), kNobody);
  ::kill(control.id(), SIGKILL);
  control.wait();

  std::string log = home + "/controller.log";
  // The environment through env(1), not bp::env[...]: Boost.Process 1.74's
  // lookup of an existing variable reads past shorter entries (ASan:
  // heap-buffer-overflow in basic_environment_impl::find).
  bp::child controller(
      as_nobody[0], as_nobody[1], as_nobody[2], as_nobody[3], as_nobody[4], "/usr/bin/env",
      "HOME=" + home, std::string("SLUICE_FORGE_TOKEN=") + kEnvForgeToken,
      std::string(SLUICE_BINARY), "controller", "--repo", f.url, "--workdir", home + "/w",
      "--interval", "1h", "--log-level", "info", bp::std_out > bp::null, bp::std_err > log);
  // Stops early if the controller exits: the assertion below then says why.
  WaitUntil(
      [&] {
        return ReadFile(log).find("controller watching") != std::string::npos ||
               !controller.running();
      },
      std::chrono::seconds(30), "\"controller watching\" in the log");
  ASSERT_NE(ReadFile(log).find("controller watching"), std::string::npos) << ReadFile(log);
  const pid_t pid = controller.id();
  std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  EXPECT_NE(status.find("Uid:\t65534"), std::string::npos) << status;
  // Not dumpable: its /proc entries belong to root, and its own user cannot
  // read its environment or memory.
  EXPECT_EQ(ProcOwner(pid), 0u);
  std::vector<std::string> cat = as_nobody;
  cat.insert(cat.end(), {"/bin/cat", "/proc/" + std::to_string(pid) + "/environ"});
  CommandOutput read = RunCommand(cat);
  EXPECT_NE(read.exit_code, 0) << read.out;
  EXPECT_NE(read.err.find("Permission denied"), std::string::npos) << read.err;
  EXPECT_EQ(read.out.find(kEnvForgeToken), std::string::npos);

  ::kill(pid, SIGTERM);
  controller.wait();
  EXPECT_EQ(controller.exit_code(), 0) << ReadFile(log);
  std::error_code ec;
  fs::remove_all(home, ec);
}

}  // namespace
}  // namespace sluice::testing
