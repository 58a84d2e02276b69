#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "git/incremental.h"
#include "git/quick_ack.h"
#include "git/repo.h"
#include "unit/git/git_test_util.h"

namespace fs = std::filesystem;

namespace sluice::git {
namespace {

using testing::CloneRepo;
using testing::CommitFiles;
using testing::Git;
using testing::GitDaemon;
using testing::GitHttpServer;
using testing::MakeRepoWithFiles;
using testing::TempDir;

const std::vector<std::string> kFetchMain = {"+refs/heads/main:refs/remotes/origin/main"};

class RemoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Sub("srv");
    fs::create_directories(root_);
    first_ = MakeRepoWithFiles(root_, "env.git", {{"environments/prod/apps/api.yaml", "v: 1\n"}});
    bare_ = root_ + "/env.git";
  }

  std::string RemoteRev(const std::string& ref) { return Trim(Git(bare_, {"rev-parse", ref}).out); }

  // Opens a cache on `url`, fetches main and commits `content` on top of it
  // as local refs/heads/main; returns the new commit id.
  std::string CommitInCache(Repository& cache, const std::string& content) {
    Status s = cache.Fetch(kFetchMain);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto base = cache.ResolveRef("refs/remotes/origin/main");
    EXPECT_TRUE(base.ok()) << base.status().ToString();
    if (!base.ok()) return "";
    auto id = cache.CreateCommit(*base, {{"environments/prod/apps/api.yaml", content}}, "Pin api",
                                 Bot(), Bot());
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    EXPECT_TRUE(cache.SetRef("refs/heads/main", *id, "commit").ok());
    return *id;
  }

  static std::string RecordRef(int n) {
    return "refs/sluice/deployed/prod/app" + std::to_string(n);
  }

  // The remote gains a second commit (refs/heads/second) and `count` record
  // refs RecordRef(first_n), RecordRef(first_n + 1), ... at first_; returns
  // the second commit.
  std::string SeedSecondAndRecordRefs(int count, int first_n) {
    std::string work = tmp_.Sub("work");
    CloneRepo(bare_, work);
    const std::string second = CommitFiles(work, {{"other", "x\n"}}, "second");
    Git(work, {"push", "-q", "origin", "HEAD:refs/heads/second"});
    auto server = Repository::Open(bare_);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return second;
    for (int i = 0; i < count; ++i) {
      Status set = (*server)->SetRef(RecordRef(first_n + i), first_, "seed");
      EXPECT_TRUE(set.ok()) << set.ToString();
    }
    return second;
  }

  LibGit2 libgit2_;
  TempDir tmp_;
  std::string root_, bare_, first_;
};

// git/quick_ack.h: the sockets libgit2 opens for git:// and http:// once a
// workspace on such a URL registered them. Fetch and push work through them
// exactly as through libgit2's own (the daemon test below, again), and a
// refused connection says where it tried.
TEST_F(RemoteTest, QuickAckSocketsCarryFetchAndPushAndNameARefusedAddress) {
  EXPECT_FALSE(UseQuickAckSockets("ssh://git@example.com/envs.git"));
  EXPECT_FALSE(UseQuickAckSockets("https://example.com/envs.git"));
  EXPECT_FALSE(UseQuickAckSockets(bare_));
  EXPECT_EQ(QuickAckConnections(), 0u);
  ASSERT_TRUE(UseQuickAckSockets("git://127.0.0.1/envs.git"));

  std::string url;
  {
    GitDaemon daemon(root_);
    url = daemon.Url("env.git");
    ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), url));
    ASSERT_OK(cache->Fetch(kFetchMain));
    EXPECT_GE(QuickAckConnections(), 1u);
    std::string id = CommitInCache(*cache, "v: 2\n");
    ASSERT_OK(cache->Push({"refs/heads/main:refs/heads/main"}));
    EXPECT_EQ(RemoteRev("main"), id);
    ASSERT_OK_AND_ASSIGN(other, Repository::OpenCache(tmp_.Sub("cache2"), url));
    ASSERT_OK(other->Fetch(kFetchMain));
    ASSERT_OK_AND_ASSIGN(seen, other->ResolveRef("refs/remotes/origin/main"));
    EXPECT_EQ(seen, id);
  }
  {
    GitHttpServer http(root_);
    ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache3"), http.Url("env.git")));
    const uint64_t before = QuickAckConnections();
    ASSERT_OK(cache->Fetch(kFetchMain));
    EXPECT_GT(QuickAckConnections(), before) << "http:// went around the quick-ack sockets";
    ASSERT_OK_AND_ASSIGN(fetched, cache->ResolveRef("refs/remotes/origin/main"));
    EXPECT_EQ(fetched, RemoteRev("main"));
  }
  // The daemon is gone: the error names the address.
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), url));
  Status s = cache->Fetch(kFetchMain);
  ASSERT_FALSE(s.ok());
  const std::string where = url.substr(std::string("git://").size());
  EXPECT_NE(s.ToString().find("failed to connect to " + where.substr(0, where.find('/'))),
            std::string::npos)
      << s.ToString();
}

