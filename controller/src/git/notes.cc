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

namespace {

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Writes a blob of `parts`, one after the other, through the object
// database's stream (the loose backend deflates as it goes): the parts are
// never gathered into one buffer.
Result<git_oid> WriteBlob(git_repository* repo, std::initializer_list<std::string_view> parts,
                          const std::string& what) {
  git_odb* raw_odb = nullptr;
  int rc = git_repository_odb(&raw_odb, repo);
  if (rc != 0) return GitError(rc, what);
  std::unique_ptr<git_odb, GitFree<&git_odb_free>> odb(raw_odb);
  size_t size = 0;
  for (std::string_view p : parts) size += p.size();
  git_odb_stream* raw_stream = nullptr;
  rc = git_odb_open_wstream(&raw_stream, odb.get(), size, GIT_OBJECT_BLOB);
  if (rc != 0) return GitError(rc, what);
  std::unique_ptr<git_odb_stream, GitFree<&git_odb_stream_free>> stream(raw_stream);
  for (std::string_view p : parts) {
    // In pieces: git_odb_stream_write takes a size_t, the loose backend's
    // deflate an unsigned int.
    constexpr size_t kPiece = 1 << 20;
    for (size_t at = 0; at < p.size(); at += kPiece) {
      rc = git_odb_stream_write(stream.get(), p.data() + at, std::min(kPiece, p.size() - at));
      if (rc != 0) return GitError(rc, what);
    }
  }
  git_oid id;
  rc = git_odb_stream_finalize_write(&id, stream.get());
  if (rc != 0) return GitError(rc, what);
  return id;
}

Result<TreePtr> ReadTree(git_repository* repo, const git_oid& id, const std::string& what) {
  git_tree* raw = nullptr;
  int rc = git_tree_lookup(&raw, repo, &id);
  if (rc != 0) return GitError(rc, "read the notes tree " + what);
  return TreePtr(raw);
}

Result<TreeBuilderPtr> NewTreeBuilder(git_repository* repo, const git_tree* from) {
  git_treebuilder* raw = nullptr;
  int rc = git_treebuilder_new(&raw, repo, from);
  if (rc != 0) return GitError(rc, "build a notes tree");
  return TreeBuilderPtr(raw);
}

}  // namespace

