// Ownership: replicas sharing six environments through a real etcd 3.4 on
// loopback. Rounds are run by the test (Tick) on fake clocks, so the only
// waiting is for etcd itself (a lease expiring in real time).
#include "ha/ownership.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include "support/etcd_server.h"
#include "support/fake_http.h"
#include "support/temp_dir.h"
#include "support/wait_until.h"

namespace sluice::ha {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::EtcdServer;

const std::vector<std::string> kEnvs = {"dev", "qa", "staging", "prod-eu", "prod-us", "prod-ap"};
const TimePoint kStart = TimePoint(std::chrono::hours(24 * 20000));

// A waiter that never blocks: it moves the fake clock to the deadline and
// records the wait (for the background-loop test).
class JumpingWaiter final : public Waiter {
 public:
  explicit JumpingWaiter(FakeClock& clock) : clock_(clock) {}
  void WaitUntil(std::condition_variable&, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    {
      std::lock_guard record(mu_);
      waits_.push_back(deadline - clock_.Now());
    }
    // Let Stop() in between waits, as a real wait would.
    lock.unlock();
    std::this_thread::yield();
    lock.lock();
    clock_.Set(std::max(clock_.Now(), deadline));
  }
  std::vector<TimePoint::duration> waits() const {
    std::lock_guard record(mu_);
    return waits_;
  }

 private:
  FakeClock& clock_;
  mutable std::mutex mu_;
  std::vector<TimePoint::duration> waits_;
};

// One replica: its own HTTP client (counting requests), etcd client, clock.
struct Replica {
  Replica(const std::string& etcd_url, const std::string& id, seconds ttl,
          const std::vector<std::string>& envs = kEnvs)
      : http(testing::ForwardTo(real)), clock(kStart), waiter(clock) {
    EtcdOptions eo;
    eo.endpoints = {etcd_url};
    etcd = std::make_unique<EtcdClient>(http, eo);
    OwnershipOptions oo;
    oo.instance_id = id;
    oo.lease_ttl = ttl;
    oo.key_prefix = KeyPrefixFor("git://127.0.0.1/envs.git");
    oo.environments = envs;
    oo.on_gain = [this] { ++gains; };
    own = std::make_unique<Ownership>(*etcd, clock, waiter, oo);
  }
  std::vector<std::string> Owned() const { return own->State().owned; }

  net::CurlHttpClient real;
  testing::FakeHttpClient http;
  FakeClock clock;
  JumpingWaiter waiter;
  std::atomic<int> gains{0};  // rounds that gained an environment
  std::unique_ptr<EtcdClient> etcd;
  std::unique_ptr<Ownership> own;
};

class OwnershipTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.ready()); }

  std::unique_ptr<Replica> NewReplica(const std::string& id, seconds ttl = seconds(15)) {
    return std::make_unique<Replica>(etcd_.Url(), id, ttl);
  }

  // Rounds over `replicas` until a full pass changes nothing (at most 6).
  static void Converge(const std::vector<Replica*>& replicas) {
    for (int pass = 0; pass < 6; ++pass) {
      std::vector<std::vector<std::string>> before;
      for (Replica* r : replicas) before.push_back(r->Owned());
      for (Replica* r : replicas) {
        Status s = r->own->Tick();
        EXPECT_TRUE(s.ok()) << s.ToString();
      }
      bool same = true;
      for (size_t i = 0; i < replicas.size(); ++i) same = same && before[i] == replicas[i]->Owned();
      if (same) return;
    }
    ADD_FAILURE() << "ownership did not settle in 6 passes";
  }

  // Every environment proved by exactly one of `replicas` (Fence, live), and
  // the owner keys in etcd agree.
  void ExpectExactlyOneOwnerEach(const std::vector<Replica*>& replicas) {
    net::CurlHttpClient http;
    EtcdOptions eo;
    eo.endpoints = {etcd_.Url()};
    EtcdClient reader(http, eo);
    for (const std::string& env : kEnvs) {
      std::vector<std::string> holders;
      for (Replica* r : replicas) {
        if (r->own->Fence(env).held) holders.push_back(r->own->State().instance_id);
      }
      ASSERT_EQ(holders.size(), 1u) << env << " held by " << holders.size() << " replicas";
      auto kv = reader.Get(replicas[0]->own->OwnerKey(env));
      ASSERT_TRUE(kv.ok()) << kv.status().ToString();
      EXPECT_EQ(kv->value, holders[0]) << env;
    }
  }

  EtcdServer etcd_;
};

