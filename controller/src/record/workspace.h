#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "crypto/set_digest.h"
#include "git/incremental.h"
#include "git/repo.h"
#include "record/event.h"
#include "record/trust.h"

namespace sluice::record {

// Workspace is the controller's working area (--workdir): a bare cache of the
// environments repository (`<workdir>/cache.git`, remote "origin" = --repo)
// and a scratch area for checkouts. It is fetched, never re-cloned.
//
// Thread safety: the Repository is not thread-safe; every use must hold
// mutex(). The public methods here take it themselves.
class Workspace {
 public:
  // Opens (creating if needed) the cache for `url` in `workdir`, with the
  // record keys `trust` names (see RecordKeys::Load: without a signing key,
  // the workdir's own, generated on first use and logged once). A password
  // in `url` is kept in memory only (git::AdoptUrlCredentials): url() and
  // cache.git/config hold the URL without it. Errors name the key file that
  // cannot be read or parsed.
  ~Workspace();
  static Result<std::unique_ptr<Workspace>> Open(const std::string& workdir, const std::string& url,
                                                 const std::string& branch,
                                                 const TrustOptions& trust = {});

  // Fetches the tracked branch and the remote's record (notes and
  // refs/sluice/*), then merges the record into the local one. This is the
  // one place that decides what of the remote record is trusted (SPEC 1.3
  // rule 4): every note line the local record lacks is verified
  // (VerifyEventLine against keys().trusted()); one that fails is merged
  // all the same (never lost) but remembered as untrusted, and
  // TrustedEventsLocked leaves it out. Notes merge by union of lines; a
  // deployed/lkg/applied/candidate ref takes the remote value only when a
  // trusted event on the commit it names confirms it (ConfirmedAtLocked) and
  // that event is newer than the one confirming the local value (a push
  // cannot rewind a ref); otherwise the remote value is reported untrusted
  // and the local one kept (and pushed back over it). With `push`, local record
  // entries the remote lacks (an earlier push failed) are pushed.
  // Cost: the fetch, plus one comparison per record ref the fetch moved (or
  // per record ref, on the first Sync of a workdir).
  Status Sync(bool push);

  // The head of the tracked branch as last fetched; NotFound if the branch
  // does not exist on the remote.
  Result<std::string> Head();

  // Remembers that the refs/sluice refs `names` are about to be written
  // locally and are not on the remote yet (<workdir>/record-unpushed), so a
  // later Sync pushes them even after a crash. Caller must hold mutex().
  Status NoteUnpushedLocked(const std::vector<std::string>& names);
  // `n` more references written as loose files (RecordStore::Write): the
  // next Sync or PackRefsIfDue packs them once enough have gathered.
  void NoteLooseRefs(size_t n) { loose_refs_ += n; }
  // Packs the cache's loose references once enough have gathered (a pass
  // calls it at its end, after its record is on the remote). A fleet-wide
  // pass leaves tens of thousands (each written ref and its remote-tracking
  // copy): packed here, they no longer hold up the next pass's start, which
  // is where a fleet-wide change would wait for them. A failure costs
  // only speed: it is logged, not returned. Call without holding mutex().
  void PackRefsIfDue();

  // Pushes the local notes and the given refs/sluice refs (force) to the
  // remote. On a rejected notes push, fetches the remote notes, merges and
  // retries (a few times), so concurrent writers never lose a line.
  // Caller must hold mutex().
  Status PushRecordLocked(const std::vector<std::string>& sluice_refs);

  // PushRecordLocked through another handle on the cache (RecordStore's
  // flusher), holding mutex() only to read the values pushed, to remember
  // them, and to merge the remote's notes after a rejection, never across
  // the network. Call without holding mutex().
  Status PushRecordThrough(git::Repository& handle, const std::vector<std::string>& sluice_refs);

  // Why the last push of the record failed, or "" when it succeeded (or none
  // was tried yet): while it is set, records cannot be pushed and the daemon
  // is not ready. Thread-safe (takes mutex(); do not call while holding it).
  std::string RecordPushError();
  // The same; caller must hold mutex().
  const std::string& RecordPushErrorLocked() const { return record_push_error_; }