TEST_F(RemoteTest, FetchAndPushOverGitDaemon) {
  GitDaemon daemon(root_);
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), daemon.Url("env.git")));
  EXPECT_TRUE(git_repository_is_bare(cache->raw()));
  EXPECT_EQ(Trim(Git(tmp_.Sub("cache"), {"config", "remote.origin.url"}).out),
            daemon.Url("env.git"));

  ASSERT_OK(cache->Fetch(kFetchMain));
  ASSERT_OK_AND_ASSIGN(fetched, cache->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(fetched, first_);
  ASSERT_OK_AND_ASSIGN(content, cache->ReadFile(fetched, "environments/prod/apps/api.yaml"));
  EXPECT_EQ(content, "v: 1\n");
  // A source that does not exist on the remote is not an error.
  ASSERT_OK(cache->Fetch({"+refs/notes/sluice:refs/notes/sluice-remote"}));
  EXPECT_TRUE(cache->ResolveRef("refs/notes/sluice-remote").status().IsNotFound());

  std::string id = CommitInCache(*cache, "v: 2\n");
  ASSERT_OK(cache->Push({"refs/heads/main:refs/heads/main"}));
  EXPECT_EQ(RemoteRev("main"), id);
  EXPECT_EQ(Git(bare_, {"show", "main:environments/prod/apps/api.yaml"}).out, "v: 2\n");

  // A second cache sees the new commit.
  ASSERT_OK_AND_ASSIGN(other, Repository::OpenCache(tmp_.Sub("cache2"), daemon.Url("env.git")));
  ASSERT_OK(other->Fetch(kFetchMain));
  ASSERT_OK_AND_ASSIGN(seen, other->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(seen, id);
}

TEST_F(RemoteTest, FetchAndPushOverSmartHttpWithCredentials) {
  GitHttpServer http(root_);
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), http.Url("env.git")));
  ASSERT_OK(cache->Fetch(kFetchMain));
  ASSERT_OK_AND_ASSIGN(fetched, cache->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(fetched, first_);

  std::string id = CommitInCache(*cache, "v: 3\n");
  {
    // No credentials: the push is refused, and says what to set.
    Status s = cache->Push({"refs/heads/main:refs/heads/main"});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
    EXPECT_NE(s.message().find("SLUICE_GIT_USERNAME"), std::string::npos) << s.ToString();
  }
  ScopedEnv user("SLUICE_GIT_USERNAME", http.username());
  ScopedEnv password("SLUICE_GIT_PASSWORD", http.password());
  Status pushed = cache->Push({"refs/heads/main:refs/heads/main"});
  ASSERT_TRUE(pushed.ok()) << pushed.ToString() << "\n" << http.ErrorLog();
  EXPECT_EQ(RemoteRev("main"), id);
}

TEST_F(RemoteTest, HttpPasswordFromFile) {
  GitHttpServer http(root_, /*auth_for_fetch=*/true);
  testing::WriteFile(tmp_.Sub("pw"), http.password() + "\n");
  ScopedEnv user("SLUICE_GIT_USERNAME", http.username());
  ScopedEnv file("SLUICE_GIT_PASSWORD_FILE", tmp_.Sub("pw"));
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), http.Url("env.git")));
  ASSERT_OK(cache->Fetch(kFetchMain));
  ASSERT_OK_AND_ASSIGN(fetched, cache->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(fetched, first_);
}

