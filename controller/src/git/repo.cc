// Repository: opening, references, commits. Trees are in tree.cc, remotes in
// remote.cc and notes in notes.cc.

#include "git/repo.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/secrets.h"
#include "git/credentials.h"
#include "git/handles.h"
#include "git/internal.h"

namespace fs = std::filesystem;

namespace sluice::git {

namespace internal {

std::string OidToString(const git_oid& oid) {
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &oid);
  return std::string(hex);
}

Result<git_oid> ParseOid(const std::string& hex, std::string_view what) {
  git_oid oid;
  bool valid = hex.size() == GIT_OID_HEXSZ;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      valid = false;
    }
  }
  if (!valid || git_oid_fromstrn(&oid, hex.data(), hex.size()) != 0) {
    // libgit2 may have recorded an error; it is replaced by ours.
    git_error_clear();
    return Status::InvalidArgument(std::string(what) + ": \"" + hex +
                                   "\" is not a 40-hex object id");
  }
  return oid;
}

Result<CommitPtr> LookupCommit(git_repository* repo, const std::string& commit_id) {
  Result<git_oid> oid = ParseOid(commit_id, "commit id");
  if (!oid.ok()) return oid.status();
  git_commit* commit = nullptr;
  int rc = git_commit_lookup(&commit, repo, &*oid);
  if (rc != 0) return GitError(rc, "look up commit " + commit_id);
  return CommitPtr(commit);
}

Result<TreePtr> LookupCommitTree(git_repository* repo, const std::string& commit_id) {
  Result<CommitPtr> commit = LookupCommit(repo, commit_id);
  if (!commit.ok()) return commit.status();
  git_tree* tree = nullptr;
  int rc = git_commit_tree(&tree, commit->get());
  if (rc != 0) return GitError(rc, "read the tree of commit " + commit_id);
  return TreePtr(tree);
}

Result<SignaturePtr> MakeSignature(const Person& person) {
  git_signature* sig = nullptr;
  int rc;
  if (person.when == TimePoint{}) {
    rc = git_signature_now(&sig, person.name.c_str(), person.email.c_str());
  } else {
    auto secs =
        std::chrono::duration_cast<std::chrono::seconds>(person.when.time_since_epoch()).count();
    rc = git_signature_new(&sig, person.name.c_str(), person.email.c_str(),
                           static_cast<git_time_t>(secs), 0);
  }
  if (rc != 0) {
    Status s = GitError(rc, "make a signature for \"" + person.name + " <" + person.email + ">\"");
    return Status::InvalidArgument(s.message());
  }
  return SignaturePtr(sig);
}

namespace {

void ReplaceAll(std::string& text, const std::string& secret) {
  if (secret.size() < 3) return;  // replacing "a" everywhere would shred the message
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "***");
    pos += 3;
  }
}

}  // namespace

std::string Redact(std::string text) {
  // Drop "user:password@" (or "user@") after every "scheme://".
  for (size_t scheme = text.find("://"); scheme != std::string::npos;
       scheme = text.find("://", scheme + 3)) {
    size_t start = scheme + 3;
    size_t end = text.find_first_of("/ \t\n'\"", start);
    if (end == std::string::npos) end = text.size();
    size_t at = text.rfind('@', end);
    if (at != std::string::npos && at >= start && at < end) {
      text.erase(start, at + 1 - start);
    }
  }
  ReplaceAll(text, ProcessCredentials().password);
  return RedactRegisteredSecrets(std::move(text));
}

}  // namespace internal

using internal::OidToString;
using internal::ParseOid;

namespace {
// libgit2 caches a parsed tree only up to 4 KB by default. An environment's
// apps/ directory is ~50 bytes per pin (50 KB at 1,000 apps) and a notes
// fan-out tree ~25 KB, so without this every lookup by path re-inflates and
// re-parses them: at 10,000 pins that was most of `sluice status`.
constexpr size_t kTreeCacheLimit = 4 << 20;
// The whole cache's bound (libgit2's default is 256 MB, and it counts raw
// object sizes, not the larger parsed form): walking many distinct commits'
// trees (`sluice audit` over 10,000 changes) would otherwise hold hundreds of
// MB of trees it never reads again.
constexpr ssize_t kCacheMaxSize = 64 << 20;
}  // namespace