  // The trusted events in the note on `commit`: every event line except
  // those Sync found untrusted (a line this workdir wrote itself is
  // trusted), then the journalled events not folded into the note yet.
  // What every decision reads (deployed, LKG, upstream verified, soak,
  // rollback detection, crash recovery). Parsed once per commit and kept
  // while the notes only change by this workspace's own writes (a commit
  // whose note holds thousands of events, one release across a fleet, is
  // not parsed again for each app). Caller must hold mutex().
  std::vector<Event> TrustedEventsLocked(const std::string& commit);
  // The same, only those of `env`/`app` (in order). Caller must hold mutex().
  std::vector<Event> TrustedEventsForLocked(const std::string& commit, const std::string& env,
                                            const std::string& app);

  // --- The write path (RecordStore) ---
  // Makes the signed event line `line` of `e` durable and visible: appended
  // to <workdir>/record-journal (fsync'd when `sync`), and at once part of
  // TrustedEventsLocked(e.commit). FoldJournalLocked adds it to the notes
  // later; a process that dies first finds it in the journal at its next
  // Open. Caller must hold mutex().
  Status JournalEventLocked(const Event& e, const std::string& line, bool sync);
  // Adds every journalled line the notes lack to them, in one notes commit
  // (Repository::AppendToNotes). Returns where in the journal it stopped
  // (an offset that only grows): once the notes are on the remote,
  // TrimJournalLocked(that) forgets what came before.
  // Caller must hold mutex().
  Result<uint64_t> FoldJournalLocked();
  // Drops what the journal held before `covered_end` (FoldJournalLocked's
  // result). Caller must hold mutex().
  Status TrimJournalLocked(uint64_t covered_end);
  // Whether journalled lines wait to be folded. Caller must hold mutex().
  bool HasUnfoldedLocked() const { return !unfolded_.empty(); }

  // The record entries Sync found untrusted, oldest first (persisted in
  // <workdir>/record-untrusted). Takes the mutex.
  std::vector<UntrustedEntry> UntrustedEntries();
  // How many there are; lock-free (for /metrics, never waits on a fetch).
  size_t UntrustedCount() const { return untrusted_count_.load(std::memory_order_relaxed); }
  // The same entries; caller must hold mutex().
  const std::vector<UntrustedEntry>& UntrustedEntriesLocked() const { return untrusted_; }
  // The untrusted lines of the note on `commit`, or null when it has none
  // (the usual case: one map lookup). Caller must hold mutex().
  const std::set<std::string>* UntrustedLinesLocked(const std::string& commit) const {
    auto it = untrusted_lines_.find(commit);
    return it == untrusted_lines_.end() ? nullptr : &it->second;
  }

  // The keys the record is signed and checked with (shared, immutable).
  const RecordKeys& keys() const { return *keys_; }

  git::Repository& repo() { return *repo_; }
  std::mutex& mutex() { return mu_; }
  const std::string& workdir() const { return workdir_; }
  const std::string& branch() const { return branch_; }
  const std::string& url() const { return url_; }
  // A directory for temporary checkouts (created on demand).
  std::string ScratchDir() const { return workdir_ + "/checkouts"; }

  // The identity used for notes and commits the controller writes.
  static git::Person Identity();

