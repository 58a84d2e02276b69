#include "record/store.h"

#include <algorithm>

#include "record/refs.h"

namespace sluice::record {

Status RecordStore::Write(const Event& e, const std::vector<RefUpdate>& refs, bool push) {
  bool written = false;
  Status s = WriteLocked(e, refs, push, &written);
  // Outside the lock: an observer may read the workspace (the settings at the
  // head) and must never hold up other writers.
  if (written && observer_) observer_(e);
  return s;
}

Status RecordStore::WriteLocked(const Event& e, const std::vector<RefUpdate>& refs, bool push,
                                bool* written) {
  std::lock_guard lock(ws_.mutex());
  git::Repository& repo = ws_.repo();
  std::string note;
  if (auto existing = repo.ReadNote(kNotesRef, e.commit); existing.ok()) {
    note = *existing;
  } else if (!existing.status().IsNotFound()) {
    return existing.status();
  }
  if (!note.empty() && note.back() != '\n') note += '\n';
  // Signed in-process (one Ed25519 signature, microseconds): other replicas
  // and `sluice audit --verify` check it against trust.controllerKeys.
  note += ws_.keys().SignLine(EventToJsonLine(e));
  note += '\n';
  SLUICE_RETURN_IF_ERROR(repo.WriteNote(kNotesRef, e.commit, note, Workspace::Identity()));
  *written = true;
  std::vector<std::string> names;
  for (const auto& r : refs) names.push_back(r.name);
  // Journal first: a crash between here and the push still gets them pushed.
  SLUICE_RETURN_IF_ERROR(ws_.NoteUnpushedLocked(names));
  for (const auto& r : refs) {
    SLUICE_RETURN_IF_ERROR(
        repo.SetRef(r.name, r.commit,
                    "sluice: " + std::string(EventKindName(e.kind)) + " " + e.env + "/" + e.app));
  }
  for (auto& n : names) unpushed_refs_.push_back(std::move(n));
  if (!push) return Status::Ok();
  std::sort(unpushed_refs_.begin(), unpushed_refs_.end());
  unpushed_refs_.erase(std::unique(unpushed_refs_.begin(), unpushed_refs_.end()),
                       unpushed_refs_.end());
  Status pushed = ws_.PushRecordLocked(unpushed_refs_);
  // Pushed, or left to the next Sync (which finds what the remote lacks).
  unpushed_refs_.clear();
  return pushed;
}

std::vector<Event> RecordStore::EventsOn(const std::string& commit) {
  std::lock_guard lock(ws_.mutex());
  return ws_.TrustedEventsLocked(commit);
}

std::optional<std::string> RecordStore::Ref(const std::string& name) {
  std::lock_guard lock(ws_.mutex());
  auto id = ws_.repo().ResolveRef(name);
  if (!id.ok()) return std::nullopt;
  return *id;
}

}  // namespace sluice::record
