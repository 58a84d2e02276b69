#include <gtest/gtest.h>

#include <filesystem>

#include "git/incremental.h"
#include "git/repo.h"
#include "unit/git/git_test_util.h"

namespace fs = std::filesystem;

namespace sluice::git {
namespace {

using testing::CommitFiles;
using testing::Git;
using testing::GitDaemon;
using testing::MakeRepoWithFiles;
using testing::TempDir;

constexpr char kNotes[] = "refs/notes/sluice";
constexpr char kRemoteNotes[] = "refs/notes/sluice-remote";

class NotesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = tmp_.Sub("work");
    Git(tmp_.path(), {"init", "--quiet", "--initial-branch=main", work_});
    c1_ = CommitFiles(work_, {{"a.txt", "1\n"}}, "c1");
    c2_ = CommitFiles(work_, {{"a.txt", "2\n"}}, "c2");
    auto repo = Repository::Open(work_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(*repo);
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string work_, c1_, c2_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(NotesTest, WriteReadReplaceAndList) {
  EXPECT_TRUE(repo_->ReadNote(kNotes, c1_).status().IsNotFound());
  ASSERT_OK_AND_ASSIGN(empty, repo_->ListNotes(kNotes));
  EXPECT_TRUE(empty.empty());

  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "{\"event\":\"applying\"}\n", Bot()));
  ASSERT_OK_AND_ASSIGN(first, repo_->ReadNote(kNotes, c1_));
  EXPECT_EQ(first, "{\"event\":\"applying\"}\n");
  ASSERT_OK(
      repo_->WriteNote(kNotes, c1_, "{\"event\":\"applying\"}\n{\"event\":\"applied\"}\n", Bot()));
  ASSERT_OK(repo_->WriteNote(kNotes, c2_, "{\"event\":\"waiting\"}\n", Bot()));
  ASSERT_OK_AND_ASSIGN(replaced, repo_->ReadNote(kNotes, c1_));
  EXPECT_EQ(replaced, "{\"event\":\"applying\"}\n{\"event\":\"applied\"}\n");
  EXPECT_TRUE(repo_->ReadNote(kNotes, std::string(40, 'b')).status().IsNotFound());

  ASSERT_OK_AND_ASSIGN(all, repo_->ListNotes(kNotes));
  std::map<std::string, std::string> want = {
      {c1_, "{\"event\":\"applying\"}\n{\"event\":\"applied\"}\n"},
      {c2_, "{\"event\":\"waiting\"}\n"}};
  EXPECT_EQ(all, want);
  // The git CLI reads the same notes.
  EXPECT_EQ(Git(work_, {"notes", "--ref=sluice", "show", c2_}).out, "{\"event\":\"waiting\"}\n");
  EXPECT_EQ(Git(work_, {"log", "-1", "--notes=sluice", "--format=%an", kNotes}).out,
            "Sluice Bot\n");
}

TEST_F(NotesTest, ForEachNoteStreamsEveryNoteAndStopsWhenAsked) {
  std::map<std::string, std::string> seen;
  auto collect = [&](const std::string& id, std::string_view text) {
    seen.emplace(id, std::string(text));
    return true;
  };
  ASSERT_OK(ForEachNote(*repo_, kNotes, collect));  // no notes ref yet: no call
  EXPECT_TRUE(seen.empty());

  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "one\n", Bot()));
  ASSERT_OK(repo_->WriteNote(kNotes, c2_, "two\n", Bot()));
  ASSERT_OK(ForEachNote(*repo_, kNotes, collect));
  std::map<std::string, std::string> want = {{c1_, "one\n"}, {c2_, "two\n"}};
  EXPECT_EQ(seen, want);

  int calls = 0;
  ASSERT_OK(ForEachNote(*repo_, kNotes, [&](const std::string&, std::string_view) {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
}

TEST_F(NotesTest, MergeWhenOneSideIsMissing) {
  // Theirs missing: nothing happens.
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "ours\n", Bot()));
  ASSERT_OK_AND_ASSIGN(before, repo_->ResolveRef(kNotes));
  ASSERT_OK(repo_->MergeNotes(kNotes, kRemoteNotes, Bot()));
  ASSERT_OK_AND_ASSIGN(after, repo_->ResolveRef(kNotes));
  EXPECT_EQ(before, after);

  // Ours missing: it becomes theirs.
  ASSERT_OK(repo_->WriteNote("refs/notes/other", c2_, "theirs\n", Bot()));
  ASSERT_OK(repo_->MergeNotes("refs/notes/fresh", "refs/notes/other", Bot()));
  ASSERT_OK_AND_ASSIGN(fresh, repo_->ResolveRef("refs/notes/fresh"));
  ASSERT_OK_AND_ASSIGN(other, repo_->ResolveRef("refs/notes/other"));
  EXPECT_EQ(fresh, other);
}