LibGit2::LibGit2() {
  git_libgit2_init();
  git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, kTreeCacheLimit);
  git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, kCacheMaxSize);
}
LibGit2::~LibGit2() { git_libgit2_shutdown(); }

Status GitError(int code, const std::string& what) {
  // Read the thread's last error at once: any further libgit2 call may
  // replace it. libgit2 1.5 can return NULL here.
  const git_error* e = git_error_last();
  std::string detail = (e != nullptr && e->message != nullptr)
                           ? std::string(e->message)
                           : "libgit2 error " + std::to_string(code);
  int klass = e != nullptr ? e->klass : GIT_ERROR_NONE;
  std::string msg = internal::Redact(what + ": " + detail);
  switch (code) {
    case GIT_ENOTFOUND:
      return Status::NotFound(msg);
    case GIT_ENONFASTFORWARD:
    case GIT_EMODIFIED:
    case GIT_ELOCKED:
      return Status::Conflict(msg);
    case GIT_EINVALIDSPEC:
    case GIT_EAMBIGUOUS:
    case GIT_EINVALID:
      return Status::InvalidArgument(msg);
    case GIT_EEXISTS:
    case GIT_EBAREREPO:
    case GIT_EUNBORNBRANCH:
      return Status::FailedPrecondition(msg);
    case GIT_EUSER:
      return Status::Cancelled(msg);
    default:
      break;
  }
  if (klass == GIT_ERROR_INVALID) return Status::InvalidArgument(msg);
  if (klass == GIT_ERROR_INTERNAL || klass == GIT_ERROR_NOMEMORY) return Status::Internal(msg);
  // Everything else is the repository on disk or the network.
  return Status::IOError(msg);
}

Repository::Repository(RepoPtr repo) : repo_(std::move(repo)) {}
Repository::~Repository() = default;