TEST(OwnershipNamesTest, KeyPrefixIsOnePerRepository) {
  const std::string p = KeyPrefixFor("https://git.example.com/ops/envs.git");
  EXPECT_EQ(p.size(), std::string("/sluice/").size() + 16 + 1);
  EXPECT_EQ(p.rfind("/sluice/", 0), 0u);
  EXPECT_EQ(p.back(), '/');
  EXPECT_EQ(KeyPrefixFor("https://bot:token@git.example.com/ops/envs"), p);
  EXPECT_EQ(KeyPrefixFor("https://git.example.com/ops/envs/"), p);
  EXPECT_NE(KeyPrefixFor("https://git.example.com/ops/other.git"), p);
}

TEST(OwnershipNamesTest, InstanceIdsAreShortAndPlain) {
  EXPECT_TRUE(ValidateInstanceId("sluice-0").ok());
  EXPECT_TRUE(ValidateInstanceId("host.example_1").ok());
  EXPECT_NE(ValidateInstanceId("").message().find("--instance-id"), std::string::npos);
  EXPECT_NE(ValidateInstanceId("a/b").message().find("only letters"), std::string::npos);
  EXPECT_FALSE(ValidateInstanceId(std::string(64, 'a')).ok());
}

TEST_F(OwnershipTest, ASoleReplicaOwnsEveryEnvironment) {
  auto a = NewReplica("a");
  ASSERT_TRUE(a->own->Join().ok());
  auto state = a->own->State();
  EXPECT_EQ(state.owned.size(), kEnvs.size());
  EXPECT_EQ(state.live_members, 1u);
  EXPECT_EQ(state.not_ready_reason, "");
  EXPECT_NE(state.lease_id, 0);
  EXPECT_EQ(state.lease_changes, kEnvs.size());
  ExpectExactlyOneOwnerEach({a.get()});
  for (const auto& env : kEnvs) EXPECT_TRUE(a->own->Owns(env));
  EXPECT_FALSE(a->own->Owns("elsewhere"));
  EXPECT_NE(a->own->Fence("elsewhere").reason.find("not owned by this replica"), std::string::npos);
}

TEST_F(OwnershipTest, TwoReplicasSplitSixEnvironmentsThreeEach) {
  auto a = NewReplica("a");
  auto b = NewReplica("b");
  ASSERT_TRUE(a->own->Join().ok());
  ASSERT_TRUE(b->own->Join().ok());
  EXPECT_EQ(b->Owned().size(), 0u);  // all taken: a releases its surplus first
  Converge({a.get(), b.get()});
  EXPECT_EQ(a->Owned().size(), 3u);
  EXPECT_EQ(b->Owned().size(), 3u);
  ExpectExactlyOneOwnerEach({a.get(), b.get()});
  // Each knows who owns the rest.
  for (const auto& env : b->Owned()) EXPECT_EQ(a->own->State().owner_of[env], "b");
}

TEST_F(OwnershipTest, AJoinerTakesItsShareSoThreeHoldTwoEach) {
  auto a = NewReplica("a");
  auto b = NewReplica("b");
  ASSERT_TRUE(a->own->Join().ok());
  ASSERT_TRUE(b->own->Join().ok());
  Converge({a.get(), b.get()});
  auto c = NewReplica("c");
  ASSERT_TRUE(c->own->Join().ok());
  Converge({a.get(), b.get(), c.get()});
  EXPECT_EQ(a->Owned().size(), 2u);
  EXPECT_EQ(b->Owned().size(), 2u);
  EXPECT_EQ(c->Owned().size(), 2u);
  EXPECT_EQ(c->own->State().live_members, 3u);
  ExpectExactlyOneOwnerEach({a.get(), b.get(), c.get()});
}

TEST_F(OwnershipTest, AStoppedReplicasEnvironmentsGoToTheOthers) {
  auto a = NewReplica("a");
  auto b = NewReplica("b");
  auto c = NewReplica("c");
  for (auto* r : {a.get(), b.get(), c.get()}) ASSERT_TRUE(r->own->Join().ok());
  Converge({a.get(), b.get(), c.get()});
  c->own->Stop(/*revoke=*/true);  // a clean shutdown revokes the lease
  EXPECT_TRUE(c->Owned().empty());
  EXPECT_EQ(c->own->State().not_ready_reason, "stopped");
  for (const auto& env : kEnvs) EXPECT_FALSE(c->own->Fence(env).held);
  Converge({a.get(), b.get()});
  EXPECT_EQ(a->Owned().size(), 3u);
  EXPECT_EQ(b->Owned().size(), 3u);
  ExpectExactlyOneOwnerEach({a.get(), b.get()});
}