TEST_F(NotesTest, MergeDivergedUnionsLinesAndFastForwardsFromTheirs) {
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "base\n", Bot()));
  ASSERT_OK_AND_ASSIGN(base, repo_->ResolveRef(kNotes));
  ASSERT_OK(repo_->SetRef(kRemoteNotes, base, "fork"));
  // Theirs: two more lines on c1 and a note on c2.
  ASSERT_OK(repo_->WriteNote(kRemoteNotes, c1_, "base\ntheirs-1\nshared\n", Bot()));
  ASSERT_OK(repo_->WriteNote(kRemoteNotes, c2_, "theirs-c2\n", Bot()));
  // Ours: other lines on c1 (one duplicate), nothing on c2.
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "base\nshared\nours-1\nours-1\n", Bot()));
  ASSERT_OK_AND_ASSIGN(ours_tip, repo_->ResolveRef(kNotes));

  ASSERT_OK(repo_->MergeNotes(kNotes, kRemoteNotes, Bot()));
  ASSERT_OK_AND_ASSIGN(c1_note, repo_->ReadNote(kNotes, c1_));
  EXPECT_EQ(c1_note, "base\ntheirs-1\nshared\nours-1\n");
  ASSERT_OK_AND_ASSIGN(c2_note, repo_->ReadNote(kNotes, c2_));
  EXPECT_EQ(c2_note, "theirs-c2\n");

  ASSERT_OK_AND_ASSIGN(merged, repo_->ResolveRef(kNotes));
  ASSERT_OK_AND_ASSIGN(theirs_tip, repo_->ResolveRef(kRemoteNotes));
  ASSERT_OK_AND_ASSIGN(ff, repo_->IsAncestor(theirs_tip, merged));
  EXPECT_TRUE(ff);
  ASSERT_OK_AND_ASSIGN(keeps_ours, repo_->IsAncestor(ours_tip, merged));
  EXPECT_TRUE(keeps_ours);

  // Merging again changes nothing.
  ASSERT_OK(repo_->MergeNotes(kNotes, kRemoteNotes, Bot()));
  ASSERT_OK_AND_ASSIGN(again, repo_->ResolveRef(kNotes));
  EXPECT_EQ(again, merged);
  Git(work_, {"fsck", "--no-progress"});
}

TEST_F(NotesTest, MergeWhenOursAlreadyContainsTheirsKeepsOurTip) {
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "one\n", Bot()));
  ASSERT_OK_AND_ASSIGN(old, repo_->ResolveRef(kNotes));
  ASSERT_OK(repo_->SetRef(kRemoteNotes, old, "remote"));
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "one\ntwo\n", Bot()));
  ASSERT_OK_AND_ASSIGN(tip, repo_->ResolveRef(kNotes));
  ASSERT_OK(repo_->MergeNotes(kNotes, kRemoteNotes, Bot()));
  ASSERT_OK_AND_ASSIGN(after, repo_->ResolveRef(kNotes));
  EXPECT_EQ(after, tip);
}

class NotesRemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Sub("srv");
    fs::create_directories(root_);
    commit_ = MakeRepoWithFiles(root_, "env.git", {{"environments/prod/apps/api.yaml", "v\n"}});
    bare_ = root_ + "/env.git";
  }

  std::unique_ptr<Repository> Cache(const std::string& name, const std::string& url) {
    auto cache = Repository::OpenCache(tmp_.Sub(name), url);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    if (!cache.ok()) return nullptr;
    Status s = (*cache)->Fetch({"+refs/heads/main:refs/remotes/origin/main"});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return std::move(*cache);
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string root_, bare_, commit_;
};

