#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/event.h"
#include "engine/workspace.h"

namespace sluice::engine {

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
// Thread-safe: every method takes the workspace mutex.
class RecordStore {
 public:
  explicit RecordStore(Workspace& ws) : ws_(ws) {}

  // Appends `e` to the note of e.commit, moves `refs`, and pushes both
  // (with anything an earlier Write left unpushed).
  // On a push that fails for transport reasons the record is kept locally and
  // pushed by the next Workspace::Sync(push=true); the error is returned so the
  // caller can refuse to start an apply it could not announce.
  // With `push` false the event and refs are only written locally; the next
  // pushing Write (or Sync) carries them. Use it only for an event that is
  // followed at once by another (an `applied` verified on the spot), never
  // for one that must be on the remote before something starts (`applying`).
  Status Write(const Event& e, const std::vector<RefUpdate>& refs = {}, bool push = true);

  // The events in the note of `commit` (empty if none).
  std::vector<Event> EventsOn(const std::string& commit);

  // The commit a record ref points at, or nullopt.
  std::optional<std::string> Ref(const std::string& name);

 private:
  Workspace& ws_;
  std::vector<std::string> unpushed_refs_;  // from Writes with push=false; guarded by ws_.mutex()
};

}  // namespace sluice::engine
