// Micro-benchmarks of the pieces one controller pass is made of: parsing a
// pin, writing and reading event lines, the tree diff that finds changed pins,
// and listing a directory of 10,000 pins. Whole-process numbers against plain
// git are in bench/run.sh; docs/performance.md has both.
//
//   build/bench/sluice_micro_bench [--benchmark_filter=DiffTrees]

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/pin.h"
#include "engine/event.h"
#include "git/repo.h"

namespace {

using sluice::config::Diagnostics;
using sluice::config::ParsePin;
using sluice::engine::Event;
using sluice::engine::EventKind;
using sluice::git::FileChanges;
using sluice::git::Person;
using sluice::git::Repository;

constexpr int kApps = 10000;

std::string Digest(int seed) {
  char buf[65];
  unsigned x = 2166136261u ^ static_cast<unsigned>(seed);
  for (int i = 0; i < 64; ++i) {
    x = x * 1664525u + 1013904223u;
    buf[i] = "0123456789abcdef"[(x >> 24) & 15];
  }
  buf[64] = '\0';
  return std::string("sha256:") + buf;
}

std::string AppName(int i) {
  char buf[16];
  snprintf(buf, sizeof buf, "app-%05d", i);
  return buf;
}

// The pin bench/generate.sh writes.
std::string PinText(int app, int version) {
  return "artifact:\n  image: registry.example.com/bench/" + AppName(app) + "\n  digest: " +
         Digest(app * 100003 + version) + "\n  version: 1.0." + std::to_string(version) +
         "\ndeploy:\n  adapter: exec\n  exec: { command: [true], timeout: 1m }\n";
}

void BM_ParsePin(benchmark::State& state) {
  const std::string text = PinText(7, 1);
  const std::string path = "environments/e00/apps/app-00007.yaml";
  for (auto _ : state) {
    Diagnostics diags;
    auto pin = ParsePin(text, path, diags);
    if (!pin) state.SkipWithError("pin does not parse");
    benchmark::DoNotOptimize(pin);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParsePin);

Event SampleEvent(int i) {
  Event e;
  e.time = std::chrono::system_clock::now();
  e.env = "e00";
  e.app = AppName(i);
  e.kind = EventKind::kApplied;
  e.digest = Digest(i);
  e.version = "1.0." + std::to_string(i);
  e.commit = std::string(40, 'a');
  e.gates = {{"digest", "pass", "sha256:389f24105bf8… is an immutable digest"}};
  e.adapter = sluice::engine::AdapterRecord{"exec", 0, 3};
  e.reason = "exit 0 in 0.0s";
  e.controller_id = "bench-1";
  e.controller_version = "0.1.0";
  return e;
}

void BM_EventToJsonLine(benchmark::State& state) {
  const Event e = SampleEvent(1);
  for (auto _ : state) benchmark::DoNotOptimize(sluice::engine::EventToJsonLine(e));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventToJsonLine);

// A note of state.range(0) event lines (an app waiting through many passes
// writes one line per distinct verdict).
void BM_ParseNote(benchmark::State& state) {
  std::string note;
  for (int i = 0; i < state.range(0); ++i) note += sluice::engine::EventToJsonLine(SampleEvent(i)) + "\n";
  for (auto _ : state) benchmark::DoNotOptimize(sluice::engine::ParseNote(note));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(note.size()));
}
BENCHMARK(BM_ParseNote)->Arg(3)->Arg(100);

// A repository with 10 environments x 1,000 pins, plus a base commit, a commit
// changing 1 pin and one changing 100 pins (spread over the environments),
// and a directory holding all 10,000 pins for ListDir.
class Fixture {
 public:
  static Fixture& Get() {
    static Fixture f;
    return f;
  }
  Repository& repo() { return *repo_; }
  std::string base, one, hundred, flat;