TEST_F(OwnershipTest, ACrashedReplicasEnvironmentsAreTakenOverWhenItsLeaseExpires) {
  const seconds ttl(2);  // etcd's smallest lease: the takeover waits for it in real time
  auto a = NewReplica("a", ttl);
  auto b = NewReplica("b", ttl);
  ASSERT_TRUE(a->own->Join().ok());
  ASSERT_TRUE(b->own->Join().ok());
  Converge({a.get(), b.get()});
  ASSERT_EQ(b->Owned().size(), 3u);
  const auto b_had = b->Owned();
  b->own->Stop(/*revoke=*/false);  // as kill -9: the lease is left to expire
  const auto crashed = std::chrono::steady_clock::now();
  // The survivor's rounds (keepalive, read, claim) until it holds all six.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        a->clock.Advance(milliseconds(ttl) / 3);  // its keepalives fall due as in real time
        EXPECT_TRUE(a->own->Tick().ok());
        return a->Owned().size() == kEnvs.size();
      },
      seconds(10), "a to take over b's environments"));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - crashed);
  std::printf("takeover after a crash with a %llds lease: %lld ms\n",
              static_cast<long long>(ttl.count()), static_cast<long long>(took.count()));
  EXPECT_LE(took, ttl + seconds(2));
  ExpectExactlyOneOwnerEach({a.get()});
  for (const auto& env : b_had) EXPECT_EQ(a->own->State().owner_of[env], "a");
}

TEST_F(OwnershipTest, ANewOwnerResumesAnotherReplicasApplyOnlyOnceItsAdapterCannotRun) {
  const seconds ttl(2);
  auto a = NewReplica("a", ttl);
  auto b = NewReplica("b", ttl);
  ASSERT_TRUE(a->own->Join().ok());
  ASSERT_TRUE(b->own->Join().ok());
  Converge({a.get(), b.get()});
  const auto b_had = b->Owned();
  ASSERT_FALSE(b_had.empty());
  const std::string env = b_had.front();
  // b is cut off from etcd (it stops renewing) but lives: a takes over.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        a->clock.Advance(milliseconds(ttl) / 3);
        EXPECT_TRUE(a->own->Tick().ok());
        return a->Owned().size() == kEnvs.size();
      },
      seconds(10), "a to take over b's environments"));
  const TimePoint took_over = a->clock.Now();
  auto hold = a->own->Hold(env);  // as a pass applying there: not released to a joiner
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  auto wait = a->own->MayResume(env, "b", seconds(70));
  ASSERT_TRUE(wait.has_value());
  EXPECT_NE(wait->find("waiting until "), std::string::npos) << *wait;
  EXPECT_NE(wait->find("70s"), std::string::npos) << *wait;
  EXPECT_FALSE(a->own->MayResume(env, "b", milliseconds(0)).has_value());  // no bound
  EXPECT_TRUE(a->own->MayResume("nowhere", "b", seconds(70)).has_value());
  // b's partition heals: the same process, with a new lease. It may still
  // be finishing its adapter, so a still waits.
  b->clock.Advance(seconds(10));
  (void)b->own->Tick();  // its old lease is gone: a new one, the same member value
  (void)b->own->Tick();
  EXPECT_TRUE(a->own->Tick().ok());
  ASSERT_TRUE(a->own->Owns(env));
  EXPECT_TRUE(a->own->MayResume(env, "b", seconds(70)).has_value());
  // b restarts: a new process under the same id, so its adapters are gone.
  b->own->Stop(/*revoke=*/true);
  auto b2 = NewReplica("b", ttl);
  ASSERT_TRUE(b2->own->Join().ok());
  a->clock.Advance(milliseconds(ttl) / 3);
  EXPECT_TRUE(a->own->Tick().ok());
  ASSERT_TRUE(a->own->Owns(env));
  EXPECT_FALSE(a->own->MayResume(env, "b", seconds(70)).has_value());
  // Another replica's apply (not the one a took env from) waits for the bound.
  EXPECT_TRUE(a->own->MayResume(env, "c", seconds(70)).has_value());
  a->clock.Set(took_over + seconds(70));
  EXPECT_FALSE(a->own->MayResume(env, "c", seconds(70)).has_value());
}

