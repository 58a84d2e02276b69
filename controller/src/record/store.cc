#include "record/store.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "record/refs.h"

namespace sluice::record {

namespace {
// The wait before the flusher tries again after a failed push, doubling up
// to the maximum (a Flush() or new events do not shorten it; the pass's own
// Sync pushes too).
constexpr std::chrono::milliseconds kRetryFirst{500};
constexpr std::chrono::milliseconds kRetryMax{30000};
// The shortest time between the starts of two background flushes: events of
// a fleet-wide pass gather into batches (each flush rewrites the notes it
// touches once) while the lag to the remote stays well under a second.
constexpr std::chrono::milliseconds kFlushSpacing{200};
// A batch of at least this many refs gives its freed memory back (FlushOnce).
constexpr size_t kTrimAfterRefs = 64;
}  // namespace

RecordStore::RecordStore(Workspace& ws, EventObserver observer)
    : ws_(ws), observer_(std::move(observer)) {}

RecordStore::~RecordStore() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  bool pending = false;
  {
    std::lock_guard lock(mu_);
    pending = written_ != pushed_;
  }
  if (pending) {
    if (Status s = Flush(); !s.ok()) {
      spdlog::warn("the record is kept in {}/record-journal and pushed by the next run: {}",
                   ws_.workdir(), s.ToString());
    }
  }
}

void RecordStore::StartFlusherLocked() {
  if (!flusher_.joinable() && !stop_) flusher_ = std::thread([this] { FlusherLoop(); });
}

Status RecordStore::Write(const Event& e, const std::vector<RefUpdate>& refs) {
  bool wait_for_push = false;
  {
    std::lock_guard lock(ws_.mutex());
    if (e.kind == EventKind::kApplying) {
      // Not RecordPushError(): that takes the mutex held here.
      if (std::string why = ws_.RecordPushErrorLocked(); !why.empty()) {
        return Status::FailedPrecondition("the record cannot be pushed (" + why + ")");
      }
    }
    // Signed in-process (one Ed25519 signature, microseconds): other
    // replicas and `sluice audit --verify` check it against
    // trust.controllerKeys.
    // An `applying` (and a release step's, deploy.strategy) is on disk
    // before its adapter starts: a restart resumes from it.
    const bool starts_adapter =
        e.kind == EventKind::kApplying || (e.kind == EventKind::kStep && e.phase == "applying");
    SLUICE_RETURN_IF_ERROR(ws_.JournalEventLocked(e, ws_.keys().SignLine(EventToJsonLine(e)),
                                                  /*sync=*/starts_adapter));
    std::vector<std::string> names;
    for (const auto& r : refs) names.push_back(r.name);
    // Journal the names first: a crash before the push still gets them pushed.
    SLUICE_RETURN_IF_ERROR(ws_.NoteUnpushedLocked(names));
    // Record names only (refs.h), so one transaction without libgit2's
    // O(refs) name check per write (Repository::SetRefs).
    std::vector<std::pair<std::string, std::string>> updates;
    updates.reserve(refs.size());
    for (const auto& r : refs) updates.emplace_back(r.name, r.commit);
    SLUICE_RETURN_IF_ERROR(ws_.repo().SetRefs(
        updates, "sluice: " + std::string(EventKindName(e.kind)) + " " + e.env + "/" + e.app));
    ws_.NoteLooseRefs(updates.size());
    std::lock_guard store_lock(mu_);
    for (auto& n : names) unpushed_refs_.push_back(std::move(n));
    ++written_;
    wait_for_push = e.kind == EventKind::kApplying && !proven_;
    if (!wait_for_push) StartFlusherLocked();
  }
  if (wait_for_push) {
    // The first `applying` of this process: on the remote before Write
    // returns, or refused.
    if (Status s = Flush(); !s.ok()) {
      return Status::FailedPrecondition("the record cannot be pushed (" + s.ToString() + ")");
    }
    std::lock_guard lock(mu_);
    StartFlusherLocked();
  }
  wake_.notify_all();
  // Outside the lock: an observer may read the workspace (the settings at the
  // head) and must never hold up other writers.
  if (observer_) observer_(e);
  return Status::Ok();
}

