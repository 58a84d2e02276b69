#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "git/handles.h"

namespace sluice::git {

// Initialises libgit2 for the lifetime of the object (reference counted by
// libgit2 itself, so nesting is fine). Create one in main() and in tests.
class LibGit2 {
 public:
  LibGit2();
  ~LibGit2();
  LibGit2(const LibGit2&) = delete;
  LibGit2& operator=(const LibGit2&) = delete;
};

// Builds a Status from libgit2's last error on this thread; `what` says what
// was being done ("fetch origin", "read environments/prod/apps/api.yaml").
Status GitError(int code, const std::string& what);

struct Person {
  std::string name;
  std::string email;
  TimePoint when{};  // ignored when writing: "now" is used unless set
};

struct CommitInfo {
  std::string id;                    // 40 hex
  std::vector<std::string> parents;  // 40 hex each
  Person author;
  Person committer;
  std::string message;  // full message, trailers included

  // First line of the message.
  std::string Subject() const;
  // Values of trailer `key` ("Sluice-Incident") in the last paragraph.
  std::vector<std::string> Trailer(const std::string& key) const;
};

enum class ChangeKind { kAdded, kModified, kDeleted };

struct ChangedPath {
  std::string path;  // repository path of the blob
  ChangeKind kind;
  std::string old_blob;  // empty when added
  std::string new_blob;  // empty when deleted
};

// What SyncTree last wrote into a directory (Repository::SyncTree): each
// path (relative; "" is the directory itself) with its Git id and mode, and
// what lstat said right after it was written.
struct ExportManifest {
  struct Entry {
    std::string id;     // blob, tree or submodule commit id; "" for the root
    unsigned mode = 0;  // Git file mode (040000 for a directory)
    uint64_t dev = 0;   // lstat after writing
    uint64_t ino = 0;
    uint32_t st_mode = 0;
  };
  std::string dir;  // the absolute directory it describes
  std::map<std::string, Entry> entries;
};

// A file to write in a commit made by Sluice (rollback, promote, tests):
// content, or nullopt to delete the path.
using FileChanges = std::map<std::string, std::optional<std::string>>;

// Signs the bytes of a commit object (the commit without its gpgsig
// header) and returns the armored signature stored as its `gpgsig` header,
// as `git commit -S` does. The git module runs no process: the caller
// supplies the signer (approval/commit_signer.h runs ssh-keygen).
using CommitSigner = std::function<Result<std::string>(const std::string& payload)>;

// Repository is one libgit2 repository: the controller's bare cache in its
// workdir, or a user's clone. All object ids are 40-hex strings.
//
// Not thread-safe: callers serialise access (the record store holds a mutex).
// Remote operations use the remote named "origin" unless told otherwise. Credentials for remotes
// come from the environment: SLUICE_GIT_USERNAME with SLUICE_GIT_PASSWORD (or
// SLUICE_GIT_PASSWORD_FILE) for HTTP(S), SLUICE_GIT_SSH_KEY (private key path,
// public key beside it as .pub) or the ssh agent for ssh://. Secrets never
// appear in returned errors.
class Repository {
 public:
  ~Repository();
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  // Opens an existing repository (bare or with a working tree).
  static Result<std::unique_ptr<Repository>> Open(const std::string& path);

  // Creates a new repository at `path` (bare or not).
  static Result<std::unique_ptr<Repository>> Init(const std::string& path, bool bare);

  // Opens the controller's bare cache at `dir`, creating it when absent, with
  // remote "origin" pointing at `url` (updated if it changed). `url` may be a
  // URL libgit2 fetches or a local path (made absolute).
  static Result<std::unique_ptr<Repository>> OpenCache(const std::string& dir,
                                                       const std::string& url);

  // Path of the repository (.git dir for non-bare, the dir itself for bare).
  std::string path() const;

  // Fetches `refspecs` ("+refs/heads/main:refs/remotes/origin/main") from
  // the remote `remote_name` (its remote.<name>.url). A refspec whose source
  // does not exist on the remote is not an error. FailedPrecondition when
  // the remote is not configured; IOError with the remote URL (credentials
  // stripped) on failure.
  Status Fetch(const std::vector<std::string>& refspecs, const std::string& remote_name = "origin");

  // Pushes `refspecs` to the remote `remote_name`. Returns Conflict naming
  // the ref when the remote rejects a non-fast-forward update, IOError on
  // transport failure.
  Status Push(const std::vector<std::string>& refspecs, const std::string& remote_name = "origin");

  // The branch HEAD names ("main" for refs/heads/main), or "" when HEAD is
  // detached or the repository has no HEAD.
  std::string CurrentBranch() const;