TEST_F(OwnershipTest, ItsOwnClockFencesItBeforeEtcdCanExpireTheLease) {
  auto a = NewReplica("a");  // 15 s lease, 3 s margin
  ASSERT_TRUE(a->own->Join().ok());
  ASSERT_TRUE(a->own->Fence("prod-eu").held);
  // No keepalive for 12 s by its own clock (a stalled process, a slow
  // network): it gives up while etcd still holds the lease.
  a->clock.Advance(seconds(12));
  FenceResult f = a->own->Fence("prod-eu");
  EXPECT_FALSE(f.held);
  EXPECT_NE(f.reason.find("not renewed in time"), std::string::npos) << f.reason;
  EXPECT_FALSE(a->own->Owns("prod-eu"));
  EXPECT_NE(a->own->State().not_ready_reason, "");
  // The next round renews it, and it holds everything again.
  ASSERT_TRUE(a->own->Tick().ok());
  EXPECT_TRUE(a->own->Fence("prod-eu").held);
  EXPECT_EQ(a->Owned().size(), kEnvs.size());
}

TEST_F(OwnershipTest, ALeaseRevokedBehindItsBackIsNoticedAndReplaced) {
  auto a = NewReplica("a");
  ASSERT_TRUE(a->own->Join().ok());
  const int64_t old_lease = a->own->State().lease_id;
  net::CurlHttpClient http;
  EtcdOptions eo;
  eo.endpoints = {etcd_.Url()};
  EtcdClient admin(http, eo);
  ASSERT_TRUE(admin.RevokeLease(old_lease).ok());  // e.g. `etcdctl lease revoke`
  EXPECT_FALSE(a->own->Fence("dev").held);         // its keys went with it
  // No renewal is due yet: the round's claim on the dead lease is refused,
  // and the next round renews, learns the lease is gone and starts afresh.
  Status s = a->own->Tick();
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_FALSE(a->own->Owns("dev"));
  ASSERT_TRUE(a->own->Tick().ok());
  EXPECT_NE(a->own->State().lease_id, old_lease);
  EXPECT_EQ(a->Owned().size(), kEnvs.size());
  EXPECT_TRUE(a->own->Fence("dev").held);
}

TEST_F(OwnershipTest, AMovedOwnerKeyFencesThatEnvironmentOnly) {
  auto a = NewReplica("a");
  ASSERT_TRUE(a->own->Join().ok());
  net::CurlHttpClient http;
  EtcdOptions eo;
  eo.endpoints = {etcd_.Url()};
  EtcdClient other(http, eo);
  ASSERT_TRUE(other.Put(a->own->OwnerKey("qa"), "intruder").ok());
  FenceResult f = a->own->Fence("qa");
  EXPECT_FALSE(f.held);
  EXPECT_NE(f.reason.find("moved (now \"intruder\""), std::string::npos) << f.reason;
  ASSERT_TRUE(other.Delete(a->own->OwnerKey("dev")).ok());
  f = a->own->Fence("dev");
  EXPECT_FALSE(f.held);
  EXPECT_NE(f.reason.find("is gone"), std::string::npos) << f.reason;
  EXPECT_TRUE(a->own->Fence("prod-us").held);
  // The next round sees it: qa is the intruder's, dev is free again.
  ASSERT_TRUE(a->own->Tick().ok());
  EXPECT_EQ(a->own->State().owner_of["qa"], "intruder");
  EXPECT_TRUE(a->own->Fence("dev").held);
}