Status RecordStore::StageLocked(const std::vector<std::string>& names) {
  if (names.empty()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(ws_.NoteUnpushedLocked(names));
  {
    std::lock_guard store_lock(mu_);
    unpushed_refs_.insert(unpushed_refs_.end(), names.begin(), names.end());
    ++written_;
    StartFlusherLocked();
  }
  wake_.notify_all();
  return Status::Ok();
}

Status RecordStore::Flush() {
  uint64_t target = 0;
  {
    std::lock_guard lock(mu_);
    target = written_;
  }
  std::lock_guard flush(flush_mu_);
  {
    std::lock_guard lock(mu_);
    if (pushed_ >= target) return Status::Ok();  // a flush since has carried it
  }
  return FlushOnce();
}

Status RecordStore::FlushOnce() {
  uint64_t target = 0;
  uint64_t covered = 0;
  std::vector<std::string> refs;
  {
    std::lock_guard lock(ws_.mutex());
    {
      std::lock_guard store_lock(mu_);
      target = written_;
      refs.swap(unpushed_refs_);
    }
    auto folded = ws_.FoldJournalLocked();
    if (!folded.ok()) {
      std::lock_guard store_lock(mu_);
      unpushed_refs_.insert(unpushed_refs_.end(), refs.begin(), refs.end());
      return folded.status();
    }
    covered = *folded;
  }
  std::sort(refs.begin(), refs.end());
  refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
  if (!push_repo_) {
    auto opened = git::Repository::Open(ws_.repo().path());
    if (!opened.ok()) return opened.status().WithContext("open the cache to push the record");
    push_repo_ = std::move(*opened);
  }
  const auto start = std::chrono::steady_clock::now();
  Status pushed = ws_.PushRecordThrough(*push_repo_, refs);
  spdlog::debug("record: pushed {} ref(s) and the notes in {} ms{}", refs.size(),
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start)
                    .count(),
                pushed.ok() ? "" : " (failed)");
  if (!pushed.ok()) {
    std::lock_guard store_lock(mu_);
    unpushed_refs_.insert(unpushed_refs_.end(), refs.begin(), refs.end());
    return pushed;
  }
  {
    std::lock_guard lock(ws_.mutex());
    if (Status s = ws_.TrimJournalLocked(covered); !s.ok()) {
      // The journal then holds lines the remote has: the next fold skips them.
      spdlog::warn("{}", s.ToString());
    }
  }
  // A push reads the head commit's note whole (megabytes, after a
  // fleet-wide batch) and lists every record ref; give what a large batch
  // freed back at once rather than letting the allocator's arenas keep it.
  // Not after a small one (a webhook's pin): trimming then only made the
  // next pass fault the same pages in again (each fault and trim costs a
  // TLB flush on every core).
  if (refs.size() >= kTrimAfterRefs) ::malloc_trim(0);
  std::lock_guard store_lock(mu_);
  pushed_ = std::max(pushed_, target);
  proven_ = true;
  return Status::Ok();
}

void RecordStore::FlusherLoop() {
  std::chrono::milliseconds retry = kRetryFirst;
  std::unique_lock lock(mu_);
  auto last_start = std::chrono::steady_clock::now() - kFlushSpacing;
  while (!stop_) {
    wake_.wait(lock, [&] { return stop_ || written_ != pushed_; });
    if (stop_) break;
    // Group commit: what arrives meanwhile goes in the same batch. (A
    // Flush() call does not wait for this.)
    wake_.wait_until(lock, last_start + kFlushSpacing, [&] { return stop_; });
    if (stop_) break;
    last_start = std::chrono::steady_clock::now();
    lock.unlock();
    Status s;
    {
      std::lock_guard flush(flush_mu_);
      s = FlushOnce();
    }
    lock.lock();
    if (s.ok()) {
      retry = kRetryFirst;
      continue;
    }
    spdlog::warn("could not push the record (kept in {}/record-journal; retrying in {} ms): {}",
                 ws_.workdir(), retry.count(), s.ToString());
    wake_.wait_for(lock, retry, [&] { return stop_; });
    retry = std::min(retry * 2, kRetryMax);
  }
}

std::vector<Event> RecordStore::EventsFor(const std::string& commit, const std::string& env,
                                          const std::string& app) {
  std::lock_guard lock(ws_.mutex());
  return ws_.TrustedEventsForLocked(commit, env, app);
}

std::optional<std::string> RecordStore::Ref(const std::string& name) {
  std::lock_guard lock(ws_.mutex());
  auto id = ws_.repo().ResolveRef(name);
  if (!id.ok()) return std::nullopt;
  return *id;
}

}  // namespace sluice::record
