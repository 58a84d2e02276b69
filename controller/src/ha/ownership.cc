#include "ha/ownership.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/time_format.h"
#include "net/http_client.h"

namespace sluice::ha {
namespace {

uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::string KeyPrefixFor(const std::string& repository_url) {
  std::string url = net::RedactUrl(repository_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() > 4 && url.compare(url.size() - 4, 4, ".git") == 0) url.resize(url.size() - 4);
  return "/sluice/" + Hex64(Fnv1a64(url)) + "/";
}

Result<std::map<std::string, std::string>> ReadOwners(EtcdClient& etcd,
                                                      const std::string& key_prefix) {
  const std::string owners_prefix = key_prefix + "owners/";
  auto keys = etcd.GetPrefix(owners_prefix);
  if (!keys.ok()) return keys.status().WithContext("cannot read the owners");
  std::map<std::string, std::string> owners;
  for (KeyValue& kv : *keys) owners[kv.key.substr(owners_prefix.size())] = std::move(kv.value);
  return owners;
}

Status ValidateInstanceId(const std::string& id) {
  if (id.empty() || id.size() > 63) {
    return Status::InvalidArgument("--instance-id must be 1 to 63 characters (got " +
                                   std::to_string(id.size()) +
                                   "); name each replica, e.g. --instance-id sluice-0");
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("--instance-id \"" + id +
                                     "\" may hold only letters, digits, '.', '_' and '-'");
    }
  }
  return Status::Ok();
}

Ownership::Ownership(EtcdClient& etcd, const Clock& clock, Waiter& waiter, OwnershipOptions options)
    : etcd_(etcd), clock_(clock), waiter_(waiter), options_(std::move(options)) {
  environments_ = options_.environments;
  std::random_device random;
  process_nonce_ =
      Hex64((static_cast<uint64_t>(random()) << 32) ^ random() ^ static_cast<uint64_t>(::getpid()));
}

std::string Ownership::MemberValue() const { return options_.instance_id + " " + process_nonce_; }

void Ownership::SetEnvironments(std::vector<std::string> environments) {
  std::lock_guard lock(mu_);
  environments_ = std::move(environments);
}

Ownership::~Ownership() { Stop(true); }

std::string Ownership::MemberKey(const std::string& instance_id) const {
  return options_.key_prefix + "members/" + instance_id;
}

std::string Ownership::OwnerKey(const std::string& env) const {
  return options_.key_prefix + "owners/" + env;
}

std::chrono::milliseconds Ownership::CheckInterval() const {
  if (options_.check_interval.count() > 0) return options_.check_interval;
  return std::min<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 3,
      std::chrono::seconds(2));
}

std::chrono::milliseconds Ownership::Margin() const {
  if (options_.safety_margin.count() > 0) return options_.safety_margin;
  return std::chrono::duration_cast<std::chrono::milliseconds>(options_.lease_ttl) / 5;
}

Status Ownership::Join() {
  SLUICE_RETURN_IF_ERROR(ValidateInstanceId(options_.instance_id));
  if (options_.lease_ttl < std::chrono::seconds(2)) {
    return Status::InvalidArgument("--lease-ttl must be at least 2s (etcd's smallest lease)");
  }
  if (Margin() >= options_.lease_ttl) {
    return Status::InvalidArgument("the safety margin must be shorter than --lease-ttl");
  }
  if (options_.key_prefix.empty() || options_.key_prefix.back() != '/') {
    return Status::InvalidArgument("the etcd key prefix must end in '/' (use KeyPrefixFor)");
  }
  Status s = Tick();
  // Another lease holding this instance id is not fatal at start: after a
  // crash the old lease lingers for up to a TTL. The state says why this
  // replica holds nothing, and each round retries.
  return s.IsConflict() ? Status::Ok() : s;
}