TEST_F(NotesRemoteTest, PushedNotesAreShownByGitLog) {
  GitDaemon daemon(root_);
  auto cache = Cache("cache", daemon.Url("env.git"));
  ASSERT_NE(cache, nullptr);
  std::string line = "{\"env\":\"prod\",\"app\":\"api\",\"event\":\"applied\"}";
  ASSERT_OK(cache->WriteNote(kNotes, commit_, line + "\n", Bot()));
  ASSERT_OK(cache->Push({"refs/notes/sluice:refs/notes/sluice"}));

  std::string log = Git(bare_, {"log", "--notes=sluice", "-1", "main"}).out;
  EXPECT_NE(log.find("Notes (sluice):"), std::string::npos) << log;
  EXPECT_NE(log.find("    " + line), std::string::npos) << log;
}

TEST_F(NotesRemoteTest, ConcurrentWritersMergeAndNeitherLineIsLost) {
  GitDaemon daemon(root_);
  auto a = Cache("a", daemon.Url("env.git"));
  auto b = Cache("b", daemon.Url("env.git"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::string line_a = "{\"controller\":\"a\",\"event\":\"applying\"}";
  const std::string line_b = "{\"controller\":\"b\",\"event\":\"blocked\"}";

  ASSERT_OK(a->WriteNote(kNotes, commit_, line_a + "\n", Bot()));
  ASSERT_OK(b->WriteNote(kNotes, commit_, line_b + "\n", Bot()));
  ASSERT_OK(a->Push({"refs/notes/sluice:refs/notes/sluice"}));

  Status lost = b->Push({"refs/notes/sluice:refs/notes/sluice"});
  ASSERT_TRUE(lost.IsConflict()) << lost.ToString();
  EXPECT_NE(lost.message().find("refs/notes/sluice"), std::string::npos) << lost.ToString();

  ASSERT_OK(b->Fetch({"+refs/notes/sluice:refs/notes/sluice-remote"}));
  ASSERT_OK(b->MergeNotes(kNotes, kRemoteNotes, Bot()));
  ASSERT_OK(b->Push({"refs/notes/sluice:refs/notes/sluice"}));

  std::string note = Git(bare_, {"notes", "--ref=sluice", "show", commit_}).out;
  EXPECT_EQ(note, line_a + "\n" + line_b + "\n");
  std::string log = Git(bare_, {"log", "--notes=sluice", "-1", "main"}).out;
  EXPECT_NE(log.find(line_a), std::string::npos) << log;
  EXPECT_NE(log.find(line_b), std::string::npos) << log;

  // a catches up the same way and keeps everything.
  ASSERT_OK(a->Fetch({"+refs/notes/sluice:refs/notes/sluice-remote"}));
  ASSERT_OK(a->MergeNotes(kNotes, kRemoteNotes, Bot()));
  ASSERT_OK_AND_ASSIGN(a_note, a->ReadNote(kNotes, commit_));
  EXPECT_EQ(a_note, line_a + "\n" + line_b + "\n");
  ASSERT_OK(a->Push({"refs/notes/sluice:refs/notes/sluice"}));
}

// The record's write path (RecordStore) appends a batch of events to the
// notes of many commits in one notes commit.
TEST_F(NotesTest, AppendToNotesAddsOnlyNewLinesInOneCommit) {
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "a\nb\n", Bot()));
  ASSERT_OK_AND_ASSIGN(before, repo_->ResolveRef(kNotes));
  ASSERT_OK_AND_ASSIGN(tip, repo_->AppendToNotes(kNotes, {{c1_, {"b", "c", "c"}}, {c2_, {"x"}}},
                                                 Bot(), "two notes"));
  EXPECT_NE(tip, before);
  ASSERT_OK_AND_ASSIGN(one, repo_->ReadNote(kNotes, c1_));
  EXPECT_EQ(one, "a\nb\nc\n");
  ASSERT_OK_AND_ASSIGN(two, repo_->ReadNote(kNotes, c2_));
  EXPECT_EQ(two, "x\n");
  // One commit for both notes, on top of the previous one.
  EXPECT_EQ(Git(work_, {"rev-list", "--count", before + ".." + tip}).out, "1\n");
  EXPECT_EQ(Git(work_, {"notes", "--ref=sluice", "show", c2_}).out, "x\n");
  // Nothing new: no commit.
  ASSERT_OK_AND_ASSIGN(same, repo_->AppendToNotes(kNotes, {{c1_, {"a", "c"}}}, Bot(), "again"));
  EXPECT_EQ(same, tip);
}