Result<std::string> Repository::AppendToNotes(
    const std::string& notes_ref,
    const std::map<std::string, std::vector<std::string>>& lines_by_commit, const Person& author,
    const std::string& message) {
  git_repository* repo = repo_.get();
  bool exists = false;
  Result<git_oid> tip_id = RefTarget(repo, notes_ref, &exists);
  if (!tip_id.ok()) return tip_id.status();
  CommitPtr tip;
  TreePtr root;
  if (exists) {
    Result<CommitPtr> c = internal::LookupCommit(repo, OidToString(*tip_id));
    if (!c.ok()) return c.status();
    tip = std::move(*c);
    git_tree* raw = nullptr;
    int rc = git_commit_tree(&raw, tip.get());
    if (rc != 0) return GitError(rc, "read the tree of " + notes_ref);
    root.reset(raw);
  }
  Result<TreeBuilderPtr> top = NewTreeBuilder(repo, root.get());
  if (!top.ok()) return top.status();

  // Fanned out already (any "ab/" subtree), or about to be.
  bool fanned = false;
  size_t count = root ? git_tree_entrycount(root.get()) : 0;
  for (size_t i = 0; i < count && !fanned; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(root.get(), i);
    std::string_view name = git_tree_entry_name(e);
    fanned = git_tree_entry_filemode(e) == GIT_FILEMODE_TREE && name.size() == 2 && IsHex(name);
  }
  // Subtree builders by two-hex-digit prefix, loaded on first use.
  std::map<std::string, TreeBuilderPtr> subtrees;
  auto subtree = [&](const std::string& prefix) -> Result<git_treebuilder*> {
    auto it = subtrees.find(prefix);
    if (it != subtrees.end()) return it->second.get();
    TreePtr existing;
    if (const git_tree_entry* e = git_treebuilder_get(top->get(), prefix.c_str());
        e && git_tree_entry_filemode(e) == GIT_FILEMODE_TREE) {
      Result<TreePtr> t = ReadTree(repo, *git_tree_entry_id(e), prefix);
      if (!t.ok()) return t.status();
      existing = std::move(*t);
    }
    Result<TreeBuilderPtr> b = NewTreeBuilder(repo, existing.get());
    if (!b.ok()) return b.status();
    return subtrees.emplace(prefix, std::move(*b)).first->second.get();
  };
  if (!fanned && count + lines_by_commit.size() > kNotesFanoutAfter) {
    // The one-time move: every flat note into its "ab/" subtree.
    fanned = true;
    for (size_t i = 0; i < count; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(root.get(), i);
      std::string name = git_tree_entry_name(e);
      if (name.size() != 40 || !IsHex(name) || git_tree_entry_filemode(e) == GIT_FILEMODE_TREE) {
        continue;
      }
      Result<git_treebuilder*> sub = subtree(name.substr(0, 2));
      if (!sub.ok()) return sub.status();
      int rc = git_treebuilder_insert(nullptr, *sub, name.c_str() + 2, git_tree_entry_id(e),
                                      git_tree_entry_filemode(e));
      if (rc == 0) rc = git_treebuilder_remove(top->get(), name.c_str());
      if (rc != 0) return GitError(rc, "fan out " + notes_ref);
    }
  }

  bool added = false;
  for (const auto& [commit, lines] : lines_by_commit) {
    if (commit.size() != 40 || !IsHex(commit)) {
      return Status::InvalidArgument("append to " + notes_ref + ": \"" + commit +
                                     "\" is not a commit id");
    }
    // Where the note is now: "ab/cdef..." or flat (a mixed tree is valid git).
    const git_tree_entry* flat = git_treebuilder_get(top->get(), commit.c_str());
    git_treebuilder* sub_builder = nullptr;
    const git_tree_entry* nested = nullptr;
    if (fanned) {
      Result<git_treebuilder*> sub = subtree(commit.substr(0, 2));
      if (!sub.ok()) return sub.status();
      sub_builder = *sub;
      nested = git_treebuilder_get(sub_builder, commit.c_str() + 2);
    }
    // The note as it is, read once: the lines below are views into
    // libgit2's copy of the blob (alive until the new note is written), and
    // the new note is streamed from it and the new lines. A note of many
    // megabytes (the head commit's after a fleet-wide pass) is never copied:
    // it was, once or twice per fold, and that was the first pass's peak.
    BlobPtr old_blob;
    std::string_view old_text;
    if (const git_tree_entry* at = nested ? nested : flat) {
      git_blob* raw_blob = nullptr;
      int rc = git_blob_lookup(&raw_blob, repo, git_tree_entry_id(at));
      if (rc != 0) return GitError(rc, "read the note on " + commit);
      old_blob.reset(raw_blob);
      old_text = std::string_view(static_cast<const char*>(git_blob_rawcontent(raw_blob)),
                                  static_cast<size_t>(git_blob_rawsize(raw_blob)));
    }
    std::set<std::string_view> have;
    for (std::string_view l : SplitLines(old_text)) have.insert(l);
    std::string tail;
    if (!old_text.empty() && old_text.back() != '\n') tail += '\n';
    const size_t tail_start = tail.size();
    for (const auto& line : lines) {
      // `line` outlives `have`: it is the caller's.
      if (line.empty() || !have.insert(line).second) continue;
      tail.append(line).append("\n");
    }
    if (tail.size() == tail_start) continue;
    added = true;
    Result<git_oid> written = WriteBlob(repo, {old_text, tail}, "write the note on " + commit);
    if (!written.ok()) return written.status();
    const git_oid blob = *written;
    int rc = 0;
    if (fanned) {
      rc = git_treebuilder_insert(nullptr, sub_builder, commit.c_str() + 2, &blob,
                                  GIT_FILEMODE_BLOB);
      if (rc == 0 && flat) rc = git_treebuilder_remove(top->get(), commit.c_str());
    } else {
      rc = git_treebuilder_insert(nullptr, top->get(), commit.c_str(), &blob, GIT_FILEMODE_BLOB);
    }
    if (rc != 0) return GitError(rc, "write the note on " + commit);
  }
  if (!added && subtrees.empty()) return exists ? OidToString(*tip_id) : std::string();
  if (!added && !exists) return std::string();

  for (auto& [prefix, builder] : subtrees) {
    git_oid id;
    int rc = git_treebuilder_write(&id, builder.get());
    if (rc == 0)
      rc = git_treebuilder_insert(nullptr, top->get(), prefix.c_str(), &id, GIT_FILEMODE_TREE);
    if (rc != 0) return GitError(rc, "write the notes tree " + prefix);
  }
  git_oid tree_id;
  int rc = git_treebuilder_write(&tree_id, top->get());
  if (rc != 0) return GitError(rc, "write the notes tree");
  Result<TreePtr> tree = ReadTree(repo, tree_id, "");
  if (!tree.ok()) return tree.status();
  Result<SignaturePtr> sig = internal::MakeSignature(author);
  if (!sig.ok()) return sig.status();
  std::string text = message.empty() || message.back() != '\n' ? message + "\n" : message;
  const git_commit* parents[1] = {tip.get()};
  git_oid commit_id;
  rc = git_commit_create(&commit_id, repo, nullptr, sig->get(), sig->get(), nullptr, text.c_str(),
                         tree->get(), tip ? 1 : 0, tip ? parents : nullptr);
  if (rc != 0) return GitError(rc, "commit " + notes_ref);
  git_reference* raw_ref = nullptr;
  rc = exists ? git_reference_create_matching(&raw_ref, repo, notes_ref.c_str(), &commit_id,
                                              /*force=*/1, &*tip_id, text.c_str())
              : git_reference_create(&raw_ref, repo, notes_ref.c_str(), &commit_id,
                                     /*force=*/0, text.c_str());
  if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
    git_error_clear();
    return Status::Conflict(notes_ref + " moved while notes were appended; try again");
  }
  if (rc != 0) return GitError(rc, "update " + notes_ref);
  ReferencePtr ref(raw_ref);
  return OidToString(commit_id);
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