Status Ownership::Start() {
  SLUICE_RETURN_IF_ERROR(Join());
  std::lock_guard lock(loop_mu_);
  if (stopping_ || loop_.joinable()) return Status::Ok();
  loop_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void Ownership::Loop() {
  const auto interval = std::chrono::duration_cast<TimePoint::duration>(CheckInterval());
  std::unique_lock lock(loop_mu_);
  TimePoint next = clock_.Now() + interval;  // Join() ran the first round
  while (!stopping_) {
    while (!stopping_ && clock_.Now() < next) waiter_.WaitUntil(loop_cv_, lock, next);
    if (stopping_) break;
    // The next round is due one interval after this one began: a slow
    // round does not push keepalives further apart.
    next = clock_.Now() + interval;
    lock.unlock();
    (void)Tick();  // the outcome is in State(); the loop goes on either way
    lock.lock();
  }
}

void Ownership::Stop(bool revoke) {
  {
    std::lock_guard lock(loop_mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (!revoke) return;
  std::lock_guard round(round_mu_);
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_id_;
  }
  // A failed revoke is harmless: the lease expires within its TTL.
  if (lease != 0) (void)etcd_.RevokeLease(lease);
  LoseAll("stopped");
}

void Ownership::LoseAll(const std::string& why) {
  std::lock_guard lock(mu_);
  lease_changes_ += owned_.size();
  owned_.clear();
  gained_at_.clear();
  taken_from_.clear();
  lease_id_ = 0;
  registered_ = false;
  last_error_ = why;
}

std::optional<std::string> Ownership::MayResume(const std::string& env,
                                                const std::string& started_by,
                                                std::chrono::milliseconds longest) const {
  if (longest.count() <= 0) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = gained_at_.find(env);
  if (it == gained_at_.end()) return "not held by this replica";
  const TimePoint until = it->second + longest;
  if (clock_.Now() >= until) return std::nullopt;
  // Taken from `started_by`, which is back as another process (its member
  // key names a new process): the process that ran the apply is gone, and
  // its adapter died with it (the runner's death signal and group guard). A
  // replica that was only cut off comes back as the same process: wait.
  auto from = taken_from_.find(env);
  auto member = member_value_.find(started_by);
  if (from != taken_from_.end() && from->second.instance == started_by &&
      !from->second.member.empty() && member != member_value_.end() &&
      member->second != from->second.member) {
    return std::nullopt;
  }
  return "waiting until " + FormatRfc3339(until) + " (the adapter's longest run, " +
         std::to_string(std::chrono::duration_cast<std::chrono::seconds>(longest).count()) +
         "s, since this replica took " + env +
         " over) before resuming: the replica that started it may still be running it";
}

Status Ownership::Tick() {
  std::lock_guard round(round_mu_);
  {
    std::lock_guard lock(loop_mu_);
    if (stopping_) return Status::Cancelled("ownership stopped");
  }
  const TimePoint sent = clock_.Now();
  bool gained = false;
  Status s = RoundLocked(sent, &gained);
  {
    std::lock_guard lock(mu_);
    ++rounds_;
    last_error_ = s.ok() ? "" : s.message();
    // etcd said the lease is gone (a put on it refused) although this
    // replica did not renew-and-fail yet: renew next round, which notices.
    if (s.IsNotFound()) last_keepalive_ = TimePoint{};
  }
  if (gained && options_.on_gain) options_.on_gain();
  return s;
}

Status Ownership::EnsureLease(TimePoint sent) {
  int64_t lease = 0;
  TimePoint last_keepalive{};
  {
    std::lock_guard lock(mu_);
    lease = lease_id_;
    last_keepalive = last_keepalive_;
  }
  if (lease != 0) {
    // Renew in the last round before the lease would be TTL/3 old.
    const auto every = std::chrono::duration_cast<TimePoint::duration>(options_.lease_ttl) / 3;
    if (sent + CheckInterval() <= last_keepalive + every) return Status::Ok();
    auto ttl = etcd_.KeepAliveOnce(lease);
    if (ttl.ok()) {
      std::lock_guard lock(mu_);
      valid_until_ = sent + std::chrono::seconds(*ttl) - Margin();
      last_keepalive_ = sent;
      return Status::Ok();
    }
    if (!ttl.status().IsNotFound()) {
      return ttl.status().WithContext("cannot renew etcd lease " + std::to_string(lease));
    }
    // Expired (etcd was unreachable for longer than the TTL, or this
    // process stalled): everything it held is gone; start afresh.
    LoseAll("lease " + std::to_string(lease) + " expired");
  }
  auto granted = etcd_.GrantLease(options_.lease_ttl.count());
  if (!granted.ok()) return granted.status().WithContext("cannot get an etcd lease");
  std::lock_guard lock(mu_);
  lease_id_ = granted->id;
  valid_until_ = sent + std::chrono::seconds(granted->ttl_seconds) - Margin();
  last_keepalive_ = sent;
  registered_ = false;
  return Status::Ok();
}

Status Ownership::Register() {
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    if (registered_) return Status::Ok();
    lease = lease_id_;
  }
  const std::string key = MemberKey(options_.instance_id);
  auto r = etcd_.PutIfAbsent(key, MemberValue(), lease);
  if (!r.ok()) return r.status().WithContext("cannot register as a member");
  if (!r->succeeded && !r->ranges.empty() && !r->ranges[0].empty() &&
      r->ranges[0][0].lease != lease) {
    return Status::Conflict(
        "instance id \"" + options_.instance_id + "\" is registered in etcd under another lease (" +
        key +
        "): another replica runs with the same --instance-id, or this one restarted less than "
        "the lease TTL ago; give each replica its own --instance-id (this one retries every "
        "round)");
  }
  std::lock_guard lock(mu_);
  registered_ = true;
  return Status::Ok();
}

Status Ownership::RoundLocked(TimePoint sent, bool* gained) {
  SLUICE_RETURN_IF_ERROR(EnsureLease(sent));
  SLUICE_RETURN_IF_ERROR(Register());
  int64_t lease = 0;
  {
    std::lock_guard lock(mu_);
    lease = lease_id_;
  }
  const std::string& me = options_.instance_id;

  // One read of the whole prefix (members and owners): with the keepalive,
  // two requests per round on an idle replica.
  auto all = etcd_.GetPrefix(options_.key_prefix);
  if (!all.ok()) return all.status().WithContext("cannot read members and owners");
  const std::string members_prefix = options_.key_prefix + "members/";
  const std::string owners_prefix = options_.key_prefix + "owners/";
  size_t live = 0;
  bool listed = false;
  std::map<std::string, KeyValue> by_env;
  std::map<std::string, std::string> member_value;
  for (KeyValue& kv : *all) {
    if (kv.key.rfind(members_prefix, 0) == 0) {
      ++live;
      member_value[kv.key.substr(members_prefix.size())] = kv.value;
      listed = listed || (kv.key == MemberKey(me) && kv.lease == lease);
    } else if (kv.key.rfind(owners_prefix, 0) == 0) {
      std::string env = kv.key.substr(owners_prefix.size());
      by_env[env] = std::move(kv);
    }
  }
  if (!listed) {
    // Someone deleted the member key while the lease lives: put it back.
    {
      std::lock_guard lock(mu_);
      registered_ = false;
    }
    SLUICE_RETURN_IF_ERROR(Register());
    ++live;
  }

  // Preference order: each replica walks the environments in its own
  // (hashed) order, so replicas starting together rarely race for the same
  // key; it releases from the end of that order.
  std::vector<std::string> order;
  {
    std::lock_guard lock(mu_);
    order = environments_;
  }
  std::sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return Fnv1a64(me + "\n" + a) < Fnv1a64(me + "\n" + b);
  });

  std::map<std::string, Owned> mine;
  std::map<std::string, std::string> owner_of;
  Status first_error;
  auto note = [&](Status s) {
    if (first_error.ok() && !s.ok()) first_error = s;
  };
  for (const std::string& env : order) {
    auto it = by_env.find(env);
    if (it == by_env.end()) continue;
    const KeyValue& kv = it->second;
    if (kv.value == me && kv.lease == lease) {
      mine[env] = {kv.mod_revision};
      owner_of[env] = me;
    } else if (kv.value == me) {
      // Left by an earlier lease of this instance id (a restart within the
      // TTL); the member key proves no other live replica uses the id.
      auto gone = etcd_.DeleteIfUnchanged(kv.key, kv.mod_revision);
      if (!gone.ok()) note(gone.status());
      if (gone.ok() && *gone) by_env.erase(it);
    } else {
      owner_of[env] = kv.value;
    }
  }

  // Environments that left the pipeline: give their keys back.
  for (const auto& [env, kv] : by_env) {
    if (kv.value != me || kv.lease != lease) continue;
    if (std::find(order.begin(), order.end(), env) != order.end()) continue;
    auto gone = etcd_.DeleteIfUnchanged(kv.key, kv.mod_revision);
    if (!gone.ok()) note(gone.status());
  }

  const size_t total = order.size();
  const size_t share = live == 0 ? total : (total + live - 1) / live;
  uint64_t changes = 0;

  std::multiset<std::string> held;
  {
    std::lock_guard lock(mu_);
    held = held_;
  }
  for (auto env = order.rbegin(); env != order.rend() && mine.size() > share; ++env) {
    auto it = mine.find(*env);
    if (it == mine.end() || held.count(*env) > 0) continue;
    auto gone = etcd_.DeleteIfUnchanged(OwnerKey(*env), it->second.mod_revision);
    if (!gone.ok()) {
      note(gone.status());
      break;
    }
    mine.erase(it);  // released, or moved under us: not ours either way
    owner_of.erase(*env);
    ++changes;
  }

  for (const std::string& env : order) {
    if (mine.size() >= share || !first_error.ok()) break;
    if (mine.count(env) > 0 || owner_of.count(env) > 0) continue;
    auto r = etcd_.PutIfAbsent(OwnerKey(env), me, lease);
    if (!r.ok()) {
      note(r.status().WithContext("cannot claim " + env));
      break;
    }
    if (r->succeeded) {
      mine[env] = {r->revision};
      owner_of[env] = me;
    } else if (!r->ranges.empty() && !r->ranges[0].empty()) {
      owner_of[env] = r->ranges[0][0].value;
    }
  }

  std::lock_guard lock(mu_);
  for (const auto& [env, _] : owned_) {
    if (mine.count(env) == 0) ++changes;
  }
  for (const auto& [env, _] : mine) {
    if (owned_.count(env) == 0) {
      ++changes;
      *gained = true;
    }
  }
  lease_changes_ += changes;
  for (auto it = gained_at_.begin(); it != gained_at_.end();) {
    it = mine.count(it->first) > 0 ? std::next(it) : gained_at_.erase(it);
  }
  for (const auto& [env, _] : mine) {
    if (gained_at_.emplace(env, sent).second) {
      auto seen = last_other_owner_.find(env);
      if (seen != last_other_owner_.end()) {
        taken_from_[env] = seen->second;
      } else {
        taken_from_.erase(env);
      }
    }
  }
  for (const auto& [env, kv] : by_env) {
    if (kv.value == me) continue;
    auto member = member_value.find(kv.value);
    last_other_owner_[env] = {kv.value, member == member_value.end() ? "" : member->second};
  }
  member_value_ = std::move(member_value);
  owned_ = std::move(mine);
  owner_of_ = std::move(owner_of);
  live_members_ = live;
  return first_error;
}