  // The identity the repository's git configuration gives for new commits
  // (user.name and user.email, from the repository, global or system
  // config), with the current time. FailedPrecondition saying how to set it
  // when either is missing.
  Result<Person> DefaultIdentity() const;

  // The value of the git configuration key `key` ("user.signingkey") as
  // `git config --get` gives it here: repository, global (~/.gitconfig,
  // $XDG_CONFIG_HOME/git/config) and system levels, includes followed.
  // NotFound when it is not set.
  Result<std::string> ConfigString(const std::string& key) const;

  // The commit id a reference points at (peeling tags); NotFound if absent.
  Result<std::string> ResolveRef(const std::string& name) const;

  // All references whose name starts with `prefix`, as name -> commit id.
  Result<std::map<std::string, std::string>> ListRefs(const std::string& prefix) const;

  // ListRefs(prefix) for a `prefix` that starts with `root`, answered from
  // one listing of `root` that this handle keeps until a reference moves
  // through it (DeleteRef, PackRefs, a fetch: RefsMoved; SetRef updates the
  // listing instead) or the packed-refs file changes. libgit2 copies every packed reference into
  // each new iterator (13 ms at 60,000 record refs), so ten environments
  // each listing their own deployed refs paid it ten times per pass. Only
  // for a repository no other handle or process writes loose references
  // under `root` in (the controller's cache: its workdir is its own).
  Result<std::map<std::string, std::string>> ListRefsUnder(const std::string& root,
                                                           const std::string& prefix) const;

  // Forgets the listing ListRefsUnder keeps: references moved by other means
  // than this class's own methods (a fetch's update of the tips).
  void RefsMoved() { ++ref_generation_; }

  // Points `name` at `commit_id` (creating or force-updating it).
  Status SetRef(const std::string& name, const std::string& commit_id,
                const std::string& log_message);

  // Points each name at its commit in one libgit2 transaction: every ref is
  // locked first, then written (each a loose file, as SetRef writes it).
  // For names of a fixed shape the caller owns (the record's
  // refs/sluice/<kind>/<env>/<app> and their remote-tracking copies):
  // git_reference_create checks a new name against every packed reference
  // for a file/directory clash, O(refs) per write (60,000 record refs at
  // 10 x 1,000 pins, three or four writes per apply); this checks only the
  // name's parents (a lookup each). The caller guarantees no reference is
  // named `<name>/...`: a loose one still fails the lock, a packed one would
  // not be noticed. Each id names a commit. Refs are written in order; on an
  // error, those before it may have been written.
  Status SetRefs(const std::vector<std::pair<std::string, std::string>>& updates,
                 const std::string& log_message);

  // Deletes a reference; ok if it did not exist.
  Status DeleteRef(const std::string& name);

  // Moves every loose reference into packed-refs, as `git pack-refs --all`
  // does (libgit2's git_refdb_compress: locked, so concurrent readers see the
  // old or the new file). Each loose reference is a file that every listing
  // and every fetch opens; a cache that mirrors 30,000 record refs spends
  // most of a read-only command on them otherwise.
  Status PackRefs();

  Result<CommitInfo> GetCommit(const std::string& commit_id) const;

  // Contents of the blob at `path` in `commit_id`'s tree; NotFound if absent
  // (or a directory).
  Result<std::string> ReadFile(const std::string& commit_id, const std::string& path) const;

  // The Git file mode of the entry at `path` in `commit_id`'s tree (0100644,
  // 0100755 executable, 0120000 symlink, 040000 directory); NotFound if absent.
  Result<unsigned> FileMode(const std::string& commit_id, const std::string& path) const;

  // The blob id at `path` in `commit_id`'s tree, without reading the blob;
  // NotFound if absent.
  Result<std::string> BlobId(const std::string& commit_id, const std::string& path) const;

  // The tree id of directory `dir` ("" for the root) in `commit_id`'s tree,
  // without reading the tree's entries: equal ids mean byte-identical
  // contents, so callers key caches on it. NotFound if the path is absent or
  // is not a directory.
  Result<std::string> TreeId(const std::string& commit_id, const std::string& dir) const;

  // Names of the entries of directory `dir` ("" for the root) in
  // `commit_id`'s tree, sorted; NotFound if the directory is absent.
  Result<std::vector<std::string>> ListDir(const std::string& commit_id,
                                           const std::string& dir) const;

  // Blobs that differ between the trees of `old_commit` ("" = the empty tree)
  // and `new_commit`, limited to paths under `prefix` ("" = all). Identical
  // subtrees are skipped by id, so the cost follows the size of the change.
  Result<std::vector<ChangedPath>> DiffTrees(const std::string& old_commit,
                                             const std::string& new_commit,
                                             const std::string& prefix) const;

