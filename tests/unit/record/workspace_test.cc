// Workspace::Sync keeps the local record and the remote's in step without
// comparing every record ref on every pass: what a failed push left behind
// is still pushed later (from the journal, or by a full comparison in a
// workdir without one), and what another writer pushed is still taken.
#include "record/workspace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "record/pass_stamp.h"
#include "record/refs.h"
#include "record/store.h"
#include "support/env_repo_test.h"
#include "support/git_servers.h"
#include "support/temp_dir.h"

namespace sluice::record {
namespace {

namespace fs = std::filesystem;
using testing::CommitFiles;
using testing::Git;

class WorkspaceTest : public testing::EnvRepoTest {
 protected:
  WorkspaceTest() {
    c1_ = CommitFiles(tmp_.Sub("work"), {{"sluice.yaml", "pipeline: [prod]\n"}}, "c1");
    c2_ = CommitFiles(tmp_.Sub("work"), {{"a.txt", "2\n"}}, "c2");
    Git(tmp_.Sub("work"), {"push", "-q", "origin", "HEAD:refs/heads/main"});
  }

  std::unique_ptr<Workspace> Open(const std::string& name, const TrustOptions& trust = {}) {
    auto ws = Workspace::Open(tmp_.Sub(name), bare_, "main", trust);
    EXPECT_TRUE(ws.ok()) << ws.status().ToString();
    return ws.ok() ? std::move(*ws) : nullptr;
  }

  // Another replica's trust: it lists the key of the workdir "writer".
  TrustOptions ReaderTrust() {
    TrustOptions trust;
    trust.controller_keys_file = tmp_.Sub("writer") + "/controller-key.pub";
    return trust;
  }

  Event At(const std::string& commit) {
    Event e;
    e.env = "prod";
    e.app = "api";
    e.kind = EventKind::kApplied;
    e.commit = commit;
    e.time = std::chrono::system_clock::now();
    return e;
  }

  // Apps app<from>..app<to - 1> of prod deployed at `commit` through
  // `record`, then flushed: each a loose ref and, after the push, its
  // loose remote-tracking copy.
  void WriteDeployed(RecordStore& record, const std::string& commit, int from, int to) {
    for (int i = from; i < to; ++i) {
      Event e = At(commit);
      e.app = "app" + std::to_string(i);
      ASSERT_TRUE(record.Write(e, {{DeployedRef("prod", e.app), commit}}).ok());
    }
    ASSERT_TRUE(record.Flush().ok());
  }

  std::string LocalRef(Workspace& ws, const std::string& ref) {
    auto id = ws.repo().ResolveRef(ref);
    return id.ok() ? *id : "";
  }

  // Writes a record ref while the remote cannot be reached: the write keeps
  // it locally and the flush reports the failed push.
  void WriteWhileUnreachable(Workspace& ws, const std::string& commit) {
    fs::rename(bare_, bare_ + ".away");
    Status s;
    {
      RecordStore record(ws);
      EXPECT_TRUE(record.Write(At(commit), {{DeployedRef("prod", "api"), commit}}).ok());
      s = record.Flush();
    }
    fs::rename(bare_ + ".away", bare_);
    EXPECT_FALSE(s.ok()) << "the push should have failed with the remote away";
    EXPECT_EQ(LocalRef(ws, DeployedRef("prod", "api")), commit);
    EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), "");
  }

  git::LibGit2 libgit2_;
  std::string c1_, c2_;
};

TEST_F(WorkspaceTest, ARecordRefLeftUnpushedIsPushedByTheNextSyncOfANewProcess) {
  {
    auto ws = Open("workdir");
    ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
    WriteWhileUnreachable(*ws, c2_);
  }
  auto again = Open("workdir");  // a new `sluice reconcile --once`
  Status s = again->Sync(/*push=*/true);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_);
  EXPECT_NE(Git(bare_, {"notes", "--ref=sluice", "show", c2_}).out.find("\"event\":\"applied\""),
            std::string::npos);
}