// SPEC 1.3 rule 5: a password in the repository URL authenticates through
// the libgit2 credential callback and is never written to the cache's config
// (which children of the controller's user can read).
TEST_F(RemoteTest, UrlPasswordIsUsedButNeverStoredInTheCacheConfig) {
  GitHttpServer http(root_, /*auth_for_fetch=*/true);
  std::string url = "http://" + http.username() + ":" + http.password() +
                    "@127.0.0.1:" + std::to_string(http.port()) + "/git/env.git";
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), url));
  Status fetched = cache->Fetch(kFetchMain);
  ASSERT_TRUE(fetched.ok()) << fetched.ToString() << "\n" << http.ErrorLog();
  std::ifstream config(tmp_.Sub("cache") + "/config");
  std::stringstream text;
  text << config.rdbuf();
  EXPECT_EQ(text.str().find(http.password()), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("http://" + http.username() + "@127.0.0.1"), std::string::npos)
      << text.str();
  // A cache written by an older version with the password in its config is
  // rewritten on open.
  Git(tmp_.Sub("cache"), {"config", "remote.origin.url", url});
  ASSERT_OK_AND_ASSIGN(reopened, Repository::OpenCache(tmp_.Sub("cache"), url));
  EXPECT_EQ(Git(tmp_.Sub("cache"), {"config", "remote.origin.url"}).out.find(http.password()),
            std::string::npos);
}

TEST_F(RemoteTest, ErrorsNeverContainThePassword) {
  GitHttpServer http(root_, /*auth_for_fetch=*/true);
  const std::string env_secret = "Wrong-Env-Secret-4711";
  const std::string url_secret = "Wrong-Url-Secret-0815";
  ScopedEnv user("SLUICE_GIT_USERNAME", http.username());
  ScopedEnv password("SLUICE_GIT_PASSWORD", env_secret);

  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), http.Url("env.git")));
  Status fetch = cache->Fetch(kFetchMain);
  ASSERT_FALSE(fetch.ok());
  EXPECT_EQ(fetch.code(), Status::Code::kIOError) << fetch.ToString();
  EXPECT_EQ(fetch.ToString().find(env_secret), std::string::npos) << fetch.ToString();
  Status push = cache->Push({"refs/remotes/origin/main:refs/heads/other"});
  ASSERT_FALSE(push.ok());
  EXPECT_EQ(push.ToString().find(env_secret), std::string::npos) << push.ToString();

  // Credentials embedded in the URL are stripped from messages too.
  std::string url = "http://" + http.username() + ":" + url_secret +
                    "@127.0.0.1:" + std::to_string(http.port()) + "/git/env.git";
  ASSERT_OK_AND_ASSIGN(cache2, Repository::OpenCache(tmp_.Sub("cache2"), url));
  Status fetch2 = cache2->Fetch(kFetchMain);
  ASSERT_FALSE(fetch2.ok());
  EXPECT_EQ(fetch2.ToString().find(url_secret), std::string::npos) << fetch2.ToString();
  EXPECT_NE(fetch2.ToString().find("127.0.0.1"), std::string::npos) << fetch2.ToString();
}

TEST_F(RemoteTest, NonFastForwardPushIsConflictNamingTheRef) {
  GitDaemon daemon(root_);
  ASSERT_OK_AND_ASSIGN(a, Repository::OpenCache(tmp_.Sub("a"), daemon.Url("env.git")));
  ASSERT_OK_AND_ASSIGN(b, Repository::OpenCache(tmp_.Sub("b"), daemon.Url("env.git")));
  std::string from_a = CommitInCache(*a, "from a\n");
  std::string from_b = CommitInCache(*b, "from b\n");
  ASSERT_OK(a->Push({"refs/heads/main:refs/heads/main"}));

  Status s = b->Push({"refs/heads/main:refs/heads/main"});
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("refs/heads/main"), std::string::npos) << s.ToString();
  EXPECT_EQ(RemoteRev("main"), from_a);

  // Knowing a's commit does not make b's push a fast-forward.
  ASSERT_OK(b->Fetch(kFetchMain));
  Status again = b->Push({"refs/heads/main:refs/heads/main"});
  EXPECT_TRUE(again.IsConflict()) << again.ToString();
  EXPECT_NE(again.message().find("refs/heads/main"), std::string::npos) << again.ToString();
  EXPECT_EQ(RemoteRev("main"), from_a);
  (void)from_b;
}

