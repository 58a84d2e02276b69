#include "process/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/cancel.h"
#include "core/secrets.h"
#include "support/stop_child.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace sluice::process {
namespace {

using testing::IsAlive;

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

std::map<std::string, std::string> MinimalEnv() { return {{"PATH", "/usr/bin:/bin"}}; }

ProcessSpec Shell(const std::string& script) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = MinimalEnv();
  spec.timeout = seconds(30);
  return spec;
}

// Collects streamed lines; safe to call from the runner's thread while the
// test thread reads after Run() returned.
struct LineLog {
  std::mutex mu;
  std::vector<std::pair<std::string, bool>> lines;
  LineSink Sink() {
    return [this](std::string_view line, bool is_stderr) {
      std::lock_guard lock(mu);
      lines.emplace_back(std::string(line), is_stderr);
    };
  }
  std::vector<std::string> Stream(bool is_stderr) {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    for (const auto& [line, err] : lines) {
      if (err == is_stderr) out.push_back(line);
    }
    return out;
  }
};

TEST(BoostCommandRunnerTest, ReportsExitCodes) {
  BoostCommandRunner runner;
  for (int code : {0, 1, 3, 42}) {
    Result<ProcessResult> r = runner.Run(Shell("exit " + std::to_string(code)), nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->exit_code, code);
    EXPECT_FALSE(r->timed_out);
    EXPECT_FALSE(r->cancelled);
  }
}

TEST(BoostCommandRunnerTest, KilledBySignalIs128PlusSignal) {
  BoostCommandRunner runner;
  Result<ProcessResult> r = runner.Run(Shell("kill -9 $$"), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(BoostCommandRunnerTest, CapturesAndStreamsLinesInOrder) {
  BoostCommandRunner runner;
  LineLog log;
  ProcessSpec spec =
      Shell("echo one; echo err-one >&2; echo two; echo err-two >&2; echo three; printf partial");
  spec.on_line = log.Sink();
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_tail, "one\ntwo\nthree\npartial");
  EXPECT_EQ(r->stderr_tail, "err-one\nerr-two\n");
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_FALSE(r->stderr_truncated);
  EXPECT_THAT(log.Stream(false), ElementsAre("one", "two", "three", "partial"));
  EXPECT_THAT(log.Stream(true), ElementsAre("err-one", "err-two"));
}

TEST(BoostCommandRunnerTest, StreamsLinesBeforeTheChildExits) {
  // The child waits for a file the sink creates on the first line: the line
  // must arrive while the child is still running.
  testing::TempDir dir;
  std::string flag = dir.Sub("seen");
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("echo first; while [ ! -e \"$1\" ]; do sleep 0.01; done; echo second");
  spec.argv.push_back("sh");
  spec.argv.push_back(flag);
  spec.timeout = seconds(20);
  std::vector<std::string> lines;
  spec.on_line = [&](std::string_view line, bool) {
    lines.emplace_back(line);
    if (line == "first") testing::WriteFile(flag, "");
  };
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_THAT(lines, ElementsAre("first", "second"));
}

TEST(BoostCommandRunnerTest, DeliversStdin) {
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"/bin/cat"};
  spec.env = MinimalEnv();
  spec.stdin_data = "hello\nworld\n";
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_tail, "hello\nworld\n");
}

TEST(BoostCommandRunnerTest, LargeStdinAndOutputDoNotDeadlock) {
  // cat writes back everything while we are still writing its input: both
  // directions must progress at once.
  std::string input;
  for (int i = 0; i < 200000; ++i) input += "line " + std::to_string(i) + "\n";
  ASSERT_GT(input.size(), 2u * 1024 * 1024);
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"/bin/cat"};
  spec.env = MinimalEnv();
  spec.stdin_data = input;
  spec.output_cap = 1000;
  spec.timeout = seconds(60);
  size_t streamed = 0;
  spec.on_line = [&](std::string_view, bool) { ++streamed; };
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(streamed, 200000u);
  EXPECT_EQ(r->stdout_tail, input.substr(input.size() - 1000));
  EXPECT_TRUE(r->stdout_truncated);
}

TEST(BoostCommandRunnerTest, ChildThatIgnoresStdinDoesNotHurtTheRunner) {
  // The child exits without reading: the write fails with EPIPE (SIGPIPE
  // must not kill the test process).
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("exec 0<&-; echo done");
  spec.stdin_data = std::string(1024 * 1024, 'x');
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_tail, "done\n");
}