// A record ref can reach a replica before the note that confirms it (refs
// are updated one by one on the remote; a killed replica pushes its journal
// later). It is untrusted at first, and taken once the note arrives: the HA
// trials' double applies came from a replica that kept the older deployed
// commit because the ref was never looked at again.
TEST_F(WorkspaceTest, ARefThatArrivedBeforeItsNoteIsTakenWhenTheNoteArrives) {
  auto writer = Open("writer");
  auto reader = Open("reader", ReaderTrust());
  ASSERT_TRUE(writer->Sync(true).ok());
  ASSERT_TRUE(reader->Sync(true).ok());
  RecordStore record(*writer);
  ASSERT_TRUE(record.Write(At(c2_), {{DeployedRef("prod", "api"), c2_}}).ok());
  ASSERT_TRUE(record.Flush().ok());
  // On the remote: the ref is there, the note confirming it not yet.
  const std::string notes = RemoteRef("refs/notes/sluice");
  ASSERT_FALSE(notes.empty());
  Git(bare_, {"update-ref", "-d", "refs/notes/sluice"});
  ASSERT_TRUE(reader->Sync(false).ok());
  EXPECT_EQ(LocalRef(*reader, DeployedRef("prod", "api")), "");
  EXPECT_EQ(reader->UntrustedCount(), 1u);
  // The note arrives; the ref itself does not move.
  Git(bare_, {"update-ref", "refs/notes/sluice", notes});
  ASSERT_TRUE(reader->Sync(false).ok());
  EXPECT_EQ(LocalRef(*reader, DeployedRef("prod", "api")), c2_);
  EXPECT_EQ(reader->UntrustedCount(), 0u);
  // A new process of the reader does not list it again.
  reader.reset();
  auto again = Open("reader", ReaderTrust());
  EXPECT_EQ(again->UntrustedCount(), 0u);
}

TEST_F(WorkspaceTest, AWorkdirWithoutAJournalComparesEveryRecordRef) {
  {
    auto ws = Open("workdir");
    ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
    WriteWhileUnreachable(*ws, c2_);
  }
  // As a workdir written by an older Sluice: no journal of unpushed refs.
  fs::remove(tmp_.Sub("workdir") + "/record-unpushed");
  auto again = Open("workdir");
  ASSERT_TRUE(again->Sync(/*push=*/true).ok());
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_);
}

TEST_F(WorkspaceTest, TakesRecordRefsAnotherWriterPushedAndKeepsTheirOrder) {
  auto writer = Open("writer");
  auto reader = Open("reader", ReaderTrust());
  ASSERT_TRUE(writer->Sync(true).ok());
  ASSERT_TRUE(reader->Sync(true).ok());
  RecordStore record(*writer);
  ASSERT_TRUE(record.Write(At(c1_), {{DeployedRef("prod", "api"), c1_}}).ok());
  ASSERT_TRUE(record.Flush().ok());
  ASSERT_TRUE(reader->Sync(true).ok());
  EXPECT_EQ(LocalRef(*reader, DeployedRef("prod", "api")), c1_);
  // The ref moves forward on the remote: the reader follows.
  ASSERT_TRUE(record.Write(At(c2_), {{DeployedRef("prod", "api"), c2_}}).ok());
  ASSERT_TRUE(record.Flush().ok());
  ASSERT_TRUE(reader->Sync(true).ok());
  EXPECT_EQ(LocalRef(*reader, DeployedRef("prod", "api")), c2_);
  // Nothing moved: a Sync changes nothing and pushes nothing older.
  ASSERT_TRUE(reader->Sync(true).ok());
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_);
  EXPECT_EQ(LocalRef(*reader, DeployedRef("prod", "api")), c2_);
}

// A controller that found the remote's record equal to its copies, and then
// pushed, skips the comparison while the remote's advertisement sums to what
// it pushed (Workspace::mirrored_record_). Anything another hand moves on
// the remote after that push is still fetched: here a deployed ref rewound
// to a commit no trusted event backs, which the controller puts back.
TEST_F(WorkspaceTest, AfterItsOwnPushASyncStillSeesARecordRefAnotherHandMoved) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  RecordStore record(*ws);
  ASSERT_TRUE(record.Write(At(c2_), {{DeployedRef("prod", "api"), c2_}}).ok());
  ASSERT_TRUE(record.Flush().ok());
  ASSERT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_);
  // Nothing moved since the push: nothing changes.
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "api")), c2_);
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_);

  // One Sync fetches the rewound ref, keeps its own value, and pushes it back.
  Git(bare_, {"update-ref", DeployedRef("prod", "api"), c1_});
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_) << "the rewound ref was never noticed";
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "api")), c2_);
  EXPECT_EQ(LocalRef(*ws, std::string(kRemoteSluicePrefix) + "deployed/prod/api"), c2_);

  // Another writer's notes commit: fetched, merged, and the merge pushed.
  Git(bare_, {"notes", "--ref=sluice", "append", "-m", "another writer", c1_});
  const std::string theirs = RemoteRef(kNotesRef);
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  EXPECT_EQ(
      Git(bare_, {"merge-base", "--is-ancestor", theirs, RemoteRef(kNotesRef)}, true).exit_code, 0)
      << "the other writer's notes were never fetched";
  EXPECT_EQ(LocalRef(*ws, kRemoteNotesRef), RemoteRef(kNotesRef));
}