 private:
  Fixture() {
    char tmpl[] = "/tmp/sluice-micro-bench.XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto r = Repository::Init(dir_ + "/repo.git", /*bare=*/true);
    if (!r.ok()) Die(r.status().ToString());
    repo_ = std::move(*r);
    Person who{"Bench", "bench@example.com", {}};
    FileChanges all;
    all["sluice.yaml"] = "pipeline: [e00]\n";
    for (int i = 0; i < kApps; ++i) {
      all["environments/e" + std::to_string(i % 10) + "/apps/" + AppName(i) + ".yaml"] =
          PinText(i, 0);
    }
    base = Commit("", all, who);
    one = Commit(base, {{"environments/e3/apps/" + AppName(3) + ".yaml", PinText(3, 1)}}, who);
    FileChanges many;
    for (int i = 0; i < 100; ++i) {
      int app = i * 97 % kApps;
      many["environments/e" + std::to_string(app % 10) + "/apps/" + AppName(app) + ".yaml"] =
          PinText(app, 1);
    }
    hundred = Commit(base, many, who);
    FileChanges flat_files;
    for (int i = 0; i < kApps; ++i) flat_files["flat/apps/" + AppName(i) + ".yaml"] = PinText(i, 0);
    flat = Commit("", flat_files, who);
  }
  ~Fixture() {
    repo_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Commit(const std::string& parent, const FileChanges& files, const Person& who) {
    auto id = repo_->CreateCommit(parent, files, "bench", who, who);
    if (!id.ok()) Die(id.status().ToString());
    return *id;
  }
  [[noreturn]] static void Die(const std::string& why) {
    fprintf(stderr, "micro_bench fixture: %s\n", why.c_str());
    std::exit(1);
  }
  sluice::git::LibGit2 libgit2_;
  std::string dir_;
  std::unique_ptr<Repository> repo_;
};

// What Reconciler::ChangedApps does for one environment: the diff under its
// apps directory between the deployed commit and the head.
void BM_DiffTrees_OneEnv(benchmark::State& state, bool hundred) {
  Fixture& f = Fixture::Get();
  const std::string& to = hundred ? f.hundred : f.one;
  size_t changed = 0;
  for (auto _ : state) {
    auto diff = f.repo().DiffTrees(f.base, to, "environments/e3/apps/");
    if (!diff.ok()) state.SkipWithError(diff.status().ToString().c_str());
    changed = diff->size();
  }
  state.counters["changed"] = static_cast<double>(changed);
}
BENCHMARK_CAPTURE(BM_DiffTrees_OneEnv, 1_of_10000, false);
BENCHMARK_CAPTURE(BM_DiffTrees_OneEnv, 100_of_10000, true);

// The whole repository at once.
void BM_DiffTrees_All(benchmark::State& state, bool hundred) {
  Fixture& f = Fixture::Get();
  const std::string& to = hundred ? f.hundred : f.one;
  size_t changed = 0;
  for (auto _ : state) {
    auto diff = f.repo().DiffTrees(f.base, to, "");
    if (!diff.ok()) state.SkipWithError(diff.status().ToString().c_str());
    changed = diff->size();
  }
  state.counters["changed"] = static_cast<double>(changed);
}
BENCHMARK_CAPTURE(BM_DiffTrees_All, 1_of_10000, false);
BENCHMARK_CAPTURE(BM_DiffTrees_All, 100_of_10000, true);

void BM_ListDir_1000(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  for (auto _ : state) {
    auto names = f.repo().ListDir(f.base, "environments/e3/apps");
    if (!names.ok() || names->size() != 1000) state.SkipWithError("ListDir");
    benchmark::DoNotOptimize(names);
  }
}
BENCHMARK(BM_ListDir_1000);

void BM_ListDir_10000(benchmark::State& state) {
  Fixture& f = Fixture::Get();
  for (auto _ : state) {
    auto names = f.repo().ListDir(f.flat, "flat/apps");
    if (!names.ok() || names->size() != kApps) state.SkipWithError("ListDir");
    benchmark::DoNotOptimize(names);
  }
  state.SetItemsProcessed(state.iterations() * kApps);
}
BENCHMARK(BM_ListDir_10000);

}  // namespace

BENCHMARK_MAIN();
