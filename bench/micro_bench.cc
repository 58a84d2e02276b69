// Micro-benchmarks of the pieces one controller pass is made of: parsing a
// pin, writing and reading event lines, the tree diff that finds changed pins,
// listing a directory of 10,000 pins, and gathering gate evidence (scan
// reports, registry) for 1,000 waiting pins with and without the evidence
// caches. Whole-process numbers against plain
// git are in bench/run.sh; docs/performance.md has both.
//
//   build/bench/sluice_micro_bench [--benchmark_filter=DiffTrees]

#include <benchmark/benchmark.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/pin.h"
#include "config/policy.h"
#include "core/clock.h"
#include "crypto/ssh_key.h"
#include "engine/evidence_gatherer.h"
#include "evidence/registry.h"
#include "git/repo.h"
#include "net/http_client.h"
#include "process/runner.h"
#include "record/event.h"
#include "record/trust.h"
#include "record/workspace.h"

namespace {

using sluice::config::Diagnostics;
using sluice::config::ParsePin;
using sluice::git::FileChanges;
using sluice::git::Person;
using sluice::git::Repository;
using sluice::record::Event;
using sluice::record::EventKind;

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
  return "artifact:\n  image: registry.example.com/bench/" + AppName(app) +
         "\n  digest: " + Digest(app * 100003 + version) + "\n  version: 1.0." +
         std::to_string(version) +
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
  e.adapter = sluice::record::AdapterRecord{"exec", 0, 3};
  e.reason = "exit 0 in 0.0s";
  e.controller_id = "bench-1";
  e.controller_version = "0.1.0";
  return e;
}

void BM_EventToJsonLine(benchmark::State& state) {
  const Event e = SampleEvent(1);
  for (auto _ : state) benchmark::DoNotOptimize(sluice::record::EventToJsonLine(e));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventToJsonLine);

// A note of state.range(0) event lines (an app waiting through many passes
// writes one line per distinct verdict).
void BM_ParseNote(benchmark::State& state) {
  std::string note;
  for (int i = 0; i < state.range(0); ++i)
    note += sluice::record::EventToJsonLine(SampleEvent(i)) + "\n";
  for (auto _ : state) benchmark::DoNotOptimize(sluice::record::ParseNote(note));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(note.size()));
}
BENCHMARK(BM_ParseNote)->Arg(3)->Arg(100);

// The signed record (SPEC 1.3 rule 4): what one event costs the writer
// (serialise + Ed25519 SSHSIG in-process) and a reader on another replica
// (VerifyEventLine: split, verify against 3 listed keys, parse to check the
// commit binding), per event. A `ssh-keygen -Y sign` process per event
// would cost milliseconds.
sluice::record::RecordKeys BenchKeys(uint8_t fill) {
  std::array<uint8_t, 32> seed{};
  seed.fill(fill);
  std::vector<sluice::crypto::PublicKey> others;
  for (uint8_t k = 1; k <= 2; ++k) {
    std::array<uint8_t, 32> s{};
    s.fill(static_cast<uint8_t>(fill + k));
    others.push_back(sluice::crypto::PrivateKey::FromSeed(s, "replica")->public_key());
  }
  return sluice::record::RecordKeys(*sluice::crypto::PrivateKey::FromSeed(seed, "bench"), others);
}

