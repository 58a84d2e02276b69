#pragma once

// Ownership: which replica of the controller owns which environment (SPEC
// section 8), through one etcd lease per replica.
//
// Keys (under a prefix derived from the repository URL, KeyPrefixFor):
//   <prefix>members/<instance-id> = <instance-id> <process nonce>   on the replica's lease
//   <prefix>owners/<env>          = <instance-id>   on the owner's lease
// A key on a lease dies with it: when a replica stops keeping its lease
// alive (crash, partition) etcd deletes its member and owner keys after the
// TTL, and the others claim the environments on their next round.
//
// Each round (every check_interval, by default min(TTL/3, 2s), on the
// injected clock): keep the lease alive when it is due (at least every
// TTL/3; or get a new one when it has expired), make sure the member key is
// there, read members and owners (one range read of the prefix), and move
// towards a fair share of
// ceil(environments / live members): claim free environments with a
// put-if-absent transaction (create_revision == 0, so two replicas never
// both win), release surplus ones (delete if mod_revision unchanged) when
// more members have joined, so environments spread.
//
// Fencing. Fence(env) proves, at the moment it is asked, that this replica
// holds `env`: its lease is still valid by its own clock (the time it *sent*
// the last successful keepalive + the granted TTL - a safety margin, so the
// replica gives up before etcd can have expired the lease and another
// replica can have claimed) and the owner key still carries this replica's
// id, lease and mod_revision (one read, linearizable). Anything else, an
// expired lease or an etcd it cannot reach included, is "fenced" with a
// reason (fail closed).
//
// The rule for an apply (docs/operations.md "High availability (etcd)"):
//   1. Start an apply of `env` only under Hold(env) (the reconciler does,
//      through Admit/Done), which requires a live Fence proof; an
//      environment held is never released voluntarily (a joiner's share
//      waits until the apply ends).
//   2. If the lease is lost while the adapter runs, the adapter is finished,
//      not killed (a killed helm/terraform leaves a pending release or a
//      state lock the next owner cannot apply over); it stays bounded by its
//      own timeout.
//   3. When it ends, the outcome is written to the record only if
//      Fence(env) proves the lease again (ReconcileOptions::still_owner).
//      Otherwise this replica writes nothing: the `applying` event it wrote
//      before starting stays without an outcome, and the new owner resolves
//      it by the crash-recovery rule (ask the adapter what is really
//      running), but not before the previous owner's adapter could have
//      ended: MayResume (ReconcileOptions::may_resume).
//
// Thread safety: all public methods are thread-safe. Rounds run on one
// background thread (Start) or on the caller's (Tick, for tests); no
// internal lock is held across a request to etcd except the one that keeps
// rounds from overlapping.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/waiter.h"
#include "ha/etcd_client.h"

namespace sluice::ha {

// "/sluice/<16 hex digits>/": the etcd prefix of the environments
// repository at `repository_url`. The digits are a 64-bit FNV-1a hash of
// the URL without credentials, a trailing "/" or ".git", so replicas given
// the same repository share a prefix and two repositories on one etcd do
// not collide. Pure.
std::string KeyPrefixFor(const std::string& repository_url);

// The owner of each environment as etcd holds it now: env -> the instance
// id in <key_prefix>owners/<env> (one range read). An environment no live
// replica holds is absent. The key of a replica that died stays until its
// lease expires (at most the TTL). For `sluice status --etcd`, which holds
// no lease of its own. Errors as EtcdClient's.
Result<std::map<std::string, std::string>> ReadOwners(EtcdClient& etcd,
                                                      const std::string& key_prefix);

// An instance id names a replica in etcd keys and in the record: 1 to 63
// characters of [A-Za-z0-9._-]. InvalidArgument naming --instance-id.
Status ValidateInstanceId(const std::string& id);

struct OwnershipOptions {
  std::string instance_id;
  std::chrono::seconds lease_ttl{15};
  // How long before the lease's end (by this replica's clock) it stops
  // claiming to hold anything; 0 = lease_ttl / 5.
  std::chrono::milliseconds safety_margin{0};
  // How often a round looks at members and owners (and claims what a dead
  // replica left); 0 = min(lease_ttl / 3, 2s). The lease is renewed in the
  // round before it would be lease_ttl / 3 old, so a takeover waits at most
  // about lease_ttl + check_interval after the owner's last keepalive.
  std::chrono::milliseconds check_interval{0};
  std::string key_prefix;                 // KeyPrefixFor(repository URL)
  std::vector<std::string> environments;  // the environments to share out
  // Called (on the round's thread, no lock held) after a round in which
  // this replica gained an environment, so the caller can act at once (the
  // daemon starts a pass). May be empty.
  std::function<void()> on_gain;
};

// The answer of Fence: held, or not and why (for /readyz and the record).
struct FenceResult {
  bool held = false;
  std::string reason;  // "" when held
};

// What this replica knows after its last round.
struct OwnershipState {
  std::string instance_id;
  int64_t lease_id = 0;                         // 0 = no lease
  TimePoint lease_valid_until{};                // by this replica's clock
  std::vector<std::string> owned;               // sorted
  std::map<std::string, std::string> owner_of;  // env -> instance id, as last read
  size_t live_members = 0;
  uint64_t lease_changes = 0;  // environments gained or lost so far
  uint64_t rounds = 0;         // rounds run, failed ones included
  // "" while the lease is held and etcd answered the last round; otherwise
  // why this replica applies nothing (for /readyz).
  std::string not_ready_reason;
};

class Ownership {
 public:
  // Borrows `etcd`, `clock` and `waiter`, which must outlive this object.
  Ownership(EtcdClient& etcd, const Clock& clock, Waiter& waiter, OwnershipOptions options);
  // Stops the loop and revokes the lease (Stop(true)).
  ~Ownership();
  Ownership(const Ownership&) = delete;
  Ownership& operator=(const Ownership&) = delete;

