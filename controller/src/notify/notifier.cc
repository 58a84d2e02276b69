#include "notify/notifier.h"

#include <date/date.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "notify/payload.h"

namespace sluice::notify {
namespace {

using std::chrono::milliseconds;

// A transport error names the URL it was sent to (net::HttpClient strips only
// user:password); replace it by the target's redacted name.
std::string Scrub(std::string message, const Target& target) {
  for (const std::string& secret : {net::RedactUrl(target.url), target.url}) {
    if (secret.empty()) continue;
    for (auto pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos)) {
      message.replace(pos, secret.size(), target.name);
      pos += target.name.size();
    }
  }
  return message;
}

}  // namespace

std::optional<milliseconds> ParseRetryAfter(const std::string& value, TimePoint now) {
  std::string v = value;
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  if (v.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec == std::errc() && end == v.data() + v.size()) {
    if (seconds < 0) return std::nullopt;
    return milliseconds(std::min<long long>(seconds, 86400) * 1000);
  }
  std::istringstream in(v);
  date::sys_seconds when;
  in >> date::parse("%a, %d %b %Y %H:%M:%S GMT", when);
  if (in.fail()) return std::nullopt;
  auto delta = std::chrono::duration_cast<milliseconds>(when - now);
  return std::max(delta, milliseconds(0));
}

AttemptVerdict JudgeAttempt(const Result<net::HttpResponse>& result, TimePoint now) {
  AttemptVerdict v;
  if (!result.ok()) {
    v.kind = AttemptVerdict::Kind::kRetry;
    v.detail = result.status().message();
    return v;
  }
  const long status = result->status;
  v.detail = "HTTP " + std::to_string(status);
  if (status >= 200 && status < 300) {
    v.kind = AttemptVerdict::Kind::kSent;
  } else if (status == 408 || status == 429 || status >= 500) {
    v.kind = AttemptVerdict::Kind::kRetry;
    if (status == 429 || status == 503) {
      v.retry_after = ParseRetryAfter(result->Header("retry-after"), now);
    }
  } else {
    v.kind = AttemptVerdict::Kind::kGiveUp;
  }
  return v;
}

Notifier::Notifier(net::HttpClient& http, const Clock& clock, Waiter& waiter,
                   NotifierOptions options)
    : http_(http), clock_(clock), waiter_(waiter), options_(options) {}

Notifier::~Notifier() { Shutdown(milliseconds(0)); }

void Notifier::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  worker_ = std::thread([this] { Run(); });
}

void Notifier::Notify(const record::Event& e,
                      const std::vector<std::shared_ptr<const Target>>& targets,
                      const std::string& commit_url) {
  if (!IsNotified(e.kind) || targets.empty()) return;
  const std::string kind(record::EventKindName(e.kind));
  std::vector<Delivery> made;
  for (const auto& t : targets) {
    Delivery d;
    d.target = t;
    d.kind = kind;
    d.what = e.env + "/" + e.app + " " + kind;
    d.headers.emplace_back("Content-Type", "application/json");
    if (t->kind == Target::Kind::kSlack) {
      d.body = SlackPayload(e, commit_url);
    } else {
      std::string id = NewDeliveryId();
      d.body = WebhookPayload(e, commit_url, id);
      d.headers.emplace_back("X-Sluice-Event", kind);
      d.headers.emplace_back("X-Sluice-Delivery", id);
      if (!t->secret.empty()) {
        d.headers.emplace_back("X-Sluice-Signature-256", SignatureHeaderValue(t->secret, d.body));
      }
    }
    made.push_back(std::move(d));
  }
  std::lock_guard lock(mu_);
  if (stopping_) {
    stats_.dropped += made.size();
    return;
  }
  for (auto& d : made) {
    d.not_before = clock_.Now();
    PushLocked(std::move(d));
  }
  cv_.notify_all();
}

void Notifier::PushLocked(Delivery d) {
  while (queue_.size() >= std::max<size_t>(options_.capacity, 1)) {
    spdlog::warn("notification queue full ({}): dropped {} to {}", options_.capacity,
                 queue_.front().what, queue_.front().target->name);
    queue_.pop_front();
    ++stats_.dropped;
  }
  queue_.push_back(std::move(d));
}