void BM_SignEvent(benchmark::State& state) {
  const auto keys = BenchKeys(7);
  const Event e = SampleEvent(1);
  for (auto _ : state) {
    benchmark::DoNotOptimize(keys.SignLine(sluice::record::EventToJsonLine(e)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignEvent)->Unit(benchmark::kMicrosecond);

void BM_VerifyEvent(benchmark::State& state) {
  const auto keys = BenchKeys(7);
  const Event e = SampleEvent(1);
  const std::string line = keys.SignLine(sluice::record::EventToJsonLine(e));
  for (auto _ : state) {
    auto v = sluice::record::VerifyEventLine(line, e.commit, keys.trusted());
    if (!v.trusted) state.SkipWithError("did not verify");
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyEvent)->Unit(benchmark::kMicrosecond);

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

// ------------------------------------------------------------ evidence

constexpr int kWaitingPins = 1000;
constexpr int kFindingsPerReport = 150;

// A Trivy report of `kFindingsPerReport` findings with the fields Trivy
// writes for each (about 60 KB; real reports run from tens of KB to MBs).
std::string TrivyReport(int app) {
  static const char* kSeverities[] = {"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"};
  std::string vulns;
  for (int i = 0; i < kFindingsPerReport; ++i) {
    const std::string id = "CVE-2026-" + std::to_string(10000 + (app * 31 + i) % 50000);
    vulns += std::string(i ? "," : "") + R"({"VulnerabilityID":")" + id +
             R"(","PkgName":"libexample)" + std::to_string(i % 40) +
             R"(","InstalledVersion":"1.2.)" + std::to_string(i % 9) +
             R"(","FixedVersion":"1.2.9","Severity":")" + kSeverities[(app + i) % 5] +
             R"(","Title":"A vulnerability in libexample that lets a remote attacker do harm",)"
             R"("PrimaryURL":"https://avd.aquasec.com/nvd/)" +
             id + R"(","References":["https://nvd.nist.gov/vuln/detail/)" + id + R"("]})";
  }
  return R"({"SchemaVersion":2,"ArtifactName":"registry.example.com/bench/)" + AppName(app) +
         R"(","ArtifactType":"container_image","Results":[{"Target":"img alpine-3.20",)"
         R"("Class":"os-pkgs","Type":"alpine","Vulnerabilities":[)" +
         vulns + "]}]}";
}