TEST(BoostCommandRunnerTest, EnvironmentIsExactlyTheSpec) {
  ASSERT_EQ(::setenv("SLUICE_TEST_PARENT_ONLY", "leaked", 1), 0);
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  spec.env = {{"PATH", "/usr/bin:/bin"}, {"GREETING", "hello world"}, {"EQ", "a=b"}};
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ::unsetenv("SLUICE_TEST_PARENT_ONLY");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::string> lines;
  std::string text = r->stdout_tail;
  for (size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    lines.push_back(text.substr(pos, nl - pos));
  }
  EXPECT_THAT(lines, UnorderedElementsAre("PATH=/usr/bin:/bin", "GREETING=hello world", "EQ=a=b"));
}

TEST(BoostCommandRunnerTest, EmptyEnvironmentIsEmpty) {
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env"};
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_tail, "");
}

TEST(BoostCommandRunnerTest, ArgumentsArriveLiterallyWithoutAShell) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("file-a"), "");
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"printf", "[%s]\\n", "a b", "\"quoted\" 'single'", "x; touch pwned", "$(id)", "`id`",
               "*",      "$HOME",   "",    "back\\slash"};
  spec.env = MinimalEnv();
  spec.cwd = dir.path();
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_tail,
            "[a b]\n[\"quoted\" 'single']\n[x; touch pwned]\n[$(id)]\n[`id`]\n[*]\n[$HOME]\n[]\n"
            "[back\\slash]\n");
  EXPECT_FALSE(std::ifstream(dir.Sub("pwned")).good());
}

TEST(BoostCommandRunnerTest, KeepsArgvZeroAsGiven) {
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("echo \"$0\"");
  spec.argv.push_back("custom-name");
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_tail, "custom-name\n");
}

TEST(BoostCommandRunnerTest, RunsInTheGivenDirectory) {
  testing::TempDir dir;
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"pwd"};
  spec.env = MinimalEnv();
  spec.cwd = dir.path();
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_tail, dir.path() + "\n");
}

TEST(BoostCommandRunnerTest, MissingWorkingDirectoryIsNotFound) {
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"/bin/true"};
  spec.cwd = "/nonexistent/sluice-dir";
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/sluice-dir"));
}

TEST(BoostCommandRunnerTest, ProgramNotOnPathIsNotFound) {
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"sluice-no-such-program"};
  spec.env = MinimalEnv();
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("sluice-no-such-program"));
}

TEST(BoostCommandRunnerTest, ProgramIsLookedUpOnTheSpecPathNotOurs) {
  // "sh" exists on our PATH, but the child's PATH is empty.
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "true"};
  spec.env = {{"PATH", ""}};
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
}

TEST(BoostCommandRunnerTest, MissingAbsoluteProgramIsNotFound) {
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"/nonexistent/bin/tool", "x"};
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/bin/tool"));
}

TEST(BoostCommandRunnerTest, FileThatCannotBeExecutedIsNotFound) {
  // Executable bit set, but not a valid executable and no #! line: execve
  // fails with ENOEXEC after the fork.
  testing::TempDir dir;
  std::string path = dir.Sub("garbage");
  testing::WriteFile(path, std::string("\x7f"
                                       "ELF garbage",
                                       12));
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {path};
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr(path));
}