TEST_F(RemoteTest, RefRejectedByServerHookIsConflict) {
  testing::WriteFile(bare_ + "/hooks/update",
                     "#!/bin/sh\n[ \"$1\" = refs/heads/main ] && { echo protected >&2; exit 1; }\n"
                     "exit 0\n");
  fs::permissions(bare_ + "/hooks/update", fs::perms::owner_all);
  GitDaemon daemon(root_);
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), daemon.Url("env.git")));
  std::string id = CommitInCache(*cache, "v: 9\n");
  Status s = cache->Push({"refs/heads/main:refs/heads/main"});
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_NE(s.message().find("refs/heads/main"), std::string::npos) << s.ToString();
  EXPECT_EQ(RemoteRev("main"), first_);
  // Other refs in the same push still go through.
  ASSERT_OK(cache->Push({"refs/heads/main:refs/heads/side"}));
  EXPECT_EQ(RemoteRev("side"), id);
}

TEST_F(RemoteTest, OpenCacheMakesLocalPathAbsoluteAndUpdatesUrl) {
  std::string relative = fs::relative(bare_, fs::current_path()).string();
  ASSERT_FALSE(fs::path(relative).is_absolute());
  std::string dir = tmp_.Sub("cache");
  {
    ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(dir, relative));
    EXPECT_EQ(Trim(Git(dir, {"config", "remote.origin.url"}).out),
              fs::weakly_canonical(bare_).string());
    ASSERT_OK(cache->Fetch(kFetchMain));
    ASSERT_OK_AND_ASSIGN(fetched, cache->ResolveRef("refs/remotes/origin/main"));
    EXPECT_EQ(fetched, first_);
  }
  // Reopening keeps the objects and follows a new URL.
  ASSERT_OK_AND_ASSIGN(again, Repository::OpenCache(dir, "file://" + bare_));
  EXPECT_EQ(Trim(Git(dir, {"config", "remote.origin.url"}).out), "file://" + bare_);
  ASSERT_OK_AND_ASSIGN(kept, again->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(kept, first_);
}

// The first fetch from a repository on this machine does not rebuild its
// history into a new pack (minutes at 100,000 commits): the cache starts with
// the source's objects, linked as `git clone --local` links them, and they
// stay readable when the source repacks and prunes.
TEST_F(RemoteTest, ANewCacheOfALocalPathStartsWithTheSourcesObjectsLinked) {
  std::string work = tmp_.Sub("work");
  CloneRepo(bare_, work);
  std::string second = CommitFiles(work, {{"environments/prod/apps/api.yaml", "v: 2\n"}}, "v2");
  Git(work, {"push", "-q", "origin", "main"});
  Git(bare_, {"gc", "-q"});  // one pack, no loose objects
  std::string third = CommitFiles(work, {{"environments/prod/apps/api.yaml", "v: 3\n"}}, "v3");
  Git(work, {"push", "-q", "origin", "main"});  // loose objects beside the pack

  std::string dir = tmp_.Sub("cache");
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(dir, bare_));
  // Before any fetch, every commit is readable...
  for (const std::string& id : {first_, second, third}) {
    EXPECT_TRUE(cache->GetCommit(id).ok()) << id;
  }
  // ...because the files are the source's own (hard links, not copies).
  int linked_packs = 0;
  for (const auto& f : fs::directory_iterator(bare_ + "/objects/pack")) {
    if (f.path().extension() != ".pack") continue;
    EXPECT_TRUE(fs::equivalent(f.path(), dir + "/objects/pack/" + f.path().filename().string()));
    ++linked_packs;
  }
  EXPECT_EQ(linked_packs, 1);
  ASSERT_OK(cache->Fetch(kFetchMain));
  ASSERT_OK_AND_ASSIGN(fetched, cache->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(fetched, third);

  // The source rewrites its packs and prunes: the cache keeps its links.
  std::string fourth = CommitFiles(work, {{"environments/prod/apps/api.yaml", "v: 4\n"}}, "v4");
  Git(work, {"push", "-q", "origin", "main"});
  Git(bare_, {"gc", "-q", "--prune=now"});
  ASSERT_OK(cache->Fetch(kFetchMain));
  ASSERT_OK_AND_ASSIGN(after, cache->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(after, fourth);
  for (const std::string& id : {first_, second, third, fourth}) {
    EXPECT_TRUE(cache->GetCommit(id).ok()) << id;
  }
}

// Over the network there is nothing to link: the cache starts empty and the
// fetch brings the objects.
TEST_F(RemoteTest, ANewCacheOfAUrlStartsEmpty) {
  GitDaemon daemon(root_);
  std::string dir = tmp_.Sub("cache");
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(dir, daemon.Url("env.git")));
  EXPECT_FALSE(cache->GetCommit(first_).ok());
  ASSERT_OK(cache->Fetch(kFetchMain));
  EXPECT_TRUE(cache->GetCommit(first_).ok());
}