// A first sync of a long record writes every record ref twice as a loose
// file; the workspace packs them (every later fetch and listing would open
// each one), and packed refs read and update as before.
TEST_F(WorkspaceTest, ASyncThatBringsManyRecordRefsPacksThem) {
  // 200 refs on the remote, written as git writes loose refs, each
  // confirmed by a signed event on c1 (the record of a real controller).
  fs::create_directories(tmp_.Sub("workdir"));
  auto keys = RecordKeys::Load({}, tmp_.Sub("workdir"), nullptr);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  std::string note;
  for (int i = 0; i < 200; ++i) {
    Event e = At(c1_);
    e.app = "app" + std::to_string(i);
    note += (*keys)->SignLine(EventToJsonLine(e)) + "\n";
  }
  testing::WriteFile(tmp_.Sub("note.txt"), note);
  Git(bare_, {"notes", "--ref=sluice", "add", "-F", tmp_.Sub("note.txt"), c1_});
  for (int i = 0; i < 200; ++i) {
    fs::path ref = fs::path(bare_) / DeployedRef("prod", "app" + std::to_string(i));
    fs::create_directories(ref.parent_path());
    std::ofstream(ref) << c1_ << "\n";
  }
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  const std::string refs = tmp_.Sub("workdir") + "/cache.git/refs/sluice";
  EXPECT_FALSE(fs::exists(refs + "/deployed/prod/app7"));
  ASSERT_TRUE(fs::exists(tmp_.Sub("workdir") + "/cache.git/packed-refs"));
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "app7")), c1_);
  EXPECT_EQ(Git(tmp_.Sub("workdir") + "/cache.git", {"rev-parse", DeployedRef("prod", "app7")})
                .out.substr(0, 40),
            c1_);
  // A packed ref still moves.
  RecordStore record(*ws);
  ASSERT_TRUE(record.Write(At(c2_), {{DeployedRef("prod", "app7"), c2_}}).ok());
  ASSERT_TRUE(record.Flush().ok());
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "app7")), c2_);
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "app7")), c2_);

  // A new process on a cache with few loose refs leaves them be.
  auto again = Open("workdir");
  ASSERT_TRUE(again->Sync(/*push=*/true).ok());
  EXPECT_TRUE(fs::exists(refs + "/deployed/prod/app7"));
}

// The controller's daemon is one long process: the refs its own record
// writes (and their remote-tracking copies after each push) count too, and
// its next Sync packs them, so a fleet-wide pass does not leave thousands
// of loose files for every later listing to open.
TEST_F(WorkspaceTest, TheRefsAProcessWritesItselfArePackedByItsNextSync) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  {
    RecordStore record(*ws);
    WriteDeployed(record, c2_, 0, 150);
  }
  const std::string cache = tmp_.Sub("workdir") + "/cache.git";
  EXPECT_TRUE(fs::exists(cache + "/refs/sluice/deployed/prod/app7"));
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());  // the same process: nothing fetched
  EXPECT_FALSE(fs::exists(cache + "/refs/sluice/deployed/prod/app7"));
  EXPECT_FALSE(fs::exists(cache + "/refs/sluice-remote/sluice/deployed/prod/app7"));
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "app7")), c2_);
  EXPECT_NE(Git(cache, {"show-ref", DeployedRef("prod", "app149")}).out.find(c2_),
            std::string::npos);
}