TEST(BoostCommandRunnerTest, EmptyArgvIsInvalid) {
  BoostCommandRunner runner;
  Result<ProcessResult> r = runner.Run(ProcessSpec{}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(BoostCommandRunnerTest, TimeoutKillsChildAndGrandchild) {
  testing::TempDir dir;
  std::string pid_file = dir.Sub("grandchild.pid");
  BoostCommandRunner runner;
  // The grandchild writes its own pid (the file is complete before the
  // child starts waiting), then both hang.
  ProcessSpec spec = Shell("sleep 1000 & echo $! > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; wait");
  spec.argv.push_back("sh");
  spec.argv.push_back(pid_file);
  spec.timeout = seconds(1);
  spec.kill_grace = seconds(5);
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->cancelled);
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
  EXPECT_LT(r->duration, seconds(5));
  pid_t grandchild = std::atoi(testing::ReadFile(pid_file).c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(IsAlive(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST(BoostCommandRunnerTest, TimeoutEscalatesToSigkillAfterGrace) {
  testing::TempDir dir;
  std::string pid_file = dir.Sub("grandchild.pid");
  BoostCommandRunner runner;
  // Both the child and its grandchild ignore SIGTERM (an ignored signal
  // stays ignored across exec).
  ProcessSpec spec = Shell(
      "trap '' TERM; sleep 1000 & echo $! > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; "
      "while :; do sleep 1; done");
  spec.argv.push_back("sh");
  spec.argv.push_back(pid_file);
  spec.timeout = seconds(1);
  spec.kill_grace = milliseconds(200);
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
  EXPECT_LT(r->duration, seconds(5));
  pid_t grandchild = std::atoi(testing::ReadFile(pid_file).c_str());
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(IsAlive(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST(BoostCommandRunnerTest, LeftoverBackgroundProcessesAreKilledWhenChildExits) {
  testing::TempDir dir;
  std::string pid_file = dir.Sub("bg.pid");
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("sleep 1000 >/dev/null 2>&1 & echo $! > \"$1\"; echo started");
  spec.argv.push_back("sh");
  spec.argv.push_back(pid_file);
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_tail, "started\n");
  pid_t bg = std::atoi(testing::ReadFile(pid_file).c_str());
  ASSERT_GT(bg, 0);
  EXPECT_FALSE(IsAlive(bg));
}

// Our own children named `comm` that are still alive (the runner's
// process-group guards are "sluice-guard").
int LiveChildrenNamed(const std::string& comm) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) {
      continue;
    }
    long ppid = 0;
    std::istringstream rest(line.substr(close + 3));
    rest >> ppid;
    if (ppid == ::getpid() && line.substr(open + 1, close - open - 1) == comm &&
        IsAlive(std::stoi(name))) {
      ++found;
    }
  }
  return found;
}

TEST(BoostCommandRunnerTest, AChildAndItsChildrenDieWhenTheControllerIsKilled) {
  // kill -9 of the controller (here a forked copy of this test running the
  // child on a worker thread, as the reconciler does): the child dies by
  // its death signal, the grandchild in its group by the group's guard, so
  // no adapter of a dead replica runs beside the new owner's recovery.
  testing::TempDir dir;
  const std::string pids = dir.Sub("pids");
  pid_t controller = ::fork();
  ASSERT_NE(controller, -1);
  if (controller == 0) {
    std::thread worker([&] {
      BoostCommandRunner runner;
      ProcessSpec spec =
          Shell("sleep 1000 & echo \"$$ $!\" > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; wait");
      spec.argv.push_back("sh");
      spec.argv.push_back(pids);
      spec.timeout = seconds(600);
      (void)runner.Run(spec, nullptr);
    });
    worker.join();
    ::_exit(0);
  }
  ASSERT_TRUE(testing::WaitUntil([&] { return ::access(pids.c_str(), F_OK) == 0; }, seconds(30),
                                 "the child's pid file"));
  pid_t child = 0, grandchild = 0;
  std::istringstream(testing::ReadFile(pids)) >> child >> grandchild;
  ASSERT_GT(child, 0);
  ASSERT_GT(grandchild, 0);
  ASSERT_TRUE(IsAlive(child));
  ASSERT_TRUE(IsAlive(grandchild));
  ::kill(controller, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(controller, &status, 0), controller);
  EXPECT_TRUE(testing::WaitUntil([&] { return !IsAlive(child); }, seconds(10),
                                 "the child to die with its controller"));
  EXPECT_TRUE(testing::WaitUntil([&] { return !IsAlive(grandchild); }, seconds(10),
                                 "the grandchild to die with its controller"));
}

TEST(BoostCommandRunnerTest, AChildLivesAsLongAsItsRunNotAsTheThreadThatStartedTheRunner) {
  // The death signal follows the thread that forked: Run()'s own, blocked
  // until the child is gone. A thread that started the worker and ended
  // meanwhile (as a pass's thread may) takes nothing with it.
  testing::TempDir dir;
  const std::string pid_file = dir.Sub("pid"), go = dir.Sub("go");
  BoostCommandRunner runner;
  std::optional<Result<ProcessResult>> result;
  std::thread worker;
  std::thread outer([&] {
    worker = std::thread([&] {
      ProcessSpec spec = Shell(
          "echo $$ > \"$1.tmp\"; mv \"$1.tmp\" \"$1\"; "
          "while [ ! -e \"$2\" ]; do sleep 0.01; done; echo finished");
      spec.argv.push_back("sh");
      spec.argv.push_back(pid_file);
      spec.argv.push_back(go);
      result = runner.Run(spec, nullptr);
    });
    testing::WaitUntil([&] { return ::access(pid_file.c_str(), F_OK) == 0; }, seconds(30),
                       "the child's pid file");
  });
  outer.join();  // the thread that started the worker is gone
  pid_t child = std::atoi(testing::ReadFile(pid_file).c_str());
  ASSERT_GT(child, 0);
  testing::WriteFile(go, "");
  worker.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->ok()) << result->status().ToString();
  EXPECT_EQ((*result)->exit_code, 0);
  EXPECT_EQ((*result)->stdout_tail, "finished\n");
}

// One guard serves every run of the process (a forked copy of the
// controller per run made the controller copy each page it wrote): runs one
// after the other, and side by side, share it, and it watches a group only
// while its run lasts (a later run's group is not killed by an earlier one's
// watch).
TEST(BoostCommandRunnerTest, OneGuardServesEveryRunAndLetsGoOfAGroupWhenItsRunEnds) {
  BoostCommandRunner runner;
  int guards_while_running = -1;
  ProcessSpec spec = Shell("echo ok");
  spec.on_line = [&](std::string_view, bool) {
    // The guard names itself right after its fork: look until it has.
    testing::PollUntil([] { return LiveChildrenNamed("sluice-guard") > 0; }, seconds(5));
    guards_while_running = LiveChildrenNamed("sluice-guard");
  };
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(guards_while_running, 1);
  ProcessSpec slow = Shell("sleep 1000");
  slow.timeout = milliseconds(100);
  slow.kill_grace = milliseconds(100);
  r = runner.Run(slow, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  std::vector<std::thread> side_by_side;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    side_by_side.emplace_back([&] {
      Result<ProcessResult> each = runner.Run(Shell("sleep 0.05; echo done"), nullptr);
      if (each.ok() && each->exit_code == 0 && each->stdout_tail == "done\n") ++ok;
    });
  }
  for (auto& t : side_by_side) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(LiveChildrenNamed("sluice-guard"), 1);
}

TEST(BoostCommandRunnerTest, GrandchildHoldingThePipeDoesNotBlockTheResult) {
  // The background process inherits stdout; the runner must not wait for
  // the pipe to close.
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("sleep 1000 & echo done");
  spec.timeout = seconds(30);
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->stdout_tail, "done\n");
  EXPECT_LT(r->duration, seconds(10));
}

TEST(BoostCommandRunnerTest, CancellationFromAnotherThreadStopsTheChild) {
  BoostCommandRunner runner;
  CancelToken token;
  std::promise<void> started;
  std::future<void> started_future = started.get_future();
  std::thread canceller([&] {
    started_future.wait();
    token.Cancel();
  });
  ProcessSpec spec = Shell("echo ready; sleep 1000");
  spec.timeout = seconds(120);
  spec.kill_grace = seconds(5);
  bool signalled = false;
  spec.on_line = [&](std::string_view line, bool) {
    if (line == "ready" && !signalled) {
      signalled = true;
      started.set_value();
    }
  };
  Result<ProcessResult> r = runner.Run(spec, &token);
  canceller.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->cancelled);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
  EXPECT_LT(r->duration, seconds(5));
}

TEST(BoostCommandRunnerTest, AlreadyCancelledTokenStopsAtOnce) {
  BoostCommandRunner runner;
  CancelToken token;
  token.Cancel();
  ProcessSpec spec = Shell("sleep 1000");
  spec.timeout = seconds(120);
  Result<ProcessResult> r = runner.Run(spec, &token);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->cancelled);
  EXPECT_LT(r->duration, seconds(5));
}