// The new note is streamed from the old one and the new lines (never
// copied whole): a hand-written note without a final newline still gets
// one line per event, and a note of several megabytes (more than one piece
// of the stream) is written byte for byte, as git reads it.
TEST_F(NotesTest, AppendToNotesStreamsTheOldNoteAndTheNewLines) {
  ASSERT_OK(repo_->WriteNote(kNotes, c1_, "by hand, no newline", Bot()));
  ASSERT_OK(
      repo_->AppendToNotes(kNotes, {{c1_, {"e1", "by hand, no newline"}}}, Bot(), "one").status());
  ASSERT_OK_AND_ASSIGN(one, repo_->ReadNote(kNotes, c1_));
  EXPECT_EQ(one, "by hand, no newline\ne1\n");

  std::vector<std::string> many;
  std::string want;
  for (int i = 0; i < 30000; ++i) {
    many.push_back("{\"event\":\"applied\",\"n\":" + std::to_string(i) + ",\"pad\":\"" +
                   std::string(90, 'x') + "\"}");
    want += many.back() + "\n";
  }
  ASSERT_OK(repo_->AppendToNotes(kNotes, {{c2_, many}}, Bot(), "big").status());
  ASSERT_OK(repo_->AppendToNotes(kNotes, {{c2_, {"last"}}}, Bot(), "one more").status());
  want += "last\n";
  ASSERT_GT(want.size(), 3u << 20);
  EXPECT_EQ(Git(work_, {"notes", "--ref=sluice", "show", c2_}).out, want);
  EXPECT_EQ(Git(work_, {"fsck", "--no-dangling"}, /*allow_failure=*/true).exit_code, 0);
}

TEST_F(NotesTest, AppendToNotesFansOutOnceLargeAndGitStillReadsEveryNote) {
  std::map<std::string, std::vector<std::string>> batch;
  for (int i = 0; i < 300; ++i) {
    char id[41];
    snprintf(id, sizeof id, "%02x%038d", i % 256, i);
    batch[id] = {"event " + std::to_string(i)};
  }
  batch[c1_] = {"on c1"};
  ASSERT_OK(repo_->AppendToNotes(kNotes, batch, Bot(), "many").status());
  // Two levels, as `git notes` writes a large notes tree: "ab/cdef...".
  std::string top = Git(work_, {"ls-tree", kNotes}).out;
  EXPECT_EQ(top.find(c1_), std::string::npos) << top;
  EXPECT_NE(top.find("\t" + c1_.substr(0, 2) + "\n"), std::string::npos) << top;
  EXPECT_NE(
      Git(work_, {"ls-tree", std::string(kNotes) + ":" + c1_.substr(0, 2)}).out.find(c1_.substr(2)),
      std::string::npos);
  // Every reader finds them: the git CLI, libgit2, and later appends.
  EXPECT_EQ(Git(work_, {"log", "-1", "--notes=sluice", "--format=%N", c1_}).out, "on c1\n\n");
  EXPECT_EQ(Git(work_, {"notes", "--ref=sluice", "list"}).out.size(), 301u * 82u);
  ASSERT_OK(
      repo_->AppendToNotes(kNotes, {{c1_, {"more"}}, {c2_, {"first"}}}, Bot(), "more").status());
  ASSERT_OK_AND_ASSIGN(c1_note, repo_->ReadNote(kNotes, c1_));
  EXPECT_EQ(c1_note, "on c1\nmore\n");
  EXPECT_EQ(Git(work_, {"notes", "--ref=sluice", "show", c2_}).out, "first\n");
  ASSERT_OK_AND_ASSIGN(all, repo_->ListNotes(kNotes));
  EXPECT_EQ(all.size(), 302u);
}

TEST_F(NotesTest, AppendToNotesRefusesAnIdThatIsNotACommitId) {
  Status s = repo_->AppendToNotes(kNotes, {{"../../etc", {"x"}}}, Bot(), "bad").status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not a commit id"), std::string::npos) << s.ToString();
  EXPECT_TRUE(repo_->ReadNote(kNotes, c1_).status().IsNotFound());
}

}  // namespace
}  // namespace sluice::git