// A pass ends with PackRefsIfDue: the refs it wrote and their tracking
// copies are packed then, not at the start of the next pass (where a
// fleet-wide change would wait seconds for them), and a few are left be.
TEST_F(WorkspaceTest, PackRefsIfDuePacksManyLooseRefsAndLeavesAFewBe) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  const std::string cache = tmp_.Sub("workdir") + "/cache.git";
  RecordStore record(*ws);
  WriteDeployed(record, c2_, 0, 150);
  ASSERT_TRUE(fs::exists(cache + "/refs/sluice/deployed/prod/app7"));
  ws->PackRefsIfDue();
  EXPECT_FALSE(fs::exists(cache + "/refs/sluice/deployed/prod/app7"));
  EXPECT_FALSE(fs::exists(cache + "/refs/sluice-remote/sluice/deployed/prod/app7"));
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "app7")), c2_);
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "app149")), c2_);

  WriteDeployed(record, c2_, 150, 160);
  ws->PackRefsIfDue();
  EXPECT_TRUE(fs::exists(cache + "/refs/sluice/deployed/prod/app155"));
  EXPECT_EQ(LocalRef(*ws, DeployedRef("prod", "app155")), c2_);
}

// The controller writes its record (notes, pass stamps) after every deploy,
// so the newest history in its cache is never the branch's. One new commit
// on the branch must still bring one commit's objects, not the branch's
// whole history again. This guards Sync's branch fetch end to end; at this
// size libgit2's walk happens to offer the branch even without the side
// repository, so the full-size benchmark (docs/performance.md, sixth round)
// is what showed the 96 MB re-download it prevents.
TEST_F(WorkspaceTest, ANewBranchCommitBringsOnlyItsOwnObjectsWhenTheRecordIsNewer) {
  const std::string work = tmp_.Sub("work");
  for (int i = 0; i < 40; ++i) {
    auto r = testing::RunCommand(
        {"git", "commit", "-q", "--allow-empty", "-m", "history " + std::to_string(i)}, work,
        testing::GitIdentityAt("2026-01-01T00:" + std::to_string(10 + i) + ":00Z"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Git(work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  // 30 notes, written months after the commits they annotate.
  std::istringstream ids(Git(bare_, {"rev-list", "--max-count=30", "main"}).out);
  for (std::string id; ids >> id;) {
    auto r = testing::RunCommand({"git", "notes", "--ref=sluice", "add", "-m", "{}", id}, bare_,
                                 testing::GitIdentityAt("2026-06-01T00:00:00Z"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // Over the network (git daemon): the smart protocol's negotiation.
  testing::GitDaemon daemon(tmp_.Sub("srv"));
  auto opened = Workspace::Open(tmp_.Sub("workdir"), daemon.Url("envs.git"), "main");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& ws = *opened;
  ASSERT_TRUE(ws->Sync(/*push=*/false).ok());
  const std::string cache = tmp_.Sub("workdir") + "/cache.git";
  long before = testing::CountObjects(cache);

  auto r = testing::RunCommand({"git", "commit", "-q", "--allow-empty", "-m", "one more"}, work,
                               testing::GitIdentityAt("2026-01-02T00:00:00Z"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Git(work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  ASSERT_TRUE(ws->Sync(/*push=*/false).ok());
  EXPECT_EQ(LocalRef(*ws, "refs/remotes/origin/main"), RemoteRef("main"));
  EXPECT_LE(testing::CountObjects(cache) - before, 2)
      << "the fetch sent the branch's history again";
}

// ---------------------------------------------------------------- the write path
// (RecordStore: a journal, then one notes commit and one push per batch)

size_t NotesCommits(const std::string& repo) {
  return std::stoul(Git(repo, {"rev-list", "--count", kNotesRef}).out);
}

TEST_F(WorkspaceTest, WrittenEventsAreReadAtOnceAndPushedInOneBatch) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  {
    // Journalled together, before any fold: visible to this process at once.
    std::lock_guard lock(ws->mutex());
    for (int i = 0; i < 50; ++i) {
      Event e = At(c2_);
      e.app = "app" + std::to_string(i);
      ASSERT_TRUE(ws->JournalEventLocked(e, ws->keys().SignLine(EventToJsonLine(e)), false).ok());
    }
    EXPECT_EQ(ws->TrustedEventsLocked(c2_).size(), 50u);
    EXPECT_EQ(ws->TrustedEventsForLocked(c2_, "prod", "app7").size(), 1u);
    EXPECT_TRUE(ws->TrustedEventsForLocked(c2_, "prod", "nope").empty());
  }
  // Sync folds what is journalled into ONE notes commit and pushes it.
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  EXPECT_EQ(NotesCommits(bare_), 1u);
  std::string note = Git(bare_, {"notes", "--ref=sluice", "show", c2_}).out;
  EXPECT_EQ(std::count(note.begin(), note.end(), '\n'), 50);
  // The journal forgot what the remote holds.
  EXPECT_EQ(fs::file_size(tmp_.Sub("workdir") + "/record-journal"), 0u);

  // Through RecordStore: many writes, then one Flush; far fewer notes
  // commits than events (the flusher batches what arrives meanwhile).
  {
    RecordStore record(*ws);
    for (int i = 0; i < 40; ++i) {
      Event e = At(c1_);
      e.app = "app" + std::to_string(i);
      ASSERT_TRUE(record.Write(e, {{DeployedRef("prod", e.app), c1_}}).ok());
      EXPECT_EQ(record.EventsFor(c1_, "prod", e.app).size(), 1u);
    }
    ASSERT_TRUE(record.Flush().ok());
  }
  note = Git(bare_, {"notes", "--ref=sluice", "show", c1_}).out;
  EXPECT_EQ(std::count(note.begin(), note.end(), '\n'), 40);
  EXPECT_LT(NotesCommits(bare_), 1u + 40u);
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "app39")), c1_);
}

// A cache an older Sluice filled: it fetched and merged any name the remote
// held under refs/sluice/, including ones deeper than a record ref. The
// record writes no longer check every packed ref for a clash
// (Repository::SetRefs), so the first Sync of a process deletes such names, and
// the record ref they would shadow is written and pushed.
TEST_F(WorkspaceTest, NamesNoSluiceWritesAreDroppedFromAnOldCacheBeforeTheRecordIsWritten) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  const std::string cache = tmp_.Sub("workdir") + "/cache.git";
  const std::string deeper = DeployedRef("prod", "api") + "/x";
  const std::string remote_deeper = std::string(kRemoteSluicePrefix) + "deployed/prod/api/x";
  Git(cache, {"update-ref", deeper, c1_});
  Git(cache, {"update-ref", remote_deeper, c1_});
  Git(cache, {"update-ref", std::string(kSluicePrefix) + "stray", c1_});
  Git(cache, {"pack-refs", "--all"});  // packed: no lock file would notice them
  ws.reset();

  auto again = Open("workdir");  // the new binary's first run
  ASSERT_TRUE(again->Sync(/*push=*/true).ok());
  EXPECT_EQ(LocalRef(*again, deeper), "");
  EXPECT_EQ(LocalRef(*again, remote_deeper), "");
  EXPECT_EQ(LocalRef(*again, std::string(kSluicePrefix) + "stray"), "");
  {
    RecordStore record(*again);
    ASSERT_TRUE(record.Write(At(c2_), {{DeployedRef("prod", "api"), c2_}}).ok());
    ASSERT_TRUE(record.Flush().ok());
  }
  EXPECT_EQ(RemoteRef(DeployedRef("prod", "api")), c2_);
  // The git CLI reads the cache without a file/directory clash.
  EXPECT_EQ(Git(cache, {"for-each-ref", "--format=%(refname)", "refs/sluice/deployed/"}).out,
            DeployedRef("prod", "api") + "\n");
}

// kill -9 after an event was journalled and before it reached the notes or
// the remote: the next process reads it, and its first pushing Sync pushes
// it. A torn last line (the crash came mid-write) is cut: that Write never
// returned, so nothing acted on it.
TEST_F(WorkspaceTest, AJournalLeftByACrashIsReadAndPushedByTheNextProcess) {
  {
    auto ws = Open("workdir");
    ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
    std::lock_guard lock(ws->mutex());
    Event e = At(c2_);
    e.kind = EventKind::kApplying;
    ASSERT_TRUE(ws->JournalEventLocked(e, ws->keys().SignLine(EventToJsonLine(e)), true).ok());
    // ...and the process dies here: no fold, no push.
  }
  {
    std::ofstream torn(tmp_.Sub("workdir") + "/record-journal", std::ios::app);
    torn << c2_ << " {\"v\":1,\"event\":\"appl";
  }
  EXPECT_EQ(Git(bare_, {"notes", "--ref=sluice", "list"}).out, "");
  auto again = Open("workdir");
  {
    std::lock_guard lock(again->mutex());
    auto events = again->TrustedEventsLocked(c2_);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].kind, EventKind::kApplying);
  }
  ASSERT_TRUE(again->Sync(/*push=*/true).ok());
  std::string note = Git(bare_, {"notes", "--ref=sluice", "show", c2_}).out;
  EXPECT_NE(note.find("\"event\":\"applying\""), std::string::npos) << note;
  EXPECT_EQ(std::count(note.begin(), note.end(), '\n'), 1);
  // The journal continues cleanly after the cut line.
  {
    RecordStore record(*again);
    ASSERT_TRUE(record.Write(At(c2_)).ok());
    ASSERT_TRUE(record.Flush().ok());
  }
  note = Git(bare_, {"notes", "--ref=sluice", "show", c2_}).out;
  EXPECT_EQ(std::count(note.begin(), note.end(), '\n'), 2) << note;
}

// The flusher pushes through its own handle and then writes the
// remote-tracking copies; a pass's Sync fetches into the same copies. Both
// at once failed on git's lock file (".../sluice-remote/.../api.lock"), and
// the failed fetch failed the whole pass (seen in CI as a reconcile that
// exited 1 mid-rollback). Each Sync here must succeed while the flusher
// pushes.
TEST_F(WorkspaceTest, ASyncDuringTheFlushersPushDoesNotFailOnARefLock) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  RecordStore record(*ws);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) {
      Event e = At(c2_);
      e.app = "app" + std::to_string(i % 60);
      EXPECT_TRUE(record.Write(e, {{DeployedRef("prod", e.app), i % 2 ? c1_ : c2_}}).ok());
    }
    EXPECT_TRUE(record.Flush().ok());
    done = true;
  });
  int syncs = 0;
  while (!done) {
    Status s = ws->Sync(/*push=*/false);
    ASSERT_TRUE(s.ok()) << "sync " << syncs << ": " << s.ToString();
    ++syncs;
  }
  writer.join();
  EXPECT_GT(syncs, 0);
}