TEST(BoostCommandRunnerTest, OutputBeyondCapKeepsTheTail) {
  BoostCommandRunner runner;
  ProcessSpec spec;
  spec.argv = {"seq", "1", "100000"};
  spec.env = MinimalEnv();
  spec.output_cap = 1000;
  size_t streamed = 0;
  std::string last;
  spec.on_line = [&](std::string_view line, bool) {
    ++streamed;
    last = line;
  };
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_FALSE(r->stderr_truncated);
  EXPECT_EQ(r->stdout_tail.size(), 1000u);
  EXPECT_THAT(r->stdout_tail, ::testing::EndsWith("99999\n100000\n"));
  EXPECT_EQ(streamed, 100000u);
  EXPECT_EQ(last, "100000");
}

TEST(BoostCommandRunnerTest, VeryLongLineIsStreamedInPieces) {
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("head -c 300000 /dev/zero | tr '\\0' a; echo; echo end");
  size_t pieces = 0, total = 0;
  spec.on_line = [&](std::string_view line, bool) {
    ++pieces;
    total += line.size();
  };
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(pieces, 3u);
  EXPECT_EQ(total, 300000u + 3u);
  EXPECT_THAT(r->stdout_tail, ::testing::EndsWith("aaa\nend\n"));
}

TEST(BoostCommandRunnerTest, SecretsNeverReachResultOrStream) {
  BoostCommandRunner runner;
  LineLog log;
  ProcessSpec spec = Shell(
      "echo \"token=$API_TOKEN\"; echo \"pw=hunter2-password\" >&2; "
      "printf '%s\\n' \"$DEPLOY_KEY\"; echo \"short=$SHORT_TOKEN\"");
  spec.env["API_TOKEN"] = "tok-1234567890";
  spec.env["DEPLOY_KEY"] = "-----BEGIN KEY-----\nline-one-of-key\n-----END KEY-----";
  spec.env["SHORT_TOKEN"] = "abc";  // Too short to redact without noise.
  spec.secrets = {"hunter2-password"};
  spec.on_line = log.Sink();
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const std::string& secret : {std::string("tok-1234567890"), std::string("hunter2-password"),
                                    std::string("line-one-of-key")}) {
    EXPECT_THAT(r->stdout_tail, Not(HasSubstr(secret)));
    EXPECT_THAT(r->stderr_tail, Not(HasSubstr(secret)));
    for (const auto& [line, is_stderr] : log.lines) EXPECT_THAT(line, Not(HasSubstr(secret)));
  }
  EXPECT_THAT(r->stdout_tail, HasSubstr("token=***"));
  EXPECT_THAT(r->stderr_tail, HasSubstr("pw=***"));
  EXPECT_THAT(r->stdout_tail, HasSubstr("short=abc"));
}