  // Writes the files of `commit_id`'s tree under `target_dir` (created; must
  // not exist or be empty). No .git directory is written. A path (relative,
  // '/'-separated; a directory or a file) for which `skip` returns true is
  // left out with everything under it, and its subtree is never read.
  using ExportSkip = std::function<bool(std::string_view path, bool is_directory)>;
  Status ExportTree(const std::string& commit_id, const std::string& target_dir,
                    const ExportSkip& skip = {}) const;

  // Like ExportTree, into a directory that an earlier SyncTree with the same
  // `manifest` wrote. When nothing there changed since (each entry is still
  // the inode it was, with its mode; each file still hashes to its blob id;
  // each directory lists exactly the entries written into it), only what
  // differs from `commit_id`'s tree (less `skip`) is written or removed,
  // files rewritten in place. Otherwise (first use, anything changed, a
  // symlink on either side, an error) the directory is emptied and exported
  // whole. The files are the same as ExportTree's either way, and the
  // manifest then describes them. `reused`, when given, says which way it went.
  Status SyncTree(const std::string& commit_id, const std::string& target_dir,
                  const ExportSkip& skip, ExportManifest* manifest, bool* reused = nullptr) const;

  // Commits `changes` on top of `parent_commit` ("" for a root commit)
  // without touching any working tree, and returns the new commit id. Does
  // not move any reference. With `sign`, the commit carries the signature
  // it returns in its `gpgsig` header (an error of `sign` is returned with
  // context, and nothing is written).
  Result<std::string> CreateCommit(const std::string& parent_commit, const FileChanges& changes,
                                   const std::string& message, const Person& author,
                                   const Person& committer, const CommitSigner& sign = nullptr);

  // True if `ancestor` is reachable from `descendant` (or equal).
  Result<bool> IsAncestor(const std::string& ancestor, const std::string& descendant) const;

  // --- notes -------------------------------------------------------------
  // The note on `commit_id` under notes ref `notes_ref`; NotFound if none.
  Result<std::string> ReadNote(const std::string& notes_ref, const std::string& commit_id) const;

  // Replaces the note on `commit_id` with `text` (one commit on notes_ref).
  Status WriteNote(const std::string& notes_ref, const std::string& commit_id,
                   const std::string& text, const Person& author);

  // Appends lines to the notes of many commits in ONE commit on `notes_ref`:
  // for each annotated commit id -> lines (each without '\n'), the lines its
  // note lacks are added at its end (a line already there is not repeated).
  // The notes tree fans out the way `git notes` does once it holds more
  // than kNotesFanoutAfter notes (a one-time move of every note to
  // "ab/cdef..."; later notes go to their "ab/" subtree), so a new notes
  // commit writes two small trees, not one tree listing every note. Moves
  // `notes_ref` only if nobody else moved it meanwhile (Conflict otherwise).
  // Returns the new tip (the old one when nothing was added).
  static constexpr size_t kNotesFanoutAfter = 256;
  Result<std::string> AppendToNotes(
      const std::string& notes_ref,
      const std::map<std::string, std::vector<std::string>>& lines_by_commit, const Person& author,
      const std::string& message);

  // All notes under `notes_ref` as annotated commit id -> text. Empty if the
  // ref does not exist.
  Result<std::map<std::string, std::string>> ListNotes(const std::string& notes_ref) const;

  // Merges the notes of `other_ref` into `notes_ref` so that no line of
  // either is lost: for each annotated commit the result holds the lines of
  // `other_ref`'s note followed by the lines of `notes_ref`'s note that
  // `other_ref` lacks (duplicates dropped). The new `notes_ref` commit has
  // `other_ref`'s tip as an ancestor, so pushing it is a fast-forward.
  // When `notes_ref` does not exist it is set to `other_ref`.
  Status MergeNotes(const std::string& notes_ref, const std::string& other_ref,
                    const Person& author);

  git_repository* raw() const { return repo_.get(); }

 private:
  explicit Repository(RepoPtr repo);
  RepoPtr repo_;

  // ListRefsUnder's listing, valid while `generation` is ref_generation_ and
  // packed-refs is the file it was read with.
  struct RefListing {
    bool valid = false;
    std::string root;
    uint64_t generation = 0;
    std::string packed_refs_stamp;
    std::map<std::string, std::string> refs;
  };
  uint64_t ref_generation_ = 0;
  mutable RefListing listing_;
};

}  // namespace sluice::git