namespace {

std::string NotReadyReason(int64_t lease, TimePoint valid_until, const std::string& last_error,
                           TimePoint now) {
  if (!last_error.empty()) return last_error;
  if (lease == 0) return "no etcd lease yet";
  if (now >= valid_until) {
    return "etcd lease " + std::to_string(lease) + " not renewed in time (valid until " +
           FormatRfc3339(valid_until) + " by this replica's clock)";
  }
  return "";
}

}  // namespace

bool Ownership::Owns(const std::string& env) const {
  const TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  return NotReadyReason(lease_id_, valid_until_, last_error_, now).empty() && owned_.count(env) > 0;
}

OwnershipState Ownership::State() const {
  const TimePoint now = clock_.Now();
  std::lock_guard lock(mu_);
  OwnershipState s;
  s.instance_id = options_.instance_id;
  s.lease_id = lease_id_;
  s.lease_valid_until = valid_until_;
  for (const auto& [env, _] : owned_) s.owned.push_back(env);
  s.owner_of = owner_of_;
  s.live_members = live_members_;
  s.lease_changes = lease_changes_;
  s.rounds = rounds_;
  s.not_ready_reason = NotReadyReason(lease_id_, valid_until_, last_error_, now);
  return s;
}

FenceResult Ownership::Fence(const std::string& env) {
  int64_t lease = 0;
  int64_t revision = 0;
  TimePoint valid_until{};
  {
    const TimePoint now = clock_.Now();
    std::lock_guard lock(mu_);
    std::string reason = NotReadyReason(lease_id_, valid_until_, last_error_, now);
    if (!reason.empty()) return {false, "fenced: " + reason};
    auto it = owned_.find(env);
    if (it == owned_.end()) {
      auto other = owner_of_.find(env);
      return {false, "fenced: " + env + " is not owned by this replica (" +
                         (other == owner_of_.end() ? std::string("no owner yet")
                                                   : "owner: " + other->second) +
                         ")"};
    }
    lease = lease_id_;
    revision = it->second.mod_revision;
    valid_until = valid_until_;
  }
  const std::string key = OwnerKey(env);
  auto kv = etcd_.Get(key);
  if (!kv.ok()) {
    if (kv.status().IsNotFound()) {
      return {false, "fenced: owner key " + key + " is gone (lease expired or released)"};
    }
    return {false, "fenced: cannot prove ownership of " + env + ": " + kv.status().message()};
  }
  if (kv->value != options_.instance_id || kv->lease != lease || kv->mod_revision != revision) {
    return {false, "fenced: owner key " + key + " moved (now \"" + kv->value + "\", lease " +
                       std::to_string(kv->lease) + ", revision " +
                       std::to_string(kv->mod_revision) + "; this replica holds lease " +
                       std::to_string(lease) + " at revision " + std::to_string(revision) + ")"};
  }
  // The read took time: the lease must still be valid now that it is back.
  if (clock_.Now() >= valid_until) {
    return {false, "fenced: etcd lease " + std::to_string(lease) + " ran out during the check"};
  }
  return {true, ""};
}