// FetchNegotiatingAlone fetches through a side repository whose only
// references are the destinations: one new commit brings one commit, the
// objects land in the cache, and only the moved destination is listed.
// (libgit2 offers the history of every local reference as "have" lines and
// stops at the first batch the server acknowledges; in the full-size
// benchmark's cache that batch was all record commits and every one-pin pass
// received the branch's whole history again, 96 MB. This small repository
// does not reproduce libgit2's walk order; docs/performance.md has the
// full-size measurement.)
TEST_F(RemoteTest, FetchNegotiatingAloneBringsOneCommitForOneCommit) {
  std::string work = tmp_.Sub("work");
  CloneRepo(bare_, work);
  auto commit = [&](const std::string& message, const std::string& date) {
    auto r = testing::RunCommand({"git", "commit", "-q", "--allow-empty", "-m", message}, work,
                                 testing::GitIdentityAt(date));
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  for (int i = 0; i < 40; ++i) commit("branch " + std::to_string(i), "2026-01-01T00:00:00Z");
  Git(work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  // An unrelated, newer history on the remote (as the record is).
  Git(work, {"checkout", "-q", "--orphan", "record"});
  for (int i = 0; i < 40; ++i) commit("record " + std::to_string(i), "2026-06-01T00:00:00Z");
  Git(work, {"push", "-q", "origin", "HEAD:refs/heads/record"});
  Git(work, {"checkout", "-q", "main"});

  GitDaemon daemon(root_);
  std::string dir = tmp_.Sub("cache");
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(dir, daemon.Url("env.git")));
  ASSERT_OK(cache->Fetch({"+refs/heads/main:refs/remotes/origin/main",
                          "+refs/heads/record:refs/remotes/origin/record"}));
  const std::vector<std::string> branch = {"+refs/heads/main:refs/remotes/origin/main"};
  std::vector<std::string> updated;
  ASSERT_OK(FetchNegotiatingAlone(*cache, tmp_.Sub("negotiate"), branch, &updated));
  EXPECT_TRUE(updated.empty()) << "nothing moved";

  commit("one more", "2026-01-02T00:00:00Z");
  Git(work, {"push", "-q", "origin", "HEAD:refs/heads/main"});
  long before = testing::CountObjects(dir);
  ASSERT_OK(FetchNegotiatingAlone(*cache, tmp_.Sub("negotiate"), branch, &updated));
  EXPECT_EQ(updated, std::vector<std::string>{"refs/remotes/origin/main"});
  ASSERT_OK_AND_ASSIGN(head, cache->ResolveRef("refs/remotes/origin/main"));
  EXPECT_EQ(head, RemoteRev("main"));
  EXPECT_TRUE(cache->GetCommit(head).ok()) << "the objects belong in the cache";
  EXPECT_LE(testing::CountObjects(dir) - before, 2) << "the branch's history was sent again";
  EXPECT_FALSE(fs::exists(tmp_.Sub("negotiate") + "/refs/remotes/origin/record"));
  // A pattern cannot name the destinations to negotiate from.
  EXPECT_EQ(
      FetchNegotiatingAlone(*cache, tmp_.Sub("negotiate"), {"+refs/heads/*:refs/x/*"}, nullptr)
          .code(),
      Status::Code::kInvalidArgument);
}

// The record's shape: hundreds of refs under one pattern, of which a pass
// sees a few move. The fetch names only the refs whose advertised value
// differs from the local copy (and asks with the pattern itself when more
// than 256 moved); either way the copies must end up as on the remote, and
// `updated` must list exactly what moved.
TEST_F(RemoteTest, AFetchOfManyRefsTakesExactlyThoseThatMoved) {
  auto name = [](int i) { return RecordRef(1000 + i); };
  const std::string second = SeedSecondAndRecordRefs(300, 1000);
  ASSERT_OK_AND_ASSIGN(server, Repository::Open(bare_));

  GitDaemon daemon(root_);
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), daemon.Url("env.git")));
  const std::vector<std::string> specs = {"+refs/sluice/*:refs/sluice-remote/sluice/*"};
  std::vector<std::string> updated;
  ASSERT_OK(FetchListingUpdates(*cache, specs, &updated));  // all 300: the pattern
  EXPECT_EQ(updated.size(), 300u);
  ASSERT_OK_AND_ASSIGN(copies, cache->ListRefs("refs/sluice-remote/sluice/"));
  EXPECT_EQ(copies.size(), 300u);

  updated.clear();
  ASSERT_OK(FetchListingUpdates(*cache, specs, &updated));
  EXPECT_TRUE(updated.empty()) << "nothing moved";

  // Three move, one is new, one is deleted on the remote.
  for (int i : {7, 150, 299}) ASSERT_OK(server->SetRef(name(i), second, "move"));
  ASSERT_OK(server->SetRef(name(300), second, "new"));
  ASSERT_OK(server->DeleteRef(name(0)));
  updated.clear();
  ASSERT_OK(FetchListingUpdates(*cache, specs, &updated));
  std::sort(updated.begin(), updated.end());
  auto copy = [&](int i) { return "refs/sluice-remote/sluice" + name(i).substr(11); };
  EXPECT_EQ(updated, (std::vector<std::string>{copy(7), copy(150), copy(299), copy(300)}));
  for (int i : {7, 150, 299, 300}) EXPECT_EQ(*cache->ResolveRef(copy(i)), second) << i;
  EXPECT_EQ(*cache->ResolveRef(copy(8)), first_);
  EXPECT_EQ(*cache->ResolveRef(copy(0)), first_) << "a fetch never prunes";
  EXPECT_TRUE(cache->GetCommit(second).ok()) << "the moved refs' objects came along";

  // A copy changed locally is a difference too: the remote's value wins.
  ASSERT_OK(cache->SetRef(copy(42), second, "local"));
  updated.clear();
  ASSERT_OK(FetchListingUpdates(*cache, specs, &updated));
  EXPECT_EQ(updated, std::vector<std::string>{copy(42)});
  EXPECT_EQ(*cache->ResolveRef(copy(42)), first_);
}

