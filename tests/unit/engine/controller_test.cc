// The daemon loop (engine::Controller) on fake time: a fake pass function
// that takes as long as a test says, webhooks and signals placed on a
// timeline, and a real workspace (a local bare remote) for pass stamps.
// Nothing sleeps; every time below is exact.
#include "engine/controller.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "core/time_format.h"
#include "core/version.h"
#include "record/pass_stamp.h"
#include "support/git_servers.h"
#include "support/temp_dir.h"

namespace sluice::engine {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kHeadA(40, 'a');
const std::string kHeadB(40, 'b');

// Fake time for the loop: things placed on a timeline (webhooks, signals)
// happen when the clock reaches them. A wait jumps the clock to its deadline,
// or to the first thing due before it, which then happens with the lock
// released, as it would during a real wait. A fake pass moves the clock by
// its duration with AdvanceTo, and what falls in that span happens meanwhile.
class FakeTime final : public Waiter {
 public:
  explicit FakeTime(TimePoint start) : clock(start) {}

  void At(TimePoint when, std::function<void()> what) { timeline_.emplace(when, std::move(what)); }

  // Moves the clock to `t`, running what is due on the way at its own time.
  void AdvanceTo(TimePoint t) {
    while (auto next = PopDue(t)) {
      clock.Set(std::max(clock.Now(), next->first));
      next->second();
    }
    clock.Set(std::max(clock.Now(), t));
  }

  void WaitUntil(std::condition_variable&, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    waits.push_back({clock.Now(), deadline});
    if (auto next = PopDue(deadline)) {
      clock.Set(std::max(clock.Now(), next->first));
      lock.unlock();
      next->second();
      lock.lock();
      return;
    }
    clock.Set(deadline);
  }

  struct Wait {
    TimePoint from;
    TimePoint deadline;
  };
  FakeClock clock;
  std::vector<Wait> waits;

 private:
  std::optional<std::pair<TimePoint, std::function<void()>>> PopDue(TimePoint by) {
    if (timeline_.empty() || timeline_.begin()->first > by) return std::nullopt;
    auto node = timeline_.extract(timeline_.begin());
    return std::make_pair(node.key(), std::move(node.mapped()));
  }

  std::multimap<TimePoint, std::function<void()>> timeline_;
};

// What one fake pass returns and how long it takes.
struct FakePass {
  Result<record::PassReport> result;
  milliseconds takes{1000};
};

record::PassReport Changed(const std::string& head) {
  record::PassReport r;
  r.head = head;
  r.outcomes.push_back(
      {"prod", "api", head, "sha256:" + std::string(64, 'c'), record::Outcome::kVerified, ""});
  r.pins_read = 3;
  r.duration = milliseconds(5);
  return r;
}

struct Observed {
  std::chrono::duration<double> took;
  TimePoint end;
  std::string what;  // the head, or the error
};

class ControllerTest : public ::testing::Test {
 protected:
  ControllerTest() : start_(*ParseRfc3339("2026-11-24T10:00:00Z")), time_(start_) {
    fs::create_directories(tmp_.Sub("srv"));
    bare_ = testing::MakeBareRepo(tmp_.Sub("srv"), "envs.git");
    auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    if (ws.ok()) ws_ = std::move(*ws);
    options_.interval = seconds(30);
    options_.instance_id = "ctl-test-1";
    options_.jitter_seed = 42;
    options_.on_pass = [this](const record::PassReport& r, std::chrono::duration<double> took,
                              TimePoint end) {
      passes_observed_.push_back({took, end, r.head});
    };
    options_.on_failed_pass = [this](const Status& s, std::chrono::duration<double> took,
                                     TimePoint end) {
      failures_observed_.push_back({took, end, s.ToString()});
    };
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(logs_);
    sink->set_pattern("%l %v");
    previous_logger_ = spdlog::default_logger();
    auto capture = std::make_shared<spdlog::logger>("capture", sink);
    capture->set_level(spdlog::level::info);
    spdlog::set_default_logger(capture);
  }
  ~ControllerTest() override { spdlog::set_default_logger(previous_logger_); }

  // Runs the loop to its end. The pass numbered `stop_during_pass` (from 1)
  // receives the stop signal while it runs, as a SIGTERM would.
  void Run(size_t stop_during_pass) {
    ASSERT_NE(ws_, nullptr);
    stop_during_pass_ = stop_during_pass;
    Controller controller([this] { return Pass(); }, *ws_, time_.clock, time_, stop_, options_);
    controller.Run();
  }