TEST(BoostCommandRunnerTest, ConcurrentRunsAreIndependent) {
  BoostCommandRunner runner;
  constexpr int kRuns = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> outputs(kRuns);
  std::vector<int> codes(kRuns, -1);
  std::atomic<int> failures{0};
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      ProcessSpec spec = Shell("for n in 1 2 3 4 5; do echo \"$ID-$n\"; done; cat; exit $CODE");
      spec.env["ID"] = "run" + std::to_string(i);
      spec.env["CODE"] = std::to_string(i);
      spec.stdin_data = "in" + std::to_string(i) + "\n";
      Result<ProcessResult> r = runner.Run(spec, nullptr);
      if (!r.ok()) {
        ++failures;
        return;
      }
      outputs[i] = r->stdout_tail;
      codes[i] = r->exit_code;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < kRuns; ++i) {
    std::string id = "run" + std::to_string(i);
    EXPECT_EQ(outputs[i], id + "-1\n" + id + "-2\n" + id + "-3\n" + id + "-4\n" + id + "-5\nin" +
                              std::to_string(i) + "\n");
    EXPECT_EQ(codes[i], i);
  }
}

TEST(BoostCommandRunnerTest, ExceptionFromSinkStillReapsTheChild) {
  testing::TempDir dir;
  std::string pid_file = dir.Sub("child.pid");
  BoostCommandRunner runner;
  ProcessSpec spec = Shell("echo $$ > \"$1\"; echo boom; sleep 1000");
  spec.argv.push_back("sh");
  spec.argv.push_back(pid_file);
  spec.on_line = [](std::string_view, bool) { throw std::runtime_error("sink failed"); };
  Result<ProcessResult> r = runner.Run(spec, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("sink failed"));
  pid_t child = std::atoi(testing::ReadFile(pid_file).c_str());
  ASSERT_GT(child, 0);
  // Reaped: not even a zombie of ours is left.
  EXPECT_EQ(::kill(child, 0), -1);
}

TEST(RedactTest, ReplacesEverySecretOccurrence) {
  EXPECT_EQ(Redact("a s3cret b s3cret", {"s3cret"}), "a *** b ***");
  EXPECT_EQ(Redact("no secrets here", {"s3cret"}), "no secrets here");
}