// A Sync fetches the branch, then the record; protocol v0 advertises every
// ref on the first connection, so the record's fetch compares with that
// advertisement and connects only when a record ref differs from its copy
// here. The copies are read as git stores them: a loose file wins over
// packed-refs. A stopped daemon shows whether a call connected.
TEST_F(RemoteTest, TheRecordsFetchConnectsOnlyWhenTheBranchsAdvertisementShowsARefMoved) {
  auto name = [](int i) { return RecordRef(100 + i); };
  const std::string second = SeedSecondAndRecordRefs(50, 100);
  const std::vector<std::string> record = {"+refs/sluice/*:refs/sluice-remote/sluice/*"};
  auto copy = [&](int i) { return "refs/sluice-remote/sluice" + name(i).substr(11); };

  std::optional<GitDaemon> daemon(std::in_place, root_);
  const std::string cache_dir = tmp_.Sub("cache");
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(cache_dir, daemon->Url("env.git")));
  ASSERT_OK(cache->Fetch({"+refs/heads/second:refs/remotes/origin/second"}));
  Advertisement heard;
  std::vector<std::string> updated;
  ASSERT_OK(
      FetchNegotiatingAlone(*cache, tmp_.Sub("negotiate"), kFetchMain, &updated, "origin", &heard));
  EXPECT_EQ(updated, std::vector<std::string>{"refs/remotes/origin/main"});
  auto advertised = [&](const std::string& ref) {
    return std::any_of(heard.begin(), heard.end(), [&](const AdvertisedRef& r) {
      return r.name == ref && std::string(git_oid_tostr_s(&r.id)) == first_;
    });
  };
  EXPECT_TRUE(advertised("refs/heads/main"));
  EXPECT_TRUE(advertised(name(0)) && advertised(name(49))) << "every ref, not only the branch";

  updated.clear();
  ASSERT_OK(FetchUpdatesAfter(heard, *cache, record, &updated));
  EXPECT_EQ(updated.size(), 50u) << "all new here: fetched";
  EXPECT_EQ(*cache->ResolveRef(copy(7)), first_);

  daemon.reset();
  EXPECT_EQ(FetchListingUpdates(*cache, record, nullptr).code(), Status::Code::kIOError)
      << "a call that connects fails now";
  updated.clear();
  ASSERT_OK(FetchUpdatesAfter(heard, *cache, record, &updated));  // nothing moved: no connection
  EXPECT_TRUE(updated.empty());

  // Packed copies, read from packed-refs; then one loose copy that differs
  // from the advertisement, which wins over its packed value.
  Git(cache_dir, {"pack-refs", "--all", "--prune"});
  ASSERT_OK(FetchUpdatesAfter(heard, *cache, record, &updated));  // packed, still equal
  ASSERT_OK(cache->SetRef(copy(7), second, "local"));
  ASSERT_TRUE(fs::exists(cache_dir + "/" + copy(7))) << "a loose file beside the packed value";
  EXPECT_EQ(FetchUpdatesAfter(heard, *cache, record, &updated).code(), Status::Code::kIOError)
      << "the loose copy differs from the advertisement: it must connect";
  // A copy that is a symbolic reference has no value to compare with.
  ASSERT_OK(cache->SetRef(copy(7), first_, "back"));
  ASSERT_OK(FetchUpdatesAfter(heard, *cache, record, &updated));
  git_reference* symbolic = nullptr;
  ASSERT_EQ(git_reference_symbolic_create(&symbolic, cache->raw(), copy(8).c_str(),
                                          "refs/remotes/origin/main", 1, "symbolic"),
            0);
  git_reference_free(symbolic);
  EXPECT_EQ(FetchUpdatesAfter(heard, *cache, record, &updated).code(), Status::Code::kIOError);
}