  Result<record::PassReport> Pass() {
    starts_.push_back(time_.clock.Now());
    stamp_before_pass_.push_back(LocalStamp());
    FakePass p{Changed(kHeadA)};
    if (!script_.empty()) {
      p = std::move(script_.front());
      script_.pop_front();
    }
    time_.AdvanceTo(time_.clock.Now() + p.takes);
    if (starts_.size() >= stop_during_pass_) stop_.Cancel();
    return p.result;
  }

  std::optional<record::PassStamp> LocalStamp() {
    std::lock_guard lock(ws_->mutex());
    return record::ReadPassStamp(ws_->repo());
  }

  TimePoint At(milliseconds offset) const { return start_ + offset; }

  // The wait before each pass after the first: from the end of the previous
  // one (which took `took`) to the start of the next.
  std::vector<milliseconds> GapsAfterPasses(milliseconds took) const {
    std::vector<milliseconds> gaps;
    for (size_t i = 1; i < starts_.size(); ++i) {
      gaps.push_back(
          std::chrono::duration_cast<milliseconds>(starts_[i] - (starts_[i - 1] + took)));
    }
    return gaps;
  }

  testing::TempDir tmp_;
  git::LibGit2 libgit2_;
  std::string bare_;
  std::unique_ptr<record::Workspace> ws_;
  const TimePoint start_;
  FakeTime time_;
  CancelToken stop_;
  ControllerOptions options_;
  std::deque<FakePass> script_;
  size_t stop_during_pass_ = 0;
  std::vector<TimePoint> starts_;
  std::vector<std::optional<record::PassStamp>> stamp_before_pass_;
  std::vector<Observed> passes_observed_;
  std::vector<Observed> failures_observed_;
  std::ostringstream logs_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(ControllerTest, RunsAPassAtStartThenOneEveryIntervalWithUpToTenPercentJitter) {
  Run(/*stop_during_pass=*/8);
  ASSERT_EQ(starts_.size(), 8u);
  EXPECT_EQ(starts_[0], start_);
  std::set<milliseconds> distinct;
  for (milliseconds gap : GapsAfterPasses(seconds(1))) {
    EXPECT_GE(gap, seconds(30));
    EXPECT_LE(gap, seconds(33));
    distinct.insert(gap);
  }
  EXPECT_GT(distinct.size(), 1u) << "every wait had the same jitter";
  // Each wait was asked for once, at the end of a pass, for the whole gap.
  ASSERT_EQ(time_.waits.size(), 7u);
  for (size_t i = 0; i < time_.waits.size(); ++i) {
    EXPECT_EQ(time_.waits[i].from, starts_[i] + seconds(1));
    EXPECT_EQ(time_.waits[i].deadline, starts_[i + 1]);
  }
  ASSERT_EQ(passes_observed_.size(), 8u);
  for (size_t i = 0; i < passes_observed_.size(); ++i) {
    EXPECT_DOUBLE_EQ(passes_observed_[i].took.count(), 1.0);
    EXPECT_EQ(passes_observed_[i].end, starts_[i] + seconds(1));
  }
  EXPECT_TRUE(failures_observed_.empty());
}

// Waits end on time: a window that opens (a soak that completes) 12 s after
// the pass started is acted on then, not at the next 30 s interval; a wait
// that ends after the interval changes nothing.
TEST_F(ControllerTest, APassWhoseWaitEndsBeforeTheIntervalIsFollowedWhenItEnds) {
  record::PassReport waiting;
  waiting.head = kHeadA;
  waiting.outcomes.push_back({"prod", "api", kHeadA, "", record::Outcome::kWaiting,
                              "window: opens 10:00:12", At(seconds(12))});
  waiting.next_due = At(seconds(12));
  record::PassReport later = waiting;
  later.next_due = At(seconds(13) + seconds(300));
  script_ = {{waiting, seconds(1)}, {later, seconds(1)}, {Changed(kHeadA), seconds(1)}};
  Run(/*stop_during_pass=*/3);
  ASSERT_EQ(starts_.size(), 3u);
  EXPECT_EQ(starts_[1], At(seconds(12)) + kWaitEndSlack);
  const milliseconds gap = GapsAfterPasses(seconds(1)).at(1);
  EXPECT_GE(gap, seconds(30));
  EXPECT_LE(gap, seconds(33));
}

TEST_F(ControllerTest, AWaitEndingInThePastNeverSpinsFasterThanTheSpacing) {
  record::PassReport waiting;
  waiting.head = kHeadA;
  waiting.next_due = start_ - seconds(5);
  script_ = {{waiting, milliseconds(100)}, {Changed(kHeadA), milliseconds(100)}};
  Run(/*stop_during_pass=*/2);
  ASSERT_EQ(starts_.size(), 2u);
  EXPECT_EQ(starts_[1], start_ + kMinPassSpacing);
}

TEST_F(ControllerTest, AWebhookDuringTheWaitStartsAPassAtOnce) {
  time_.At(At(seconds(10)), [this] { stop_.Wake(); });
  Run(/*stop_during_pass=*/2);
  EXPECT_EQ(starts_, (std::vector<TimePoint>{start_, At(seconds(10))}));
}

TEST_F(ControllerTest, AWebhookRightAfterAPassWaitsForTheMinimumSpacingFromItsStart) {
  script_ = {{Changed(kHeadA), milliseconds(100)}, {Changed(kHeadA), milliseconds(100)}};
  time_.At(At(milliseconds(200)), [this] { stop_.Wake(); });
  Run(/*stop_during_pass=*/2);
  EXPECT_EQ(starts_, (std::vector<TimePoint>{start_, start_ + kMinPassSpacing}));
}

TEST_F(ControllerTest, WebhooksDuringAPassCoalesceIntoOnePassRightAfterIt) {
  script_ = {{Changed(kHeadA), seconds(2)}, {Changed(kHeadA), seconds(2)}};
  for (int ms : {500, 1000, 1500}) {
    time_.At(At(milliseconds(ms)), [this] { stop_.Wake(); });
  }
  Run(/*stop_during_pass=*/3);
  ASSERT_EQ(starts_.size(), 3u);
  EXPECT_EQ(starts_[1], At(seconds(2)));
  // The three deliveries cost one pass: the next waits the interval.
  EXPECT_GE(starts_[2] - (starts_[1] + seconds(2)), seconds(30));
}

TEST_F(ControllerTest, WebhooksDuringTheSpacingCoalesceIntoThePassItDelays) {
  script_ = {{Changed(kHeadA), milliseconds(100)}, {Changed(kHeadA), milliseconds(100)}};
  for (int ms : {200, 300, 400}) {
    time_.At(At(milliseconds(ms)), [this] { stop_.Wake(); });
  }
  Run(/*stop_during_pass=*/3);
  ASSERT_EQ(starts_.size(), 3u);
  EXPECT_EQ(starts_[1], start_ + kMinPassSpacing);
  EXPECT_GE(starts_[2] - (starts_[1] + milliseconds(100)), seconds(30));
}

TEST_F(ControllerTest, AFailingPassIsObservedAsFailedAndTriedAgainSoon) {
  const Status fetch = Status::IOError("fetch git://example/envs.git: connection refused");
  script_ = {{fetch, seconds(3)}, {Changed(kHeadA), seconds(1)}};
  Run(/*stop_during_pass=*/2);
  ASSERT_EQ(starts_.size(), 2u);
  // The first retry: 5 s with jitter (between half of it and all of it).
  const milliseconds gap = GapsAfterPasses(seconds(3)).at(0);
  EXPECT_GE(gap, milliseconds(2500));
  EXPECT_LE(gap, seconds(5));
  ASSERT_EQ(failures_observed_.size(), 1u);
  EXPECT_EQ(failures_observed_[0].what, fetch.ToString());
  EXPECT_DOUBLE_EQ(failures_observed_[0].took.count(), 3.0);
  EXPECT_EQ(failures_observed_[0].end, At(seconds(3)));
  ASSERT_EQ(passes_observed_.size(), 1u);
  EXPECT_EQ(passes_observed_[0].end, starts_[1] + seconds(1));
  // A pass that did not run is not stamped: the controller is not healthy.
  EXPECT_FALSE(stamp_before_pass_.at(1).has_value());
  EXPECT_NE(logs_.str().find("error pass failed: " + fetch.ToString() + "\n"), std::string::npos)
      << logs_.str();
  EXPECT_NE(logs_.str().find("warning 1 failed pass in a row; next try in "), std::string::npos)
      << logs_.str();
}

// A remote that stays down: each retry waits twice as long as the one
// before (5 s, 10 s, ... up to 5 min, the cap when the interval is
// shorter), each with its own jitter; the first pass that runs goes back to
// the interval.
TEST_F(ControllerTest, FailuresInARowBackOffExponentiallyWithJitterUpToACap) {
  const Status fetch = Status::IOError("fetch git://example/envs.git: connection refused");
  for (int i = 0; i < 8; ++i) script_.push_back({fetch, seconds(1)});
  script_.push_back({Changed(kHeadA), seconds(1)});
  script_.push_back({Changed(kHeadA), seconds(1)});
  Run(/*stop_during_pass=*/10);
  ASSERT_EQ(starts_.size(), 10u);
  const std::vector<milliseconds> gaps = GapsAfterPasses(seconds(1));
  const std::vector<seconds> full = {seconds(5),  seconds(10),  seconds(20),  seconds(40),
                                     seconds(80), seconds(160), seconds(300), seconds(300)};
  std::set<long> fractions;  // each gap in thousandths of its full delay
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_GE(gaps[i], full[i] / 2) << "retry " << i + 1;
    EXPECT_LE(gaps[i], full[i]) << "retry " << i + 1;
    fractions.insert(gaps[i] * 1000 / full[i]);
  }
  EXPECT_GT(fractions.size(), 1u) << "every retry had the same jitter";
  // Back to the interval once a pass ran.
  EXPECT_GE(gaps[8], seconds(30));
  EXPECT_LE(gaps[8], seconds(33));
  EXPECT_NE(logs_.str().find("warning 8 failed passes in a row; next try in "), std::string::npos)
      << logs_.str();
}

// A webhook still starts a pass at once while the loop backs off. Four
// failures end by 80 s at the latest (1 s passes, waits of at most 5, 10,
// 20 and 40 s) and the wait after the fifth lasts at least 40 s from at
// most 80 s, so a delivery at 81 s arrives during that wait.
TEST_F(ControllerTest, AWebhookDuringABackOffStartsAPassAtOnce) {
  const Status fetch = Status::IOError("fetch git://example/envs.git: connection refused");
  for (int i = 0; i < 5; ++i) script_.push_back({fetch, seconds(1)});
  time_.At(At(seconds(81)), [this] { stop_.Wake(); });
  Run(/*stop_during_pass=*/6);
  ASSERT_EQ(starts_.size(), 6u);
  EXPECT_EQ(starts_[5], At(seconds(81)));
}

TEST_F(ControllerTest, LogsAPassThatChangedSomethingButNotAQuietOne) {
  record::PassReport quiet;
  quiet.head = kHeadA;
  quiet.unchanged = true;
  script_ = {{Changed(kHeadA)}, {quiet}};
  Run(/*stop_during_pass=*/2);
  EXPECT_EQ(logs_.str(), "info pass at aaaaaaaaaaaa: 1 change(s), 3 pin(s) read, 5 ms\n");
}

TEST_F(ControllerTest, AStopDuringAPassEndsTheLoopOnceThePassIsRecorded) {
  Run(/*stop_during_pass=*/2);
  EXPECT_EQ(starts_.size(), 2u);
  // The interrupted pass still counts and is stamped; no wait follows it.
  ASSERT_EQ(passes_observed_.size(), 2u);
  EXPECT_EQ(time_.waits.size(), 1u);
  EXPECT_EQ(time_.clock.Now(), starts_[1] + seconds(1));
  auto stamp = LocalStamp();
  ASSERT_TRUE(stamp.has_value());
  EXPECT_EQ(stamp->time, At(seconds(1)));  // the same head within a minute: the first stands
}

TEST_F(ControllerTest, AStopDuringTheWaitEndsTheLoopAtOnce) {
  time_.At(At(seconds(10)), [this] { stop_.Cancel(); });
  Run(/*stop_during_pass=*/100);
  EXPECT_EQ(starts_.size(), 1u);
  EXPECT_EQ(time_.clock.Now(), At(seconds(10)));
}

TEST_F(ControllerTest, AStopDuringTheSpacingEndsTheLoopWithoutThePassItDelayed) {
  script_ = {{Changed(kHeadA), milliseconds(100)}};
  time_.At(At(milliseconds(200)), [this] { stop_.Wake(); });
  time_.At(At(milliseconds(300)), [this] { stop_.Cancel(); });
  Run(/*stop_during_pass=*/100);
  EXPECT_EQ(starts_.size(), 1u);
  EXPECT_EQ(time_.clock.Now(), At(milliseconds(300)));
}

TEST_F(ControllerTest, AStoppedControllerRunsNoPass) {
  stop_.Cancel();
  Run(/*stop_during_pass=*/100);
  EXPECT_TRUE(starts_.empty());
  EXPECT_TRUE(time_.waits.empty());
}

TEST_F(ControllerTest, PassStampsAreWrittenAtMostOnceAMinuteUnlessTheHeadMoved) {
  // Passes end about 26-28.5s apart: the head stays, moves at pass 3, stays.
  options_.interval = seconds(25);
  for (const std::string* head : {&kHeadA, &kHeadA, &kHeadB, &kHeadB, &kHeadB, &kHeadB}) {
    script_.push_back({Changed(*head), seconds(1)});
  }
  Run(/*stop_during_pass=*/6);
  ASSERT_EQ(starts_.size(), 6u);
  std::vector<TimePoint> ends;
  for (TimePoint s : starts_) ends.push_back(s + seconds(1));
  ASSERT_LT(ends[1] - ends[0], seconds(60));
  ASSERT_LT(ends[4] - ends[2], seconds(60));
  ASSERT_GE(ends[5] - ends[2], seconds(60));

  // What the local record held after each pass (before the next, then now).
  std::vector<std::optional<record::PassStamp>> after(stamp_before_pass_.begin() + 1,
                                                      stamp_before_pass_.end());
  after.push_back(LocalStamp());
  const std::vector<size_t> written_by = {0, 0, 2, 2, 2, 5};
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_TRUE(after[i].has_value()) << "after pass " << i + 1;
    EXPECT_EQ(after[i]->time, ends[written_by[i]]) << "after pass " << i + 1;
  }
  // Pushed, and carrying what `sluice status` reads.
  auto message = testing::Git(bare_, {"log", "-1", "--format=%B", record::kPassRef});
  auto remote = record::ParsePassStampMessage(message.out);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  record::PassStamp want;
  want.time = ends[5];
  want.head = kHeadB;
  want.branch = "main";
  want.interval = seconds(25);
  want.controller_id = "ctl-test-1";
  want.controller_version = std::string(Version());
  EXPECT_EQ(*remote, want);
}