// The daemon's pass stamp goes through the store (RecordPass with a store):
// the pass does not wait for its push, and the push is this process's proof
// that the remote takes its record, so the first `applying` need not wait for
// one of its own. A push that fails withdraws the proof.
TEST_F(WorkspaceTest, AStagedPassStampProvesTheRemoteForTheFirstApplying) {
  auto ws = Open("workdir");
  ASSERT_TRUE(ws->Sync(/*push=*/true).ok());
  RecordStore record(*ws);
  PassStamp stamp;
  stamp.time = std::chrono::system_clock::now();
  stamp.head = c2_;
  stamp.branch = "main";
  auto staged = RecordPass(*ws, stamp, std::chrono::seconds(0), &record);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_TRUE(*staged);
  ASSERT_TRUE(record.Flush().ok());
  EXPECT_EQ(RemoteRef(kPassRef), LocalRef(*ws, kPassRef));

  Event applying = At(c2_);
  applying.kind = EventKind::kApplying;
  fs::rename(bare_, bare_ + ".away");
  // Proven: journalled (durable) and returned, without a push of its own.
  EXPECT_TRUE(record.Write(applying, {{CandidateRef("prod", "api"), c2_}}).ok());
  EXPECT_FALSE(record.Flush().ok());
  // The last push failed: no more `applying` until one succeeds.
  Event next = applying;
  next.app = "web";
  Status refused = record.Write(next, {{CandidateRef("prod", "web"), c2_}});
  EXPECT_EQ(refused.code(), Status::Code::kFailedPrecondition) << refused.ToString();
  EXPECT_NE(refused.message().find("the record cannot be pushed"), std::string::npos)
      << refused.ToString();
  fs::rename(bare_ + ".away", bare_);
  // Nothing of the first is lost: the next flush carries it.
  ASSERT_TRUE(record.Flush().ok());
  std::string note = Git(bare_, {"notes", "--ref=sluice", "show", c2_}).out;
  EXPECT_NE(note.find("\"event\":\"applying\""), std::string::npos) << note;
  EXPECT_EQ(RemoteRef(CandidateRef("prod", "api")), c2_);
  EXPECT_EQ(RemoteRef(CandidateRef("prod", "web")), "");
}

}  // namespace
}  // namespace sluice::record