// A loopback HTTP server that answers every manifest HEAD with 200 and the
// digest asked for, the way a registry does for a present manifest.
class LoopbackRegistry {
 public:
  LoopbackRegistry() {
    server_.Get(R"(/v2/.*/manifests/(.*))",
                [](const httplib::Request& req, httplib::Response& res) {
                  res.status = 200;
                  res.set_header("Docker-Content-Digest", req.matches[1].str());
                  res.set_content("{}", "application/vnd.oci.image.manifest.v1+json");
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~LoopbackRegistry() {
    server_.stop();
    thread_.join();
  }
  std::string Host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// 1,000 pins in one environment, each waiting on the vulnerabilities and
// registry gates, with a Trivy report under artifacts/<app>/<digest>/; a
// controller workspace synced from it; a loopback registry.
class EvidenceFixture {
 public:
  static EvidenceFixture& Get() {
    static EvidenceFixture f;
    return f;
  }
  sluice::record::Workspace& ws() { return *ws_; }
  const std::vector<sluice::config::Pin>& pins() const { return pins_; }
  const sluice::config::EnvironmentPolicy& policy() const { return policy_; }
  const std::string& head() const { return head_; }

 private:
  EvidenceFixture() {
    char tmpl[] = "/tmp/sluice-evidence-bench.XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto r = Repository::Init(dir_ + "/env.git", /*bare=*/true);
    if (!r.ok()) Die(r.status().ToString());
    Person who{"Bench", "bench@example.com", {}};
    FileChanges files;
    files["sluice.yaml"] = "pipeline: [prod]\n";
    for (int i = 0; i < kWaitingPins; ++i) {
      sluice::config::Pin pin;
      pin.env = "prod";
      pin.app = AppName(i);
      pin.artifact.image = registry_.Host() + "/bench/" + AppName(i);
      pin.artifact.digest = Digest(i);
      pin.artifact.version = "1.0.0";
      pins_.push_back(pin);
      std::string dir = pin.artifact.digest;
      dir[dir.find(':')] = '-';
      files["artifacts/" + pin.app + "/" + dir + "/trivy.json"] = TrivyReport(i);
      files["environments/prod/apps/" + pin.app + ".yaml"] = PinText(i, 0);
    }
    auto id = (*r)->CreateCommit("", files, "bench", who, who);
    if (!id.ok()) Die(id.status().ToString());
    head_ = *id;
    if (auto s = (*r)->SetRef("refs/heads/main", head_, "bench"); !s.ok()) Die(s.ToString());
    auto ws = sluice::record::Workspace::Open(dir_ + "/workdir", dir_ + "/env.git", "main");
    if (!ws.ok()) Die(ws.status().ToString());
    ws_ = std::move(*ws);
    if (auto s = ws_->Sync(false); !s.ok()) Die(s.ToString());
    policy_.env = "prod";
    policy_.gates.vulnerabilities = sluice::config::VulnerabilityLimits{0, 0, std::nullopt};
    policy_.gates.registry_verify_digest = true;
  }
  ~EvidenceFixture() {
    ws_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  [[noreturn]] static void Die(const std::string& why) {
    fprintf(stderr, "micro_bench evidence fixture: %s\n", why.c_str());
    std::exit(1);
  }
  sluice::git::LibGit2 libgit2_;
  LoopbackRegistry registry_;
  std::string dir_;
  std::string head_;
  std::unique_ptr<sluice::record::Workspace> ws_;
  std::vector<sluice::config::Pin> pins_;
  sluice::config::EnvironmentPolicy policy_;
};

// One pass's evidence gathering for 1,000 waiting pins (what the reconciler
// does for each of them, pass after pass, while they wait): scan reports
// read and parsed, and the registry asked over loopback HTTP. A cache that
// is on was warmed by an earlier pass (the controller's steady state); one
// that is off is the registry TTL 0 or a scan cache of 0 entries.
void BM_GatherWaitingPins(benchmark::State& state, bool scan_cached, bool registry_cached) {
  const bool cached = scan_cached || registry_cached;
  EvidenceFixture& f = EvidenceFixture::Get();
  sluice::net::CurlHttpClient http;
  sluice::process::BoostCommandRunner runner;
  sluice::SystemClock clock;
  sluice::evidence::RegistryOptions ropts;
  if (!registry_cached) ropts.cache_ttl = std::chrono::milliseconds(0);
  sluice::evidence::RegistryClient registry(http, clock, ropts);
  sluice::engine::EvidenceGatherer gatherer(
      f.ws(), http, runner, registry,
      scan_cached ? sluice::engine::EvidenceGatherer::kDefaultScanCacheEntries : 0);
  auto pass = [&] {
    size_t blocked = 0;
    for (const sluice::config::Pin& pin : f.pins()) {
      sluice::gates::Candidate c;
      c.env = pin.env;
      c.app = pin.app;
      c.commit = f.head();
      c.pin = &pin;
      c.policy = &f.policy();
      sluice::gates::Evidence ev = gatherer.Gather(c, f.head(), f.head(), nullptr);
      if (!ev.scan || !ev.scan->found || !ev.scan->error.empty() || !ev.registry ||
          !ev.registry->exists) {
        state.SkipWithError(("evidence not gathered for " + pin.app + ": " +
                             (ev.registry ? ev.registry->error : std::string("no registry")) +
                             (ev.scan ? ev.scan->error : std::string(" no scan")))
                                .c_str());
        return;
      }
      blocked += ev.scan->counts.at("critical") > 0;
    }
    benchmark::DoNotOptimize(blocked);
  };
  if (cached) pass();  // the first pass of the controller fills the caches
  for (auto _ : state) pass();
  state.SetItemsProcessed(state.iterations() * kWaitingPins);
  state.counters["scan_parses"] = static_cast<double>(gatherer.scan_parses());
  state.counters["registry_hits"] = static_cast<double>(registry.CacheStatistics().hits);
}
BENCHMARK_CAPTURE(BM_GatherWaitingPins, uncached, false, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_GatherWaitingPins, scan_cached, true, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_GatherWaitingPins, registry_cached, false, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_GatherWaitingPins, cached, true, true)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