TEST(RedactTest, IgnoresShortAndEmptySecrets) {
  EXPECT_EQ(Redact("abc and a", {"", "a", "abc"}), "abc and a");
}

// SPEC 1.3 rule 5: the controller's own secrets (registered in core/secrets.h)
// are redacted from a child's output even though the child was never given
// them — a script may find them elsewhere and print them.
TEST(BoostCommandRunnerTest, RedactsTheProcessRegisteredSecrets) {
  RegisterSecret("Registered-Forge-Token-42");
  LineLog log;
  ProcessSpec spec =
      Shell("echo token=Registered-Forge-Token-42; echo Registered-Forge-Token-42 >&2");
  spec.on_line = log.Sink();
  BoostCommandRunner runner;
  auto r = runner.Run(spec, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stdout_tail, "token=***\n");
  EXPECT_EQ(r->stderr_tail, "***\n");
  EXPECT_THAT(log.Stream(false), ElementsAre("token=***"));
}

TEST(RedactTest, LongerSecretWinsOverItsPrefix) {
  EXPECT_EQ(Redact("pass-word-long", {"pass", "pass-word-long"}), "***");
}

TEST(SecretsFromEnvironmentTest, TakesCredentialLikeNames) {
  std::map<std::string, std::string> env = {{"GITHUB_TOKEN", "ghp_abcdef"},
                                            {"DB_PASSWORD", "pa55word"},
                                            {"AWS_SECRET_ACCESS_KEY", "aws-key"},
                                            {"APP_SECRET", "app-secret"},
                                            {"PATH", "/usr/bin"},
                                            {"TOKEN_COUNT", "12345"},
                                            {"SHORT_KEY", "ab"}};
  EXPECT_THAT(SecretsFromEnvironment(env),
              UnorderedElementsAre("ghp_abcdef", "pa55word", "aws-key", "app-secret"));
}

TEST(FindOnPathTest, FindsExecutablesAndSkipsOthers) {
  testing::TempDir dir;
  testing::WriteFile(dir.Sub("a/tool"), "not executable");
  testing::WriteFile(dir.Sub("b/tool"), "#!/bin/sh\n");
  ASSERT_EQ(::chmod(dir.Sub("b/tool").c_str(), 0755), 0);
  Result<std::string> found = FindOnPath("tool", dir.Sub("a") + "::relative:" + dir.Sub("b"));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, dir.Sub("b/tool"));
  Result<std::string> missing = FindOnPath("tool", dir.Sub("a"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_THAT(missing.status().message(), HasSubstr("tool"));
}

TEST(BaseEnvironmentTest, TakesOnlyTheListedVariables) {
  ASSERT_EQ(::setenv("SLUICE_TEST_NOT_BASE", "x", 1), 0);
  std::map<std::string, std::string> env = BaseEnvironment();
  ::unsetenv("SLUICE_TEST_NOT_BASE");
  EXPECT_EQ(env.count("SLUICE_TEST_NOT_BASE"), 0u);
  if (const char* path = std::getenv("PATH")) {
    EXPECT_EQ(env["PATH"], path);
  }
}

}  // namespace
}  // namespace sluice::process

namespace sluice::process {
namespace {

TEST(BaseEnvironmentTest, PassesOnlyTheVariablesNamedInSluicePassEnv) {
  ASSERT_EQ(::setenv("SLUICE_TEST_KUBECONFIG", "/etc/kube/config", 1), 0);
  ASSERT_EQ(::setenv("SLUICE_TEST_OTHER", "hidden", 1), 0);
  ASSERT_EQ(::setenv("SLUICE_PASS_ENV", "SLUICE_TEST_KUBECONFIG,,SLUICE_TEST_ABSENT", 1), 0);
  std::map<std::string, std::string> env = BaseEnvironment();
  ::unsetenv("SLUICE_PASS_ENV");
  ::unsetenv("SLUICE_TEST_KUBECONFIG");
  ::unsetenv("SLUICE_TEST_OTHER");
  EXPECT_EQ(env["SLUICE_TEST_KUBECONFIG"], "/etc/kube/config");
  EXPECT_EQ(env.count("SLUICE_TEST_OTHER"), 0u);
  EXPECT_EQ(env.count("SLUICE_TEST_ABSENT"), 0u);
  EXPECT_EQ(env.count("SLUICE_PASS_ENV"), 0u);
}

}  // namespace
}  // namespace sluice::process