TEST_F(OwnershipTest, EtcdDownFencesEverythingWithAReasonAndOwnershipResumes) {
  auto a = NewReplica("a");
  auto b = NewReplica("b");
  ASSERT_TRUE(a->own->Join().ok());
  ASSERT_TRUE(b->own->Join().ok());
  Converge({a.get(), b.get()});
  const auto a_had = a->Owned();
  const auto b_had = b->Owned();

  etcd_.Stop();
  for (Replica* r : {a.get(), b.get()}) {
    r->clock.Advance(seconds(5));  // a keepalive is due
    Status s = r->own->Tick();
    EXPECT_FALSE(s.ok());
    const std::string reason = r->own->State().not_ready_reason;
    EXPECT_NE(reason.find("cannot renew etcd lease"), std::string::npos) << reason;
    EXPECT_NE(reason.find("etcd at " + etcd_.Url() + " unreachable"), std::string::npos) << reason;
    for (const auto& env : kEnvs) {
      EXPECT_FALSE(r->own->Owns(env));
      FenceResult f = r->own->Fence(env);
      EXPECT_FALSE(f.held) << env;
      EXPECT_NE(f.reason.find("unreachable"), std::string::npos) << f.reason;
    }
  }

  ASSERT_TRUE(etcd_.Start()) << etcd_.Log();
  // Its own clock stopped trusting the lease meanwhile: the next renewal
  // proves it again.
  EXPECT_NE(a->own->Fence("dev").reason, "");
  ASSERT_TRUE(a->own->Tick().ok());
  ASSERT_TRUE(b->own->Tick().ok());
  EXPECT_EQ(a->own->State().not_ready_reason, "");
  // The lease outlived the outage (etcd restores leases on restart), so
  // each keeps what it had.
  EXPECT_EQ(a->Owned(), a_had);
  EXPECT_EQ(b->Owned(), b_had);
  ExpectExactlyOneOwnerEach({a.get(), b.get()});
}

TEST_F(OwnershipTest, EtcdUnreachableAtStartIsAClearError) {
  Replica a("http://127.0.0.1:" + std::to_string(testing::FreePort()), "a", seconds(15));
  Status s = a.own->Join();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot get an etcd lease: etcd at http://127.0.0.1:"),
            std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("unreachable"), std::string::npos);
  EXPECT_NE(a.own->State().not_ready_reason, "");
  EXPECT_FALSE(a.own->Fence("dev").held);
}

TEST_F(OwnershipTest, BadOptionsAreRefusedBeforeAnyRequest) {
  Replica a(etcd_.Url(), "a/b", seconds(15));
  EXPECT_NE(a.own->Join().message().find("--instance-id"), std::string::npos);
  Replica b(etcd_.Url(), "b", seconds(1));
  EXPECT_NE(b.own->Join().message().find("--lease-ttl must be at least 2s"), std::string::npos);
  EXPECT_EQ(a.http.request_count() + b.http.request_count(), 0u);
}

TEST_F(OwnershipTest, TheSameInstanceIdTwiceGetsNothingUntilTheFirstLeaves) {
  auto first = NewReplica("a");
  auto second = NewReplica("a");
  ASSERT_TRUE(first->own->Join().ok());
  ASSERT_TRUE(second->own->Join().ok());  // not fatal: it may be a restart
  EXPECT_TRUE(second->Owned().empty());
  EXPECT_NE(second->own->State().not_ready_reason.find("same --instance-id"), std::string::npos)
      << second->own->State().not_ready_reason;
  EXPECT_FALSE(second->own->Fence("dev").held);
  EXPECT_EQ(first->Owned().size(), kEnvs.size());
  first->own->Stop(true);
  ASSERT_TRUE(second->own->Tick().ok());
  EXPECT_EQ(second->Owned().size(), kEnvs.size());
  ExpectExactlyOneOwnerEach({second.get()});
}

TEST_F(OwnershipTest, AHeldEnvironmentIsNotReleasedToAJoiner) {
  auto a = NewReplica("a");
  ASSERT_TRUE(a->own->Join().ok());
  std::vector<Ownership::HoldToken> holds;
  for (const auto& env : kEnvs) {
    auto h = a->own->Hold(env);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    holds.push_back(std::move(*h));
  }
  auto b = NewReplica("b");
  ASSERT_TRUE(b->own->Join().ok());
  Converge({a.get(), b.get()});
  EXPECT_EQ(a->Owned().size(), kEnvs.size());  // applies running everywhere
  EXPECT_TRUE(b->Owned().empty());
  auto refused = b->own->Hold("dev");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("owner: a"), std::string::npos)
      << refused.status().ToString();
  holds.clear();  // the applies end
  Converge({a.get(), b.get()});
  EXPECT_EQ(a->Owned().size(), 3u);
  EXPECT_EQ(b->Owned().size(), 3u);
  ExpectExactlyOneOwnerEach({a.get(), b.get()});
}

