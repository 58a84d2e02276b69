#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "git/repo.h"
#include "record/event.h"
#include "record/workspace.h"

namespace sluice::record {

// A reference to move together with an event: name -> commit.
struct RefUpdate {
  std::string name;
  std::string commit;
};

// Called once for every event that Write recorded, after the workspace mutex
// is released, on the thread that called Write. Must be thread-safe
// (environments are reconciled in parallel) and must not block:
// notifications only enqueue.
using EventObserver = std::function<void(const Event&)>;

// RecordStore writes and reads the record in Git (SPEC section 6): events as
// JSON lines in notes under refs/notes/sluice on the commit acted on, and the
// refs/sluice/* references.
//
// The write path is a write-ahead journal and a group commit (see
// docs/record.md, "How the record is written"):
//  1. Write signs the event, appends it to <workdir>/record-journal (an
//     `applying` event is fsync'd before Write returns, so no adapter starts
//     before its announcement is durable), moves the refs locally, and
//     returns. Readers of this process see the event at once.
//  2. A flusher thread folds everything journalled since the last flush into
//     the notes in ONE notes commit (each note rewritten once per flush, not
//     once per event) and pushes it with the moved refs in ONE push, without
//     holding the workspace mutex (it pushes through a handle of its own).
//     Events that arrive during a push form the next batch, so the lag to
//     the remote is one push, and a fleet-wide change costs one push per
//     batch instead of two per apply.
//  3. After the push the journal forgets what the remote now holds. A crash
//     at any point loses nothing: the next Open finds the journal, and the
//     next flush folds (without repeats) and pushes it.
// No apply starts that others cannot see: until this store has pushed once
// (the remote is shown to accept the record: in the daemon, usually the
// start pass's stamp, StageLocked), an `applying` event waits for its push,
// and while the record cannot be pushed (Workspace::RecordPushError: the
// last push failed) Write refuses `applying` events.
//
// Thread-safe.
class RecordStore {
 public:
  explicit RecordStore(Workspace& ws, EventObserver observer = {});
  // Stops the flusher after a last flush (its error is logged).
  ~RecordStore();
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;

  // Records `e` on e.commit and moves `refs` (see the class comment). An
  // error means the event is not recorded (the journal cannot be written,
  // or an `applying` event while the record cannot be pushed).
  Status Write(const Event& e, const std::vector<RefUpdate>& refs = {});

  // Pushes everything written before the call; returns once it is on the
  // remote, or why it is not (it stays journalled and is pushed later).
  Status Flush();

  // Queues `names`, record refs the caller has just moved in the cache
  // without an event (the pass stamp, RecordPass), for the next flush: the
  // caller does not wait for a push. Journalled like Write's refs, so a
  // crash before the push still gets them pushed. Caller holds the
  // workspace mutex.
  Status StageLocked(const std::vector<std::string>& names);

  // The trusted events of `env`/`app` on `commit` (empty if none); see
  // Workspace::TrustedEventsForLocked.
  std::vector<Event> EventsFor(const std::string& commit, const std::string& env,
                               const std::string& app);

  // The commit a record ref points at, or nullopt.
  std::optional<std::string> Ref(const std::string& name);

 private:
  // One fold and push; serialized by flush_mu_.
  Status FlushOnce();
  void FlusherLoop();
  void StartFlusherLocked();  // guarded by mu_

  Workspace& ws_;
  EventObserver observer_;
  // Serializes flushes (the flusher thread's and Flush()'s).
  std::mutex flush_mu_;
  // The flusher's own handle on the cache (libgit2 handles are not shared
  // across threads); guarded by flush_mu_.
  std::unique_ptr<git::Repository> push_repo_;
  // Guarded by mu_: the flusher, what is written and pushed (by count), the
  // refs moved since the last push.
  std::mutex mu_;
  std::condition_variable wake_;
  std::thread flusher_;
  bool stop_ = false;
  uint64_t written_ = 0;
  uint64_t pushed_ = 0;
  bool proven_ = false;  // a push of this store succeeded
  std::vector<std::string> unpushed_refs_;
};

}  // namespace sluice::record
