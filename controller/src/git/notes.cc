// Repository: git notes (ReadNote, WriteNote, ListNotes, ForEachNote, MergeNotes). Notes
// are stored in the standard notes tree (fanout handled by libgit2), so
// `git log --notes=sluice` shows them.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <set>
#include <string_view>

#include "core/strings.h"
#include "git/incremental.h"
#include "git/internal.h"
#include "git/pack_order.h"
#include "git/repo.h"

namespace sluice::git {

using internal::OidToString;
using internal::ParseOid;

namespace {

// The union of two notes: `theirs` verbatim, then the lines of `ours` that
// `theirs` lacks (each once, empty lines dropped).
std::string UnionOfLines(const std::string& theirs, const std::string& ours) {
  std::vector<std::string_view> their_lines = SplitLines(theirs);
  std::set<std::string_view> seen(their_lines.begin(), their_lines.end());
  std::string added;
  for (std::string_view line : SplitLines(ours)) {
    if (line.empty() || !seen.insert(line).second) continue;
    added.append(line).append("\n");
  }
  if (added.empty()) return theirs;
  std::string merged = theirs;
  if (!merged.empty() && merged.back() != '\n') merged += '\n';
  return merged + added;
}

// True when every line of `merged` is already in `base`: writing `merged`
// over `base` would add nothing.
bool AddsNothing(const std::string& base, const std::string& merged) {
  std::vector<std::string_view> base_lines = SplitLines(base);
  std::set<std::string_view> have(base_lines.begin(), base_lines.end());
  for (std::string_view line : SplitLines(merged)) {
    if (!line.empty() && have.count(line) == 0) return false;
  }
  return true;
}

// Calls fn(annotated id, text) for each note reachable from notes commit
// `commit`, reading one blob at a time in the order the pack files hold the
// annotated commits (see pack_order.h: up to 12x faster than the notes
// tree's order over a long record); stops early when fn returns false.
Status ForEachNoteOfCommit(git_repository* repo, git_commit* commit, const std::string& what,
                           const std::function<bool(const std::string&, std::string_view)>& fn) {
  git_note_iterator* raw_iter = nullptr;
  int rc = git_note_commit_iterator_new(&raw_iter, commit);
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::Ok();
  }
  if (rc != 0) return GitError(rc, "list notes of " + what);
  NoteIteratorPtr iter(raw_iter);
  // Listing reads only the notes trees; the blobs come after, sorted.
  struct Listed {
    uint64_t key;
    uint64_t note_key;
    git_oid note;
    git_oid annotated;
  };
  std::vector<Listed> listed;
  for (;;) {
    Listed l{};
    rc = git_note_next(&l.note, &l.annotated, iter.get());
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) return GitError(rc, "list notes of " + what);
    listed.push_back(l);
  }
  // By the position of the annotated commit (git writes commits in
  // history order, newest first, as `git log` reads them), then of the note
  // itself for commits no pack holds.
  const PackOrder order = PackOrder::Load(std::string(git_repository_commondir(repo)) + "objects");
  for (Listed& l : listed) {
    l.key = order.Key(l.annotated);
    l.note_key = order.Key(l.note);
  }
  std::stable_sort(listed.begin(), listed.end(), [](const Listed& a, const Listed& b) {
    return a.key != b.key ? a.key < b.key : a.note_key < b.note_key;
  });
  for (const Listed& l : listed) {
    git_blob* raw_blob = nullptr;
    rc = git_blob_lookup(&raw_blob, repo, &l.note);
    if (rc != 0) return GitError(rc, "read a note of " + what);
    BlobPtr blob(raw_blob);
    std::string_view text(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                          static_cast<size_t>(git_blob_rawsize(blob.get())));
    if (!fn(OidToString(l.annotated), text)) break;
  }
  return Status::Ok();
}

// All notes reachable from notes commit `commit` as annotated id -> text.
Result<std::map<std::string, std::string>> NotesOfCommit(git_repository* repo, git_commit* commit,
                                                         const std::string& what) {
  std::map<std::string, std::string> notes;
  Status s =
      ForEachNoteOfCommit(repo, commit, what, [&](const std::string& id, std::string_view text) {
        notes.emplace(id, std::string(text));
        return true;
      });
  if (!s.ok()) return s;
  return notes;
}

