#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/waiter.h"
#include "net/http_client.h"
#include "notify/target.h"
#include "record/event.h"

namespace sluice::notify {

// Counters since start, for /metrics. `sent` and `failed` are keyed by event
// kind ("blocked", "verified", ...). A delivery is counted once: sent, or
// failed when it gave up (attempts exhausted, a permanent 4xx, abandoned at
// shutdown); `dropped` counts deliveries pushed out of a full queue.
struct Stats {
  std::map<std::string, uint64_t> sent;
  std::map<std::string, uint64_t> failed;
  uint64_t dropped = 0;
  uint64_t retries = 0;  // attempts after the first
  size_t queue_depth = 0;
};

struct NotifierOptions {
  size_t capacity = 1000;  // queued deliveries; when full the oldest is dropped
  int max_attempts = 5;    // per delivery, the first included
  std::chrono::milliseconds initial_backoff{std::chrono::seconds(1)};  // doubled each retry
  std::chrono::milliseconds max_backoff{std::chrono::minutes(1)};
  std::chrono::milliseconds max_retry_after{std::chrono::minutes(5)};  // cap on Retry-After
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
};

// What happened to one attempt, decided from the HTTP result. Pure.
struct AttemptVerdict {
  enum class Kind { kSent, kRetry, kGiveUp } kind = Kind::kGiveUp;
  // For kRetry: the receiver's Retry-After (429/503), if it gave one.
  std::optional<std::chrono::milliseconds> retry_after;
  std::string detail;  // "HTTP 500", "connection refused", ...
};
// 2xx sent; transport errors, timeouts, 408, 429 and 5xx are retried; other
// statuses (3xx, 4xx) are permanent. `now` resolves an HTTP-date Retry-After.
AttemptVerdict JudgeAttempt(const Result<net::HttpResponse>& result, TimePoint now);

// Parses a Retry-After value: delay-seconds or an IMF-fixdate
// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`; a past date is 0).
std::optional<std::chrono::milliseconds> ParseRetryAfter(const std::string& value, TimePoint now);

// Notifier delivers notifications off the reconcile path: Notify() builds
// the payloads and enqueues them (it never touches the network), one worker
// thread sends them through the HttpClient, retrying network errors, 5xx and
// 429 with exponential backoff (or the receiver's Retry-After) up to
// max_attempts. The queue is bounded: when full, the oldest delivery is
// dropped and counted. Secrets (the Slack URL, the HMAC key) never appear in
// logs or errors; targets are named by Target::name.
//
// The delivery thread waits for a retry to fall due through `waiter` (on
// `clock`), so tests move a FakeClock instead of sleeping.
//
// Thread-safe. All dependencies are borrowed and must outlive the notifier.
class Notifier {
 public:
  Notifier(net::HttpClient& http, const Clock& clock, Waiter& waiter, NotifierOptions options = {});
  // Shutdown(0) if still running: what is queued is counted as failed.
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Starts the delivery thread. Deliveries enqueued before wait for it.
  void Start();

  // One delivery per target for `e`, when IsNotified(e.kind); `commit_url`
  // (may be empty) becomes the commit link. Returns at once. After Shutdown
  // the event is dropped.
  void Notify(const record::Event& e, const std::vector<std::shared_ptr<const Target>>& targets,
              const std::string& commit_url);

  // Stops accepting, delivers what is queued for up to `drain` (on the
  // notifier's clock; retries that fall due within it are made) and stops
  // the thread. What is left is counted as failed. Idempotent.
  void Shutdown(std::chrono::milliseconds drain);

  // Blocks (real time, at most `timeout`) until nothing is queued or in
  // flight. True when idle. For tests and once-mode diagnostics.
  bool WaitIdle(std::chrono::milliseconds timeout);

  Stats Snapshot() const;

 private:
  struct Delivery {
    std::shared_ptr<const Target> target;
    std::string kind;  // the event kind, the metrics label
    std::string what;  // "prod/api verified", for logs
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    int attempts = 0;
    TimePoint not_before{};
  };
  void Run();
  void PushLocked(Delivery d);
  // The backoff before attempt number `attempts + 1`.
  std::chrono::milliseconds Backoff(int attempts) const;

  net::HttpClient& http_;
  const Clock& clock_;
  Waiter& waiter_;
  const NotifierOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // the worker: new work, shutdown
  std::condition_variable idle_cv_;  // WaitIdle
  std::deque<Delivery> queue_;
  bool in_flight_ = false;
  bool started_ = false;
  bool stopping_ = false;
  TimePoint drain_deadline_ = TimePoint::max();
  Stats stats_;
  std::thread worker_;
};

}  // namespace sluice::notify