  // Validates the options and runs the first round on the caller's thread.
  // An error when the options are bad (InvalidArgument) or etcd cannot be
  // reached or refuses (its message): a controller started with --etcd
  // must not run without it. Another live lease holding this instance id
  // is not an error here (after a crash the old lease lingers up to a TTL):
  // State() says so and every round retries. Does not start the loop.
  Status Join();

  // Join(), then a round every check_interval on a background thread
  // until Stop().
  Status Start();

  // One round (see the file comment). Returns the first error met (the
  // state then says why this replica is not ready); an OK round may still
  // leave this replica with no environment (another holds them all).
  Status Tick();

  // Stops the background loop (if any). With `revoke`, revokes the lease so
  // the others can take the environments at once (a clean shutdown);
  // without, leaves it to expire (what a crash does). Idempotent.
  void Stop(bool revoke = true);

  // Whether this replica can prove it holds `env` now: one etcd read. See
  // the file comment.
  FenceResult Fence(const std::string& env);

  // Whether the last round left this replica owning `env`, with the lease
  // still valid by its own clock. No I/O: for filtering what to look at;
  // Fence before acting.
  bool Owns(const std::string& env) const;

  OwnershipState State() const;

  // Replaces the environments to share out (the repository's pipeline
  // changed); takes effect at the next round. Environments that left the
  // list are released then.
  void SetEnvironments(std::vector<std::string> environments);

  // Keeps `env` from being released voluntarily while it lives (an apply
  // runs). Move-only; releases the hold when destroyed.
  class HoldToken {
   public:
    HoldToken(HoldToken&& other) noexcept;
    HoldToken& operator=(HoldToken&&) = delete;
    HoldToken(const HoldToken&) = delete;
    ~HoldToken();
    const std::string& env() const { return env_; }

   private:
    friend class Ownership;
    HoldToken(Ownership* owner, std::string env) : owner_(owner), env_(std::move(env)) {}
    Ownership* owner_;
    std::string env_;
  };
  // Fence(env), and a hold on it when held; FailedPrecondition with the
  // reason otherwise.
  Result<HoldToken> Hold(const std::string& env);

  // The reconciler's seam (engine::ReconcileOptions should_apply and
  // done_with_env): Admit proves `env` now (Fence) and, the first time,
  // holds it until Done(env), so the change being applied is not released
  // to a joining replica halfway. False (with the reason in `*why` when
  // given) when it cannot be proved; the hold, if any, stays until Done.
  bool Admit(const std::string& env, std::string* why = nullptr);
  void Done(const std::string& env);

  // The new owner's wait (docs/operations.md, "An apply in flight when the
  // lease is lost"): whether this replica may resume an apply of `env` that
  // another replica started and left without an outcome. That replica may be
  // alive and still running it (it lost its lease, e.g. partitioned from
  // etcd, and finishes what runs: rule 2 below), so only once `longest` (the
  // adapter's longest run with its kill grace, adapters::LongestApply) has
  // passed since this replica gained `env`, by its own clock — unless
  // `started_by` is the replica it took `env` from and that replica is back
  // with a new lease (it restarted: the process that ran the adapter is
  // gone, and the adapter with it). nullopt: it may; otherwise why not yet.
  // `longest` <= 0: it may. No I/O (the last round's view).
  std::optional<std::string> MayResume(const std::string& env, const std::string& started_by,
                                       std::chrono::milliseconds longest) const;

  // The etcd keys, for tests and operators.
  std::string MemberKey(const std::string& instance_id) const;
  std::string OwnerKey(const std::string& env) const;

 private:
  struct Owned {
    int64_t mod_revision = 0;
  };

  Status RoundLocked(TimePoint sent, bool* gained);
  Status EnsureLease(TimePoint sent);
  Status Register();
  // "<instance-id> <process nonce>": the member key's value, which tells a
  // restarted replica from one that was only cut off.
  std::string MemberValue() const;
  void LoseAll(const std::string& why);
  void Loop();
  std::chrono::milliseconds Margin() const;
  std::chrono::milliseconds CheckInterval() const;

  EtcdClient& etcd_;
  const Clock& clock_;
  Waiter& waiter_;
  const OwnershipOptions options_;
  std::string process_nonce_;  // random, per Ownership (per process)

  std::mutex round_mu_;  // one round at a time; held across its requests

  mutable std::mutex mu_;  // guards everything below
  int64_t lease_id_ = 0;
  TimePoint valid_until_{};
  TimePoint last_keepalive_{};  // when the last successful renewal was sent
  bool registered_ = false;
  std::map<std::string, Owned> owned_;
  std::map<std::string, TimePoint> gained_at_;  // when each of owned_ was gained
  struct Holder {
    std::string instance;
    std::string member;  // its member key's value then (names the process)
  };
  std::map<std::string, Holder> last_other_owner_;   // env -> its last owner seen, not this one
  std::map<std::string, Holder> taken_from_;         // env (owned) -> whom it was gained from
  std::map<std::string, std::string> member_value_;  // live member -> its value, last round
  std::map<std::string, std::string> owner_of_;
  std::multiset<std::string> held_;
  std::vector<std::string> environments_;  // starts as options_.environments
  size_t live_members_ = 0;
  uint64_t lease_changes_ = 0;
  uint64_t rounds_ = 0;
  std::string last_error_;  // "" when the last round reached etcd

  std::mutex admit_mu_;  // guards admitted_; never taken with mu_ held
  std::map<std::string, HoldToken> admitted_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread loop_;
};

}  // namespace sluice::ha