Result<git_oid> RefTarget(git_repository* repo, const std::string& name, bool* exists) {
  git_oid id;
  int rc = git_reference_name_to_id(&id, repo, name.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    *exists = false;
    return id;
  }
  if (rc != 0) return GitError(rc, "resolve " + name);
  *exists = true;
  return id;
}

}  // namespace

Result<std::string> Repository::ReadNote(const std::string& notes_ref,
                                         const std::string& commit_id) const {
  Result<git_oid> oid = ParseOid(commit_id, "read note");
  if (!oid.ok()) return oid.status();
  git_note* raw = nullptr;
  int rc = git_note_read(&raw, repo_.get(), notes_ref.c_str(), &*oid);
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::NotFound("no note on " + commit_id + " in " + notes_ref);
  }
  if (rc != 0) return GitError(rc, "read the note on " + commit_id + " in " + notes_ref);
  NotePtr note(raw);
  const char* message = git_note_message(note.get());
  return std::string(message != nullptr ? message : "");
}

Status Repository::WriteNote(const std::string& notes_ref, const std::string& commit_id,
                             const std::string& text, const Person& author) {
  Result<git_oid> oid = ParseOid(commit_id, "write note");
  if (!oid.ok()) return oid.status();
  Result<SignaturePtr> sig = internal::MakeSignature(author);
  if (!sig.ok()) return sig.status();
  git_oid note_commit;
  int rc = git_note_create(&note_commit, repo_.get(), notes_ref.c_str(), sig->get(), sig->get(),
                           &*oid, text.c_str(), /*force=*/1);
  if (rc != 0) return GitError(rc, "write the note on " + commit_id + " in " + notes_ref);
  return Status::Ok();
}

Result<std::map<std::string, std::string>> Repository::ListNotes(
    const std::string& notes_ref) const {
  bool exists = false;
  Result<git_oid> tip = RefTarget(repo_.get(), notes_ref, &exists);
  if (!tip.ok()) return tip.status();
  if (!exists) return std::map<std::string, std::string>{};
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo_.get(), &*tip);
  if (rc != 0) return GitError(rc, "read " + notes_ref);
  CommitPtr commit(raw);
  return NotesOfCommit(repo_.get(), commit.get(), notes_ref);
}

Status ForEachNote(
    const Repository& repository, const std::string& notes_ref,
    const std::function<bool(const std::string& commit_id, std::string_view text)>& fn) {
  git_repository* repo = repository.raw();
  bool exists = false;
  Result<git_oid> tip = RefTarget(repo, notes_ref, &exists);
  if (!tip.ok()) return tip.status();
  if (!exists) return Status::Ok();
  git_commit* raw = nullptr;
  int rc = git_commit_lookup(&raw, repo, &*tip);
  if (rc != 0) return GitError(rc, "read " + notes_ref);
  CommitPtr commit(raw);
  return ForEachNoteOfCommit(repo, commit.get(), notes_ref, fn);
}