Ownership::HoldToken::HoldToken(HoldToken&& other) noexcept
    : owner_(other.owner_), env_(std::move(other.env_)) {
  other.owner_ = nullptr;
}

Ownership::HoldToken::~HoldToken() {
  if (owner_ == nullptr) return;
  std::lock_guard lock(owner_->mu_);
  auto it = owner_->held_.find(env_);
  if (it != owner_->held_.end()) owner_->held_.erase(it);
}

Result<Ownership::HoldToken> Ownership::Hold(const std::string& env) {
  // Held before the proof, so no round can release it between the two.
  {
    std::lock_guard lock(mu_);
    held_.insert(env);
  }
  HoldToken token(this, env);
  FenceResult f = Fence(env);
  if (!f.held) return Status::FailedPrecondition(f.reason);
  return token;
}

bool Ownership::Admit(const std::string& env, std::string* why) {
  bool held_already = false;
  {
    std::lock_guard lock(admit_mu_);
    held_already = admitted_.count(env) > 0;
  }
  if (held_already) {
    FenceResult f = Fence(env);
    if (!f.held && why != nullptr) *why = f.reason;
    return f.held;
  }
  auto hold = Hold(env);
  if (!hold.ok()) {
    if (why != nullptr) *why = hold.status().message();
    return false;
  }
  std::lock_guard lock(admit_mu_);
  admitted_.emplace(env, std::move(*hold));
  return true;
}

void Ownership::Done(const std::string& env) {
  std::lock_guard lock(admit_mu_);
  admitted_.erase(env);
}

}  // namespace sluice::ha
