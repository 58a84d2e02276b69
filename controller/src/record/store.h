#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "record/event.h"
#include "record/workspace.h"

namespace sluice::record {

// A reference to move together with an event: name -> commit.
struct RefUpdate {
  std::string name;
  std::string commit;
};

// RecordStore writes and reads the record in Git (SPEC section 6): events as
// JSON lines in notes under refs/notes/sluice on the commit acted on, and the
// refs/sluice/* references. Every write is pushed before it returns, so an
// `applying` event is on the remote before the apply starts.
//
// Called once for every event that Write recorded (the note is written
// locally, and pushed unless the push failed), after the workspace mutex is
// released, on the thread that called Write. Must be thread-safe (environments
// are reconciled in parallel) and must not block: notifications only enqueue.
using EventObserver = std::function<void(const Event&)>;

// Thread-safe: every method takes the workspace mutex.
class RecordStore {
 public:
  explicit RecordStore(Workspace& ws, EventObserver observer = {})
      : ws_(ws), observer_(std::move(observer)) {}

  // Appends `e` to the note of e.commit, moves `refs`, and pushes both
  // (with anything an earlier Write left unpushed).
  // On a push that fails for transport reasons the record is kept locally and
  // pushed by the next Workspace::Sync(push=true); the error is returned so the
  // caller can refuse to start an apply it could not announce.
  // With `push` false the event and refs are only written locally; the next
  // pushing Write (or Sync) carries them. Use it only for an event that is
  // followed at once by another (an `applied` verified on the spot), never
  // for one that must be on the remote before something starts (`applying`).
  // The observer sees every event that was written locally, pushed or not.
  Status Write(const Event& e, const std::vector<RefUpdate>& refs = {}, bool push = true);

  // The trusted events in the note of `commit` (empty if none); see
  // Workspace::TrustedEventsLocked.
  std::vector<Event> EventsOn(const std::string& commit);

  // The commit a record ref points at, or nullopt.
  std::optional<std::string> Ref(const std::string& name);

 private:
  // The local write (note and refs); sets *written once the note is written.
  Status WriteLocked(const Event& e, const std::vector<RefUpdate>& refs, bool push, bool* written);

  Workspace& ws_;
  std::vector<std::string> unpushed_refs_;  // from Writes with push=false; guarded by ws_.mutex()
  EventObserver observer_;
};

}  // namespace sluice::record
