#include "engine/record.h"

#include "engine/refs.h"

namespace sluice::engine {

Status RecordStore::Write(const Event& e, const std::vector<RefUpdate>& refs) {
  bool written = false;
  Status s = WriteLocked(e, refs, &written);
  // Outside the lock: an observer may read the workspace (the settings at the
  // head) and must never hold up other writers.
  if (written && observer_) observer_(e);
  return s;
}

Status RecordStore::WriteLocked(const Event& e, const std::vector<RefUpdate>& refs, bool* written) {
  std::lock_guard lock(ws_.mutex());
  git::Repository& repo = ws_.repo();
  std::string note;
  if (auto existing = repo.ReadNote(kNotesRef, e.commit); existing.ok()) {
    note = *existing;
  } else if (!existing.status().IsNotFound()) {
    return existing.status();
  }
  if (!note.empty() && note.back() != '\n') note += '\n';
  note += EventToJsonLine(e);
  note += '\n';
  SLUICE_RETURN_IF_ERROR(repo.WriteNote(kNotesRef, e.commit, note, Workspace::Identity()));
  *written = true;
  std::vector<std::string> names;
  for (const auto& r : refs) {
    SLUICE_RETURN_IF_ERROR(
        repo.SetRef(r.name, r.commit,
                    "sluice: " + std::string(EventKindName(e.kind)) + " " + e.env + "/" + e.app));
    names.push_back(r.name);
  }
  return ws_.PushRecordLocked(names);
}

std::vector<Event> RecordStore::EventsOn(const std::string& commit) {
  std::lock_guard lock(ws_.mutex());
  auto note = ws_.repo().ReadNote(kNotesRef, commit);
  if (!note.ok()) return {};
  return ParseNote(*note);
}

std::optional<std::string> RecordStore::Ref(const std::string& name) {
  std::lock_guard lock(ws_.mutex());
  auto id = ws_.repo().ResolveRef(name);
  if (!id.ok()) return std::nullopt;
  return *id;
}

}  // namespace sluice::engine