 private:
  Workspace(std::string workdir, std::string url, std::string branch,
            std::unique_ptr<git::Repository> repo, std::shared_ptr<const RecordKeys> keys);
  // Verifies the lines the remote notes (kRemoteNotesRef) hold that the
  // local notes lack, before they are merged; records the untrusted ones.
  Status VerifyRemoteNotesLocked();
  // The time of the newest trusted event on `commit` that confirms record
  // ref `lname` (see Sync); nullopt when none does. `*confirmable` is set
  // false for refs no event confirms (refs/sluice/pass).
  std::optional<TimePoint> ConfirmedAtLocked(const std::string& lname, const std::string& commit,
                                             bool* confirmable);
  // Whether the remote value `rid` of `lname` replaces the local `lid`
  // ("" when absent). Records an unconfirmed remote value as untrusted.
  bool TakeRemoteLocked(const std::string& lname, const std::string& rid, const std::string& lid);
  void AddUntrustedLocked(std::vector<UntrustedEntry> entries);
  void KeepLocalLocked(const std::string& lname);
  std::string UntrustedPath() const { return workdir_ + "/record-untrusted"; }
  // Fetches the record's refs; with `heard` (what the branch's fetch of this
  // Sync was advertised), connects only when one of them moved.
  Status FetchRecordLocked(const git::Advertisement* heard, std::vector<std::string>* moved);
  // PushRecordLocked without remembering its result.
  Status PushRecordOnceLocked(const std::vector<std::string>& sluice_refs);
  // After a successful push of the notes at `notes_tip` ("" if none) and of
  // `pushed` (name -> value): the remote-tracking copies, and the journal of
  // unpushed refs; `deleted_foreign` when the push also deleted names the
  // record does not write. Caller must hold mutex().
  void RememberPushedLocked(const std::string& notes_tip,
                            const std::map<std::string, std::string>& pushed, bool deleted_foreign);
  // Drops the names of `pushed` from the journal of unpushed refs.
  void ForgetUnpushedLocked(const std::map<std::string, std::string>& pushed);
  // Merges the fetched record into the local one. `moved` lists the remote
  // record refs the fetch moved; when the workdir's journal of unpushed refs
  // exists, only those and the journalled refs are compared (a no-change
  // pass costs nothing per record ref); otherwise (first Sync of a workdir,
  // or `moved` null) every record ref is.
  // Looks again at record refs reported untrusted whose remote value has not
  // moved (`done`: refs merged already in this merge), and takes those a
  // trusted event confirms now. Called when the fetch brought new notes.
  Status RetryUntrustedRefsLocked(const std::set<std::string>& done,
                                  const std::set<std::string>& journalled,
                                  std::vector<std::string>* local_ahead);
  Status MergeRemoteRecordLocked(const std::vector<std::string>* moved,
                                 std::vector<std::string>* local_ahead);
  // Compares one remote record ref with its local copy: takes the remote
  // value when it is newer or the local one is absent; adds the local name
  // to `local_ahead` when the local value is ahead.
  Status MergeOneRecordRefLocked(const std::string& remote_name,
                                 std::vector<std::string>* local_ahead);
  std::string UnpushedPath() const { return workdir_ + "/record-unpushed"; }
  std::string JournalPath() const { return workdir_ + "/record-journal"; }
  // Opens the journal, keeping what an earlier process left unpushed (a
  // torn last line, from a crash mid-write, is cut: its Write never
  // returned, so nothing acted on it).
  Status OpenJournal();
  // The events of `commit` (see TrustedEventsLocked), cached as their lines
  // (each parsed once to be checked and indexed, then again when asked
  // for): after a fleet-wide pass one commit holds 30,000 events, about
  // 15 MB of lines against 30 MB and more as parsed Events.
  struct CommitEvents {
    std::vector<std::string> lines;
    std::unordered_map<std::string, std::vector<uint32_t>> by_app;  // "env/app" -> indexes
    void Add(const Event& e, std::string_view line);
  };
  const CommitEvents& CommitEventsLocked(const std::string& commit);
  // The side repository the branch is fetched through (refs only; objects
  // in cache.git).
  std::string NegotiationDir() const { return workdir_ + "/negotiate.git"; }
  // The journalled names; nullopt when there is no journal.
  std::optional<std::vector<std::string>> ReadUnpushedLocked() const;
  Status WriteUnpushedLocked(const std::vector<std::string>& names);