// A filter keeps a name out even when so many moved that the fetch would
// otherwise ask with the pattern: then the names go in batches.
TEST_F(RemoteTest, AFilteredFetchOfManyRefsNeverTakesARefusedName) {
  ASSERT_OK_AND_ASSIGN(server, Repository::Open(bare_));
  auto name = [](int i) { return "refs/sluice/deployed/prod/app" + std::to_string(1000 + i); };
  for (int i = 0; i < 600; ++i) ASSERT_OK(server->SetRef(name(i), first_, "seed"));
  ASSERT_OK(server->SetRef("refs/sluice/foreign", first_, "theirs"));

  GitDaemon daemon(root_);
  ASSERT_OK_AND_ASSIGN(cache, Repository::OpenCache(tmp_.Sub("cache"), daemon.Url("env.git")));
  std::vector<std::string> refused;
  std::vector<std::string> updated;
  ASSERT_OK(FetchListingUpdates(*cache, {"+refs/sluice/*:refs/sluice-remote/sluice/*"}, &updated,
                                "origin", [&](std::string_view n) {
                                  if (n != "refs/sluice/foreign") return true;
                                  refused.emplace_back(n);
                                  return false;
                                }));
  EXPECT_EQ(updated.size(), 600u);
  ASSERT_OK_AND_ASSIGN(copies, cache->ListRefs("refs/sluice-remote/sluice/"));
  EXPECT_EQ(copies.size(), 600u);
  EXPECT_EQ(copies.count("refs/sluice-remote/sluice/foreign"), 0u);
  EXPECT_EQ(refused, std::vector<std::string>{"refs/sluice/foreign"});
}

TEST_F(RemoteTest, FetchFromUnreachableRemoteIsIOError) {
  int port = testing::FreePort();  // nothing listens there
  ASSERT_OK_AND_ASSIGN(
      cache, Repository::OpenCache(tmp_.Sub("cache"),
                                   "git://127.0.0.1:" + std::to_string(port) + "/env.git"));
  Status s = cache->Fetch(kFetchMain);
  EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("127.0.0.1"), std::string::npos) << s.ToString();
  EXPECT_EQ(cache->Fetch({"not a refspec::"}).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::git