Status Repository::MergeNotes(const std::string& notes_ref, const std::string& other_ref,
                              const Person& author) {
  bool ours_exists = false, theirs_exists = false;
  Result<git_oid> ours_id = RefTarget(repo_.get(), notes_ref, &ours_exists);
  if (!ours_id.ok()) return ours_id.status();
  Result<git_oid> theirs_id = RefTarget(repo_.get(), other_ref, &theirs_exists);
  if (!theirs_id.ok()) return theirs_id.status();

  if (!theirs_exists) return Status::Ok();  // nothing to merge in
  std::string theirs_hex = OidToString(*theirs_id);
  if (!ours_exists) return SetRef(notes_ref, theirs_hex, "sluice: notes from " + other_ref);
  std::string ours_hex = OidToString(*ours_id);
  if (ours_hex == theirs_hex) return Status::Ok();

  Result<bool> theirs_in_ours = IsAncestor(theirs_hex, ours_hex);
  if (!theirs_in_ours.ok()) return theirs_in_ours.status();
  Result<bool> ours_in_theirs = IsAncestor(ours_hex, theirs_hex);
  if (!ours_in_theirs.ok()) return ours_in_theirs.status();

  Result<CommitPtr> ours = internal::LookupCommit(repo_.get(), ours_hex);
  if (!ours.ok()) return ours.status();
  Result<CommitPtr> theirs = internal::LookupCommit(repo_.get(), theirs_hex);
  if (!theirs.ok()) return theirs.status();
  Result<std::map<std::string, std::string>> our_notes =
      NotesOfCommit(repo_.get(), ours->get(), notes_ref);
  if (!our_notes.ok()) return our_notes.status();
  Result<std::map<std::string, std::string>> their_notes =
      NotesOfCommit(repo_.get(), theirs->get(), other_ref);
  if (!their_notes.ok()) return their_notes.status();

  // Build on the side that already contains the other (a plain fast-forward
  // stays one), otherwise on theirs so that our push fast-forwards.
  bool build_on_ours = *theirs_in_ours;
  const std::map<std::string, std::string>& base_notes = build_on_ours ? *our_notes : *their_notes;
  CommitPtr tip = build_on_ours ? std::move(*ours) : std::move(*theirs);

  std::set<std::string> annotated;
  for (const auto& [id, text] : *our_notes) annotated.insert(id);
  for (const auto& [id, text] : *their_notes) annotated.insert(id);

  Result<SignaturePtr> sig = internal::MakeSignature(author);
  if (!sig.ok()) return sig.status();

  for (const auto& id : annotated) {
    auto t = their_notes->find(id);
    auto o = our_notes->find(id);
    std::string merged = UnionOfLines(t == their_notes->end() ? "" : t->second,
                                      o == our_notes->end() ? "" : o->second);
    auto b = base_notes.find(id);
    std::string base_text = b == base_notes.end() ? "" : b->second;
    if (b != base_notes.end() && AddsNothing(base_text, merged)) continue;
    Result<git_oid> annotated_id = ParseOid(id, "merge notes");
    if (!annotated_id.ok()) return annotated_id.status();
    git_oid next;
    int rc = git_note_commit_create(&next, nullptr, repo_.get(), tip.get(), sig->get(), sig->get(),
                                    &*annotated_id, merged.c_str(), /*allow_note_overwrite=*/1);
    if (rc != 0) return GitError(rc, "merge the notes on " + id);
    git_commit* raw = nullptr;
    rc = git_commit_lookup(&raw, repo_.get(), &next);
    if (rc != 0) return GitError(rc, "read the new notes commit");
    tip.reset(raw);
  }

  git_oid result = *git_commit_id(tip.get());
  if (!build_on_ours && !*ours_in_theirs) {
    // Keep our notes history reachable: a merge commit with the merged tree,
    // theirs (plus the merge fixes) first, ours second.
    git_tree* raw_tree = nullptr;
    int rc = git_commit_tree(&raw_tree, tip.get());
    if (rc != 0) return GitError(rc, "read the merged notes tree");
    TreePtr tree(raw_tree);
    Result<CommitPtr> ours_again = internal::LookupCommit(repo_.get(), ours_hex);
    if (!ours_again.ok()) return ours_again.status();
    const git_commit* parents[2] = {tip.get(), ours_again->get()};
    std::string message = "Notes merged by Sluice from " + other_ref + " into " + notes_ref + "\n";
    rc = git_commit_create(&result, repo_.get(), nullptr, sig->get(), sig->get(), nullptr,
                           message.c_str(), tree.get(), 2, parents);
    if (rc != 0) return GitError(rc, "commit the merged notes");
  }

  // Move notes_ref only if nobody else moved it meanwhile.
  git_reference* raw_ref = nullptr;
  std::string log = "sluice: merge notes from " + other_ref;
  int rc = git_reference_create_matching(&raw_ref, repo_.get(), notes_ref.c_str(), &result,
                                         /*force=*/1, &*ours_id, log.c_str());
  if (rc != 0) return GitError(rc, "update " + notes_ref + " with the merged notes");
  ReferencePtr ref(raw_ref);
  return Status::Ok();
}

}  // namespace sluice::git