TEST_F(OwnershipTest, AdmitHoldsAnEnvironmentUntilDone) {
  auto a = NewReplica("a");
  ASSERT_TRUE(a->own->Join().ok());
  for (const auto& env : kEnvs) ASSERT_TRUE(a->own->Admit(env));
  EXPECT_TRUE(a->own->Admit("dev"));  // proved again, still one hold
  std::string why;
  EXPECT_FALSE(a->own->Admit("elsewhere", &why));
  EXPECT_NE(why.find("not owned by this replica"), std::string::npos) << why;
  auto b = NewReplica("b");
  ASSERT_TRUE(b->own->Join().ok());
  Converge({a.get(), b.get()});
  EXPECT_EQ(a->Owned().size(), kEnvs.size());  // all admitted: nothing released
  for (const auto& env : kEnvs) a->own->Done(env);
  Converge({a.get(), b.get()});
  EXPECT_EQ(a->Owned().size(), 3u);
  EXPECT_EQ(b->Owned().size(), 3u);
}

TEST_F(OwnershipTest, ANewEnvironmentIsClaimedAndARemovedOneGivenBack) {
  auto a = NewReplica("a");
  ASSERT_TRUE(a->own->Join().ok());
  EXPECT_EQ(a->gains.load(), 1);
  ASSERT_TRUE(a->own->Tick().ok());
  EXPECT_EQ(a->gains.load(), 1);  // nothing new
  std::vector<std::string> envs = {"dev", "staging", "prod-eu", "prod-us", "prod-ap", "perf"};
  a->own->SetEnvironments(envs);
  ASSERT_TRUE(a->own->Tick().ok());
  EXPECT_EQ(a->gains.load(), 2);
  std::sort(envs.begin(), envs.end());
  EXPECT_EQ(a->Owned(), envs);
  net::CurlHttpClient http;
  EtcdOptions eo;
  eo.endpoints = {etcd_.Url()};
  EtcdClient reader(http, eo);
  EXPECT_TRUE(reader.Get(a->own->OwnerKey("qa")).status().IsNotFound());
  EXPECT_EQ(reader.Get(a->own->OwnerKey("perf"))->value, "a");
}

TEST_F(OwnershipTest, TheLoopLooksEveryTwoSecondsAndRenewsWithinAThirdOfTheTtl) {
  auto a = NewReplica("a");  // 15 s lease: a look every 2 s, a renewal at least every 5 s
  std::mutex mu;
  std::vector<TimePoint> renewals;
  a->http.SetHandler([&](const net::HttpRequest& req) {
    if (req.url.find("/v3/lease/keepalive") != std::string::npos) {
      std::lock_guard lock(mu);
      renewals.push_back(a->clock.Now());
    }
    return a->real.Send(req);
  });
  net::CurlHttpClient http;
  EtcdOptions eo;
  eo.endpoints = {etcd_.Url()};
  EtcdClient probe(http, eo);
  ASSERT_TRUE(a->own->Start().ok());
  const size_t after_join = a->http.request_count();
  auto rev_before = probe.Put("/probe", "1");
  ASSERT_TRUE(rev_before.ok());
  ASSERT_TRUE(testing::WaitUntil([&] { return a->own->State().rounds >= 31; }, seconds(30),
                                 "thirty rounds of the background loop"));
  a->own->Stop(false);
  // Idle rounds write nothing: etcd's revision moved only by the probe.
  auto rev_after = probe.Put("/probe", "2");
  ASSERT_TRUE(rev_after.ok());
  EXPECT_EQ(*rev_after, *rev_before + 1);

  const auto state = a->own->State();
  EXPECT_EQ(state.owned.size(), kEnvs.size());
  for (auto wait : a->waiter.waits()) {
    EXPECT_EQ(std::chrono::duration_cast<milliseconds>(wait), milliseconds(2000));
  }
  std::lock_guard lock(mu);
  ASSERT_GE(renewals.size(), 2u);
  for (size_t i = 1; i < renewals.size(); ++i) {
    EXPECT_LE(renewals[i] - renewals[i - 1], seconds(5));
  }
  // Per round one read of the prefix, plus the renewals.
  const uint64_t rounds = state.rounds - 1;  // after Join
  const size_t requests = a->http.request_count() - after_join;
  EXPECT_EQ(requests, rounds + renewals.size());
  const double minutes = static_cast<double>(rounds) * 2.0 / 60.0;
  std::printf(
      "idle replica, 15s lease: %zu requests (%zu renewals) in %llu rounds over %.1f minutes of "
      "its clock = %.0f requests/minute\n",
      requests, renewals.size(), static_cast<unsigned long long>(rounds), minutes,
      static_cast<double>(requests) / minutes);
}

}  // namespace
}  // namespace sluice::ha