// A restart (another process, maybe another version) stamps its first pass
// even when the head did not move and the last stamp is seconds old; with a
// store, through the store's flush, which is also that process's proof that
// the remote takes its record (RecordStore).
TEST_F(ControllerTest, TheFirstPassOfAProcessIsStampedThroughTheStore) {
  ASSERT_NE(ws_, nullptr);
  record::PassStamp earlier;
  earlier.time = start_ - seconds(5);
  earlier.head = kHeadA;
  earlier.branch = "main";
  earlier.controller_id = "ctl-before-restart";
  ASSERT_TRUE(record::RecordPass(*ws_, earlier).ok());
  ASSERT_EQ(LocalStamp()->controller_id, "ctl-before-restart");

  record::RecordStore store(*ws_);
  options_.record = &store;
  script_.push_back({Changed(kHeadA), seconds(1)});
  script_.push_back({Changed(kHeadA), seconds(1)});
  Run(/*stop_during_pass=*/2);
  ASSERT_EQ(starts_.size(), 2u);
  // The first pass stamped over a 5-second-old stamp of the same head; the
  // second, under a minute later, did not.
  ASSERT_TRUE(stamp_before_pass_[1].has_value());
  EXPECT_EQ(stamp_before_pass_[1]->controller_id, "ctl-test-1");
  EXPECT_EQ(stamp_before_pass_[1]->time, starts_[0] + seconds(1));
  EXPECT_EQ(LocalStamp()->time, starts_[0] + seconds(1));
  ASSERT_TRUE(store.Flush().ok());
  auto message = testing::Git(bare_, {"log", "-1", "--format=%B", record::kPassRef});
  auto remote = record::ParsePassStampMessage(message.out);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_EQ(remote->controller_id, "ctl-test-1");
}

}  // namespace
}  // namespace sluice::engine