Result<std::unique_ptr<Repository>> Repository::Open(const std::string& path) {
  git_repository* raw = nullptr;
  int rc = git_repository_open_ext(&raw, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
  if (rc != 0) return GitError(rc, "open repository " + path);
  return std::unique_ptr<Repository>(new Repository(RepoPtr(raw)));
}

Result<std::unique_ptr<Repository>> Repository::Init(const std::string& path, bool bare) {
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags = GIT_REPOSITORY_INIT_MKPATH;
  if (bare) opts.flags |= GIT_REPOSITORY_INIT_BARE;
  opts.initial_head = "main";
  git_repository* raw = nullptr;
  int rc = git_repository_init_ext(&raw, path.c_str(), &opts);
  if (rc != 0) return GitError(rc, "create repository " + path);
  return std::unique_ptr<Repository>(new Repository(RepoPtr(raw)));
}

namespace {

// A URL libgit2 understands as-is, or a local path that must be absolute so
// the cache keeps working whatever the process's working directory.
std::string NormaliseRemoteUrl(const std::string& url) {
  if (url.find("://") != std::string::npos) return url;
  size_t colon = url.find(':');
  size_t slash = url.find('/');
  bool scp_like = colon != std::string::npos && (slash == std::string::npos || colon < slash);
  std::error_code ec;
  if (scp_like && !fs::exists(url, ec)) return url;  // git@host:org/repo.git
  fs::path abs = fs::absolute(url, ec);
  if (ec) return url;
  return abs.lexically_normal().string();
}

// The directory of a repository on this machine that `url` (as
// NormaliseRemoteUrl leaves it) names, or "" for a network URL.
std::string LocalSourcePath(const std::string& url) {
  constexpr std::string_view kFile = "file://";
  if (url.rfind(kFile, 0) == 0) return url.substr(kFile.size());
  if (url.find("://") != std::string::npos || !fs::path(url).is_absolute()) return "";
  return url;
}

bool IsHex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Puts `src` at `dst`: a hard link, or across file systems (or where links
// are refused) a copy written beside `dst` and renamed into place, so a
// failure never leaves a truncated object. False when neither worked.
bool LinkOrCopy(const fs::path& src, const fs::path& dst) {
  std::error_code ec;
  fs::create_hard_link(src, dst, ec);
  if (!ec) return true;
  fs::path tmp = dst;
  tmp += ".sluice-tmp";
  fs::copy_file(src, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, dst, ec);
  if (!ec) return true;
  fs::remove(tmp, ec);
  return false;
}

// Gives a new cache the objects of the repository at `source`, as `git
// clone --local` does: loose objects and packs are hard-linked (copied
// across file systems). Without this the first fetch from a local path goes
// through libgit2's local transport, which builds a pack of the whole
// history in process and reuses no deltas: 527 s and 1.7 GB of memory for
// 100,000 commits (bench/generate.sh, full size), where `git clone
// --mirror` of the same path takes 0.4 s (it links) and 37 s with
// --no-local (a pack built by git upload-pack). Objects never change once written, and a link keeps
// the file when the source repacks, so sharing them is safe. The fetch that follows finds every tip
// it wants already present and only sets the refs; whatever seeding missed (an object behind the
// source's alternates, a failed copy) that fetch still downloads. git_clone's local mode links the
// same way but wants an empty directory and a remote it creates itself.
void SeedFromLocalSource(const std::string& source, const std::string& cache_dir) {
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, source.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
    git_error_clear();  // not a repository: the fetch will say so
    return;
  }
  RepoPtr src(raw);
  const fs::path from = fs::path(git_repository_commondir(src.get())) / "objects";
  const fs::path to = fs::path(cache_dir) / "objects";
  try {
    for (const auto& dir : fs::directory_iterator(from)) {
      const std::string name = dir.path().filename().string();
      if (name.size() != 2 || !IsHex(name) || !dir.is_directory() || dir.is_symlink()) continue;
      fs::create_directories(to / name);
      for (const auto& object : fs::directory_iterator(dir.path())) {
        const std::string file = object.path().filename().string();
        if (file.size() != GIT_OID_HEXSZ - 2 || !IsHex(file) || object.is_symlink() ||
            !object.is_regular_file()) {
          continue;  // git's temporary files, or something that is not an object
        }
        if (!LinkOrCopy(object.path(), to / name / file)) return;
      }
    }
    // Each pack before its index: a pack is read only through its index.
    for (const auto& pack : fs::directory_iterator(from / "pack")) {
      if (pack.path().extension() != ".pack" || pack.is_symlink() || !pack.is_regular_file()) {
        continue;
      }
      fs::path idx = pack.path();
      idx.replace_extension(".idx");
      if (fs::is_symlink(idx) || !fs::is_regular_file(idx)) continue;
      if (!LinkOrCopy(pack.path(), to / "pack" / pack.path().filename())) return;
      if (!LinkOrCopy(idx, to / "pack" / idx.filename())) return;
    }
  } catch (const fs::filesystem_error&) {
    // Best effort: the fetch brings what is missing.
  }
}

}  // namespace

Result<std::unique_ptr<Repository>> Repository::OpenCache(const std::string& dir,
                                                          const std::string& url) {
  std::unique_ptr<Repository> repo;
  std::error_code ec;
  bool exists = fs::exists(dir, ec) && !fs::is_empty(dir, ec);
  if (exists) {
    Result<std::unique_ptr<Repository>> opened = Open(dir);
    if (!opened.ok()) {
      return opened.status().WithContext("open the cache " + dir +
                                         " (remove it to start a fresh cache)");
    }
    repo = std::move(*opened);
  } else {
    Result<std::unique_ptr<Repository>> created = Init(dir, /*bare=*/true);
    if (!created.ok()) return created.status();
    repo = std::move(*created);
    if (std::string source = LocalSourcePath(NormaliseRemoteUrl(url)); !source.empty()) {
      SeedFromLocalSource(source, repo->path());
    }
  }

  // Through the config rather than git_remote_lookup/git_remote_create,
  // which leak pcre2 match data in libgit2 1.5.1 (see remote.cc).
  // Never a password in the cache's config: it stays in the process
  // (git/credentials.h) and is handed to libgit2 by the credential callback.
  std::string want = NormaliseRemoteUrl(AdoptUrlCredentials(url));
  git_config* raw_config = nullptr;
  int rc = git_repository_config(&raw_config, repo->raw());
  if (rc != 0) return GitError(rc, "open the configuration of " + dir);
  std::unique_ptr<git_config, GitFree<&git_config_free>> config(raw_config);
  Buf have;
  rc = git_config_get_string_buf(have.get(), config.get(), "remote.origin.url");
  bool fresh = rc == GIT_ENOTFOUND;
  if (fresh) {
    git_error_clear();
    rc = git_config_set_string(config.get(), "remote.origin.fetch",
                               "+refs/heads/*:refs/remotes/origin/*");
    if (rc != 0) return GitError(rc, "add remote origin to " + dir);
  } else if (rc != 0) {
    return GitError(rc, "read remote.origin.url in " + dir);
  }
  if (fresh || want != std::string(have.data(), have.size())) {
    rc = git_config_set_string(config.get(), "remote.origin.url", want.c_str());
    if (rc != 0) return GitError(rc, "set the URL of origin in " + dir + " to " + want);
  }
  return repo;
}

std::string Repository::path() const { return git_repository_path(repo_.get()); }

Result<std::string> Repository::ResolveRef(const std::string& name) const {
  git_reference* raw = nullptr;
  // Full names are looked up exactly; short ones ("main", "HEAD") the way
  // the git CLI would.
  int rc = name.rfind("refs/", 0) == 0 ? git_reference_lookup(&raw, repo_.get(), name.c_str())
                                       : git_reference_dwim(&raw, repo_.get(), name.c_str());
  if (rc == GIT_ENOTFOUND) return Status::NotFound("reference " + name + " does not exist");
  if (rc != 0) return GitError(rc, "look up reference " + name);
  ReferencePtr ref(raw);
  git_object* obj = nullptr;
  rc = git_reference_peel(&obj, ref.get(), GIT_OBJECT_COMMIT);
  if (rc == GIT_ENOTFOUND) {
    return Status::NotFound("reference " + name + " points at a missing object");
  }
  if (rc != 0) return GitError(rc, "resolve reference " + name + " to a commit");
  ObjectPtr object(obj);
  return OidToString(*git_object_id(object.get()));
}

Result<std::map<std::string, std::string>> Repository::ListRefs(const std::string& prefix) const {
  git_reference_iterator* raw_iter = nullptr;
  // A glob makes libgit2 walk only the loose-ref directory under the prefix
  // instead of every ref of the cache (tens of thousands with 10,000 pins);
  // the exact prefix check below stays as the guard.
  const std::string glob = prefix + "*";
  int rc = git_reference_iterator_glob_new(&raw_iter, repo_.get(), glob.c_str());
  if (rc != 0) return GitError(rc, "list references");
  ReferenceIteratorPtr iter(raw_iter);
  std::map<std::string, std::string> refs;
  for (;;) {
    git_reference* raw = nullptr;
    rc = git_reference_next(&raw, iter.get());
    if (rc == GIT_ITEROVER) break;
    if (rc != 0) return GitError(rc, "list references under " + prefix);
    ReferencePtr ref(raw);
    std::string name = git_reference_name(ref.get());
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    git_object* obj = nullptr;
    rc = git_reference_peel(&obj, ref.get(), GIT_OBJECT_COMMIT);
    if (rc != 0) {
      // A reference to a tree or blob (or a dangling symbolic one) names no
      // commit; it is not part of the answer.
      git_error_clear();
      continue;
    }
    ObjectPtr object(obj);
    refs.emplace(std::move(name), OidToString(*git_object_id(object.get())));
  }
  return refs;
}

namespace {

// What identifies one version of packed-refs (libgit2 replaces the file by a
// rename on every rewrite, so inode and time change): "" when absent.
std::string PackedRefsStamp(git_repository* repo) {
  struct stat st {};
  const std::string path = std::string(git_repository_commondir(repo)) + "packed-refs";
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}

}  // namespace

Result<std::map<std::string, std::string>> Repository::ListRefsUnder(
    const std::string& root, const std::string& prefix) const {
  if (prefix.compare(0, root.size(), root) != 0) return ListRefs(prefix);
  const std::string stamp = PackedRefsStamp(repo_.get());
  if (!listing_.valid || listing_.root != root || listing_.generation != ref_generation_ ||
      listing_.packed_refs_stamp != stamp) {
    auto listed = ListRefs(root);
    if (!listed.ok()) return listed.status();
    listing_ = RefListing{true, root, ref_generation_, stamp, std::move(*listed)};
  }
  std::map<std::string, std::string> refs;
  for (auto it = listing_.refs.lower_bound(prefix);
       it != listing_.refs.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    refs.emplace_hint(refs.end(), it->first, it->second);
  }
  return refs;
}

Status Repository::SetRef(const std::string& name, const std::string& commit_id,
                          const std::string& log_message) {
  Result<git_oid> oid = ParseOid(commit_id, "set " + name);
  if (!oid.ok()) return oid.status();
  // A listing ListRefsUnder keeps stays current: a ref under its root takes
  // its new value there (as ListRefs would list it: the commit it peels to),
  // and one outside it does not concern it. So a pass that applies in one
  // environment does not make the next environment list the root again.
  const bool in_listing = listing_.valid && listing_.generation == ref_generation_ &&
                          name.compare(0, listing_.root.size(), listing_.root) == 0;
  git_reference* raw = nullptr;
  int rc = git_reference_create(&raw, repo_.get(), name.c_str(), &*oid, /*force=*/1,
                                log_message.c_str());
  if (rc != 0) {
    ++ref_generation_;  // whatever it left, the listing is not to be trusted
    return GitError(rc, "set reference " + name + " to " + commit_id);
  }
  ReferencePtr ref(raw);
  if (in_listing) {
    git_object* obj = nullptr;
    if (git_reference_peel(&obj, ref.get(), GIT_OBJECT_COMMIT) == 0) {
      ObjectPtr object(obj);
      listing_.refs[name] = OidToString(*git_object_id(object.get()));
    } else {
      git_error_clear();
      listing_.refs.erase(name);  // names no commit: ListRefs leaves it out
    }
  }
  return Status::Ok();
}

Status Repository::SetRefs(const std::vector<std::pair<std::string, std::string>>& updates,
                           const std::string& log_message) {
  if (updates.empty()) return Status::Ok();
  std::vector<git_oid> ids;
  ids.reserve(updates.size());
  for (const auto& [name, id] : updates) {
    Result<git_oid> oid = ParseOid(id, "set " + name);
    if (!oid.ok()) return oid.status();
    ids.push_back(*oid);
    // A reference named like one of this name's directories would make it
    // unreachable as a file (git_reference_create's check, for the parents).
    for (size_t slash = name.find('/', strlen("refs/")); slash != std::string::npos;
         slash = name.find('/', slash + 1)) {
      const std::string parent = name.substr(0, slash);
      git_oid found;
      int rc = git_reference_name_to_id(&found, repo_.get(), parent.c_str());
      if (rc == 0) {
        return Status::FailedPrecondition("set reference " + name + ": reference " + parent +
                                          " exists, and a name cannot be both a reference "
                                          "and a directory of references");
      }
      git_error_clear();
    }
  }
  git_transaction* raw_tx = nullptr;
  int rc = git_transaction_new(&raw_tx, repo_.get());
  if (rc != 0) return GitError(rc, "start a reference transaction");
  std::unique_ptr<git_transaction, GitFree<&git_transaction_free>> tx(raw_tx);
  // As SetRef: a listing ListRefsUnder keeps takes the new values instead
  // of being listed again (each id names a commit, so it is what ListRefs
  // would list); on an error it is not to be trusted.
  const bool keep_listing = listing_.valid && listing_.generation == ref_generation_;
  ++ref_generation_;
  for (size_t i = 0; i < updates.size(); ++i) {
    const std::string& name = updates[i].first;
    rc = git_transaction_lock_ref(tx.get(), name.c_str());
    if (rc != 0) return GitError(rc, "lock reference " + name);
    rc = git_transaction_set_target(tx.get(), name.c_str(), &ids[i], nullptr, log_message.c_str());
    if (rc != 0) return GitError(rc, "set reference " + name + " to " + updates[i].second);
  }
  rc = git_transaction_commit(tx.get());
  if (rc != 0) return GitError(rc, "write " + std::to_string(updates.size()) + " reference(s)");
  if (keep_listing) {
    for (const auto& [name, id] : updates) {
      if (name.compare(0, listing_.root.size(), listing_.root) == 0) listing_.refs[name] = id;
    }
    listing_.generation = ref_generation_;
  }
  return Status::Ok();
}

Status Repository::DeleteRef(const std::string& name) {
  ++ref_generation_;
  git_reference* raw = nullptr;
  int rc = git_reference_lookup(&raw, repo_.get(), name.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::Ok();
  }
  if (rc != 0) return GitError(rc, "look up reference " + name);
  ReferencePtr ref(raw);
  rc = git_reference_delete(ref.get());
  if (rc != 0 && rc != GIT_ENOTFOUND) return GitError(rc, "delete reference " + name);
  return Status::Ok();
}

Status Repository::PackRefs() {
  ++ref_generation_;
  git_refdb* raw = nullptr;
  int rc = git_repository_refdb(&raw, repo_.get());
  if (rc != 0) return GitError(rc, "open the reference database");
  std::unique_ptr<git_refdb, GitFree<&git_refdb_free>> refdb(raw);
  rc = git_refdb_compress(refdb.get());
  if (rc != 0) return GitError(rc, "pack references into packed-refs");
  return Status::Ok();
}

namespace {

Person ToPerson(const git_signature* sig) {
  Person p;
  if (sig == nullptr) return p;
  p.name = sig->name ? sig->name : "";
  p.email = sig->email ? sig->email : "";
  p.when = TimePoint(std::chrono::seconds(sig->when.time));
  return p;
}

}  // namespace

Result<CommitInfo> Repository::GetCommit(const std::string& commit_id) const {
  Result<CommitPtr> commit = internal::LookupCommit(repo_.get(), commit_id);
  if (!commit.ok()) return commit.status();
  CommitInfo info;
  info.id = OidToString(*git_commit_id(commit->get()));
  unsigned n = git_commit_parentcount(commit->get());
  for (unsigned i = 0; i < n; ++i) {
    info.parents.push_back(OidToString(*git_commit_parent_id(commit->get(), i)));
  }
  info.author = ToPerson(git_commit_author(commit->get()));
  info.committer = ToPerson(git_commit_committer(commit->get()));
  const char* message = git_commit_message(commit->get());
  info.message = message ? message : "";
  return info;
}

std::string Repository::CurrentBranch() const {
  git_reference* raw = nullptr;
  if (git_reference_lookup(&raw, repo_.get(), "HEAD") != 0) {
    git_error_clear();
    return "";
  }
  ReferencePtr head(raw);
  if (git_reference_type(head.get()) != GIT_REFERENCE_SYMBOLIC) return "";
  std::string target = git_reference_symbolic_target(head.get());
  const std::string prefix = "refs/heads/";
  return target.rfind(prefix, 0) == 0 ? target.substr(prefix.size()) : "";
}

Result<Person> Repository::DefaultIdentity() const {
  git_signature* raw = nullptr;
  int rc = git_signature_default(&raw, repo_.get());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::FailedPrecondition(
        "git does not know who you are in " + path() +
        ": set user.name and user.email (git config --global user.name \"Your Name\"; "
        "git config --global user.email you@example.com)");
  }
  if (rc != 0) return GitError(rc, "read user.name and user.email of " + path());
  SignaturePtr sig(raw);
  Person p = ToPerson(sig.get());
  p.when = TimePoint{};  // "now" when the commit is written
  return p;
}

Result<std::string> Repository::ConfigString(const std::string& key) const {
  git_config* raw = nullptr;
  int rc = git_repository_config_snapshot(&raw, repo_.get());
  if (rc != 0) return GitError(rc, "open the git configuration of " + path());
  std::unique_ptr<git_config, GitFree<&git_config_free>> config(raw);
  Buf value;
  rc = git_config_get_string_buf(value.get(), config.get(), key.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return Status::NotFound("git config " + key + " is not set");
  }
  if (rc != 0) return GitError(rc, "read git config " + key);
  return std::string(value.data(), value.size());
}

Result<bool> Repository::IsAncestor(const std::string& ancestor,
                                    const std::string& descendant) const {
  Result<git_oid> a = ParseOid(ancestor, "ancestor");
  if (!a.ok()) return a.status();
  Result<git_oid> d = ParseOid(descendant, "descendant");
  if (!d.ok()) return d.status();
  if (git_oid_equal(&*a, &*d)) return true;
  int rc = git_graph_descendant_of(repo_.get(), &*d, &*a);
  if (rc < 0) return GitError(rc, "check whether " + ancestor + " is an ancestor of " + descendant);
  return rc == 1;
}

}  // namespace sluice::git