  std::string workdir_;
  std::string url_;
  std::string branch_;
  std::unique_ptr<git::Repository> repo_;
  std::mutex mu_;
  // Held while the remote-tracking copies (refs/sluice-remote/...) are
  // written or the refs packed: by a fetch (under mu_ too; order mu_ then
  // this) and by the flusher after its push (without mu_). Two writers of
  // one ref in this cache fail on git's lock file, and a failed fetch
  // fails the pass.
  std::mutex tracking_mu_;
  std::shared_ptr<const RecordKeys> keys_;
  // Guarded by mu_: what Sync found untrusted, and its lines by commit.
  std::vector<UntrustedEntry> untrusted_;
  std::map<std::string, std::set<std::string>> untrusted_lines_;
  std::set<std::pair<std::string, std::string>> untrusted_refs_;  // (ref, commit)
  // What the remote-tracking copies are known to mirror (guarded by
  // tracking_mu_): the keyed digest of the record part of an advertisement
  // (refs/notes/sluice and refs/sluice/*, foreign names included) that
  // FetchRecordLocked found equal to them, moved along by each push of
  // ours (RememberTrackingCopies). While the remote's advertisement has
  // this digest, nothing of the record moved and the copies are not read
  // (at 30,000 record refs that comparison is most of a pass's own time).
  // nullopt: unknown, the next fetch compares the copies.
  crypto::KeyedSetDigest record_digest_;
  std::optional<uint64_t> mirrored_record_;
  uint64_t RecordDigestOf(const git::Advertisement& heard);
  // Names on the remote under refs/sluice/ that are no record reference
  // (IsRecordRefName) as of the last fetch: never fetched, warned about once.
  std::set<std::string> ignored_remote_refs_;
  // Of ignored_remote_refs_, those a push of `ours` must delete first (Git
  // cannot hold "refs/a" beside "refs/a/b").
  std::vector<std::string> ForeignBlockersLocked(const std::vector<std::string>& ours);
  // When this process first found each of untrusted_refs_ (not for those
  // loaded from an earlier process's file).
  std::map<std::pair<std::string, std::string>, TimePoint> untrusted_ref_seen_;
  bool untrusted_retried_ = false;  // RetryUntrustedRefsLocked ran in this process
  // Deletes every reference under refs/sluice/ and refs/sluice-remote/sluice/
  // of this cache that is no record reference: an older Sluice fetched and
  // merged any name the remote held. Afterwards each record name there is
  // the only one of its path (no "<name>/..."), which Repository::SetRefs
  // relies on. Once per process, by its first Sync (a read-only one takes
  // remote record refs into the cache too).
  Status DropForeignNamesLocked();
  bool foreign_names_dropped_ = false;
  std::atomic<size_t> untrusted_count_{0};
  // Trusted events by commit, for the ref confirmations of one merge only.
  std::unordered_map<std::string, std::vector<Event>> confirm_cache_;
  // Record refs written as loose files since the cache's refs were last
  // packed (see Sync): by a fetch, a record write, a push's copies.
  std::atomic<size_t> loose_refs_{0};
  // Packs the cache's loose references (under tracking_mu_).
  Status PackRefsLocked();
  // PackRefsLocked when loose_refs_ has reached its threshold.
  void PackRefsIfDueLocked();
  // The error of the last PushRecordLocked, "" after a success; guarded by mu_.
  std::string record_push_error_;
  // The journal (guarded by mu_): its descriptor, its length, and the lines
  // not yet folded into the notes, by commit.
  int journal_fd_ = -1;
  uint64_t journal_base_ = 0;  // journalled bytes trimmed away before the file's start
  uint64_t journal_size_ = 0;
  std::map<std::string, std::vector<std::string>> unfolded_;
  // Parsed events by commit, valid while refs/notes/sluice is at
  // events_tip_ (guarded by mu_).
  std::unordered_map<std::string, CommitEvents> events_;
  std::string events_tip_;
};

// The default --workdir for a repository URL:
// $XDG_CACHE_HOME/sluice/<slug> (or ~/.cache/sluice/<slug>).
std::string DefaultWorkdir(const std::string& url);

}  // namespace sluice::record