milliseconds Notifier::Backoff(int attempts) const {
  milliseconds b = options_.initial_backoff;
  for (int i = 1; i < attempts && b < options_.max_backoff; ++i) b *= 2;
  return std::min(b, options_.max_backoff);
}

void Notifier::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    const TimePoint now = clock_.Now();
    auto next = std::min_element(
        queue_.begin(), queue_.end(),
        [](const Delivery& a, const Delivery& b) { return a.not_before < b.not_before; });
    // Stopping: done when nothing is left, the drain is over, or nothing left
    // falls due before the drain ends (waiting for it would only delay exit).
    if (stopping_ &&
        (next == queue_.end() || now >= drain_deadline_ || next->not_before > drain_deadline_)) {
      break;
    }
    if (next == queue_.end() || next->not_before > now) {
      TimePoint until = next == queue_.end() ? TimePoint::max() : next->not_before;
      if (stopping_) until = std::min(until, drain_deadline_);
      waiter_.WaitUntil(cv_, lock, until);
      continue;
    }
    Delivery d = std::move(*next);
    queue_.erase(next);
    in_flight_ = true;
    milliseconds timeout = options_.request_timeout;
    if (stopping_) {
      // Draining: an attempt may not outlast the drain by much.
      auto left = std::chrono::duration_cast<milliseconds>(drain_deadline_ - now);
      timeout = std::clamp(left, milliseconds(1000), options_.request_timeout);
    }
    lock.unlock();

    net::HttpRequest req;
    req.method = "POST";
    req.url = d.target->url;
    req.headers = d.headers;
    req.body = d.body;
    req.timeout = timeout;
    req.follow_redirects = false;  // a redirected POST would lose its body
    req.max_body_bytes = 64 * 1024;
    Result<net::HttpResponse> result = http_.Send(req);
    ++d.attempts;
    AttemptVerdict v = JudgeAttempt(result, clock_.Now());
    v.detail = Scrub(v.detail, *d.target);

    lock.lock();
    in_flight_ = false;
    switch (v.kind) {
      case AttemptVerdict::Kind::kSent:
        ++stats_.sent[d.kind];
        spdlog::debug("notified {} of {} (attempt {})", d.target->name, d.what, d.attempts);
        break;
      case AttemptVerdict::Kind::kGiveUp:
        ++stats_.failed[d.kind];
        spdlog::error("notification of {} to {} failed: {} (not retried: the receiver refused it)",
                      d.what, d.target->name, v.detail);
        break;
      case AttemptVerdict::Kind::kRetry:
        if (d.attempts >= options_.max_attempts) {
          ++stats_.failed[d.kind];
          spdlog::error("notification of {} to {} failed after {} attempts: {}", d.what,
                        d.target->name, d.attempts, v.detail);
          break;
        }
        milliseconds wait = v.retry_after ? std::min(*v.retry_after, options_.max_retry_after)
                                          : Backoff(d.attempts);
        spdlog::warn("notification of {} to {}: {}; attempt {} of {} in {} ms", d.what,
                     d.target->name, v.detail, d.attempts + 1, options_.max_attempts, wait.count());
        ++stats_.retries;
        d.not_before = clock_.Now() + wait;
        PushLocked(std::move(d));
        break;
    }
    if (queue_.empty()) idle_cv_.notify_all();
  }
  for (const Delivery& d : queue_) {
    ++stats_.failed[d.kind];
    spdlog::error("notification of {} to {} abandoned at shutdown after {} attempt(s)", d.what,
                  d.target->name, d.attempts);
  }
  queue_.clear();
  idle_cv_.notify_all();
}

void Notifier::Shutdown(milliseconds drain) {
  std::thread worker;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = clock_.Now() + drain;
    }
    worker = std::move(worker_);
    cv_.notify_all();
  }
  if (worker.joinable()) worker.join();
  std::lock_guard lock(mu_);
  if (!started_ && !queue_.empty()) {
    // Never started: nothing could be delivered.
    for (const Delivery& d : queue_) ++stats_.failed[d.kind];
    queue_.clear();
  }
}

bool Notifier::WaitIdle(milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !in_flight_; });
}

Stats Notifier::Snapshot() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.queue_depth = queue_.size() + (in_flight_ ? 1 : 0);
  return s;
}

}  // namespace sluice::notify
