// Repository: reading trees (ReadFile, BlobId, ListDir), comparing them
// (DiffTrees), writing them out (ExportTree) and building new ones
// (CreateCommit).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "git/internal.h"
#include "git/repo.h"

namespace fs = std::filesystem;

namespace sluice::git {

using internal::LookupCommitTree;
using internal::OidToString;

namespace {

// "a/b/" -> "a/b", "/a" -> "a": repository paths have no leading or
// trailing slash.
std::string NormalisePath(const std::string& path) {
  size_t b = path.find_first_not_of('/');
  if (b == std::string::npos) return "";
  size_t e = path.find_last_not_of('/');
  return path.substr(b, e - b + 1);
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

bool IsBlobMode(git_filemode_t mode) {
  return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
         mode == GIT_FILEMODE_LINK;
}

// The entry at `path` in `tree`, or nullptr (with ok) when absent.
Result<TreeEntryPtr> EntryAt(const git_tree* tree, const std::string& path,
                             const std::string& what) {
  git_tree_entry* raw = nullptr;
  int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
  if (rc == GIT_ENOTFOUND) {
    git_error_clear();
    return TreeEntryPtr();
  }
  if (rc != 0) return GitError(rc, what);
  return TreeEntryPtr(raw);
}

Result<TreePtr> LookupTree(git_repository* repo, const git_oid& id, const std::string& path) {
  git_tree* tree = nullptr;
  int rc = git_tree_lookup(&tree, repo, &id);
  if (rc != 0) return GitError(rc, "read tree " + (path.empty() ? std::string("/") : path));
  return TreePtr(tree);
}

// A lightweight view of one tree entry, independent of its owner's lifetime
// only while that tree lives.
struct EntryView {
  std::string name;
  git_oid id;
  git_filemode_t mode;
};

std::vector<EntryView> Entries(const git_tree* tree) {
  std::vector<EntryView> out;
  if (tree == nullptr) return out;
  size_t n = git_tree_entrycount(tree);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree, i);
    out.push_back({git_tree_entry_name(e), *git_tree_entry_id(e), git_tree_entry_filemode(e)});
  }
  std::sort(out.begin(), out.end(),
            [](const EntryView& a, const EntryView& b) { return a.name < b.name; });
  return out;
}

class TreeDiffer {
 public:
  explicit TreeDiffer(git_repository* repo) : repo_(repo) {}

  // Compares two optional entries found at `path`.
  Status Compare(const std::string& path, const EntryView* o, const EntryView* n) {
    if (o != nullptr && n != nullptr && o->mode == n->mode && git_oid_equal(&o->id, &n->id)) {
      return Status::Ok();  // identical blob or subtree: never read
    }
    bool o_tree = o != nullptr && o->mode == GIT_FILEMODE_TREE;
    bool n_tree = n != nullptr && n->mode == GIT_FILEMODE_TREE;
    bool o_blob = o != nullptr && IsBlobMode(o->mode);
    bool n_blob = n != nullptr && IsBlobMode(n->mode);
    if (o_tree || n_tree) {
      TreePtr old_tree, new_tree;
      if (o_tree) {
        Result<TreePtr> t = LookupTree(repo_, o->id, path);
        if (!t.ok()) return t.status();
        old_tree = std::move(*t);
      }
      if (n_tree) {
        Result<TreePtr> t = LookupTree(repo_, n->id, path);
        if (!t.ok()) return t.status();
        new_tree = std::move(*t);
      }
      SLUICE_RETURN_IF_ERROR(CompareTrees(path, old_tree.get(), new_tree.get()));
    }
    if (o_blob && n_blob) {
      out_.push_back({path, ChangeKind::kModified, OidToString(o->id), OidToString(n->id)});
    } else if (o_blob) {
      out_.push_back({path, ChangeKind::kDeleted, OidToString(o->id), ""});
    } else if (n_blob) {
      out_.push_back({path, ChangeKind::kAdded, "", OidToString(n->id)});
    }
    return Status::Ok();
  }

  Status CompareTrees(const std::string& dir, const git_tree* old_tree, const git_tree* new_tree) {
    std::vector<EntryView> olds = Entries(old_tree), news = Entries(new_tree);
    size_t i = 0, j = 0;
    while (i < olds.size() || j < news.size()) {
      int cmp = i == olds.size() ? 1 : j == news.size() ? -1 : olds[i].name.compare(news[j].name);
      if (cmp < 0) {
        SLUICE_RETURN_IF_ERROR(Compare(Join(dir, olds[i].name), &olds[i], nullptr));
        ++i;
      } else if (cmp > 0) {
        SLUICE_RETURN_IF_ERROR(Compare(Join(dir, news[j].name), nullptr, &news[j]));
        ++j;
      } else {
        SLUICE_RETURN_IF_ERROR(Compare(Join(dir, olds[i].name), &olds[i], &news[j]));
        ++i;
        ++j;
      }
    }
    return Status::Ok();
  }

  std::vector<ChangedPath> Take() {
    std::sort(out_.begin(), out_.end(),
              [](const ChangedPath& a, const ChangedPath& b) { return a.path < b.path; });
    return std::move(out_);
  }

 private:
  git_repository* repo_;
  std::vector<ChangedPath> out_;
};

// True for a tree entry name that is safe to create on disk.
bool SafeEntryName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos) return false;
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower != ".git";
}

// Writes `size` bytes to `fd` (opened for `path`), sets `mode` (the umask
// must not strip the bits recorded in Git) and closes it.
Status FillAndClose(int fd, const std::string& path, const void* data, size_t size, mode_t mode) {
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IOError("write " + path + ": " + std::strerror(err));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::close(fd) != 0) {
    return Status::IOError("finish " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status WriteWholeFile(const std::string& path, const void* data, size_t size, mode_t mode) {
  // O_EXCL | O_NOFOLLOW: never write through something already there (such
  // as a symlink an earlier entry created).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("create " + path + ": " + std::strerror(errno));
  return FillAndClose(fd, path, data, size, mode);
}

// Rewrites a file SyncTree wrote earlier (and found unchanged) in place, so
// that no inode is freed and allocated again.
Status RewriteFile(const std::string& path, const void* data, size_t size, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::IOError("rewrite " + path + ": " + std::strerror(errno));
  return FillAndClose(fd, path, data, size, mode);
}

bool IsDirectoryMode(unsigned mode) {
  return mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT;
}

// Fills the lstat part of `e` for `path`; false when it cannot be read.
bool StatEntry(const fs::path& path, ExportManifest::Entry* e) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return false;
  e->dev = static_cast<uint64_t>(st.st_dev);
  e->ino = static_cast<uint64_t>(st.st_ino);
  e->st_mode = static_cast<uint32_t>(st.st_mode);
  return true;
}

// True when the directory `m` describes is still exactly what was written:
// same inodes and modes, every file's content hashing to its blob id, every
// directory listing only its recorded entries. Anything else (an adapter
// that wrote, removed or chmod-ed something) means export afresh.
bool StillAsWritten(const ExportManifest& m) {
  const fs::path root(m.dir);
  std::map<std::string, size_t> children;  // directory -> entries recorded in it
  for (const auto& [path, e] : m.entries) {
    const fs::path at = path.empty() ? root : root / path;
    ExportManifest::Entry now;
    if (!StatEntry(at, &now) || now.dev != e.dev || now.ino != e.ino || now.st_mode != e.st_mode) {
      return false;
    }
    if (!path.empty()) {
      size_t slash = path.rfind('/');
      ++children[slash == std::string::npos ? "" : path.substr(0, slash)];
    }
    if (e.mode == GIT_FILEMODE_BLOB || e.mode == GIT_FILEMODE_BLOB_EXECUTABLE) {
      git_oid id;
      git_oid want;
      if (git_odb_hashfile(&id, at.c_str(), GIT_OBJECT_BLOB) != 0 ||
          git_oid_fromstr(&want, e.id.c_str()) != 0 || git_oid_cmp(&id, &want) != 0) {
        git_error_clear();
        return false;
      }
    }
  }
  for (const auto& [path, e] : m.entries) {
    if (!IsDirectoryMode(e.mode) && !path.empty()) continue;
    std::error_code ec;
    size_t n = 0;
    for (fs::directory_iterator it(path.empty() ? root : root / path, ec), end; !ec && it != end;
         it.increment(ec)) {
      ++n;
    }
    auto c = children.find(path);
    if (ec || n != (c == children.end() ? 0 : c->second)) return false;
  }
  return true;
}

class Exporter {
 public:
  Exporter(git_repository* repo, fs::path root, const Repository::ExportSkip& skip)
      : repo_(repo), root_(std::move(root)), skip_(skip) {}

  // Records every entry written (path -> id and mode) into `written`.
  void RecordInto(std::map<std::string, ExportManifest::Entry>* written) { written_ = written; }
  // Sync mode: `had` is what the directory holds (checked by
  // StillAsWritten); entries that are the same are left as they are.
  void SyncFrom(const std::map<std::string, ExportManifest::Entry>* had) { had_ = had; }

  // Sync mode: thrown out (as a status) when the tree holds a symlink, which
  // is exported only whole (RecheckLinks looks at all of them together).
  static constexpr const char* kNeedsWholeExport = "needs a whole export";

  Status Walk(const git_tree* tree, const std::string& rel) {
    size_t n = git_tree_entrycount(tree);
    for (size_t i = 0; i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree, i);
      std::string name = git_tree_entry_name(e);
      std::string child = Join(rel, name);
      if (!SafeEntryName(name)) {
        skipped_.push_back("\"" + child + "\" (unsafe name)");
        continue;
      }
      git_filemode_t mode = git_tree_entry_filemode(e);
      if (skip_ && skip_(child, mode == GIT_FILEMODE_TREE)) continue;
      fs::path target = root_ / child;
      const std::string id = OidToString(*git_tree_entry_id(e));
      const ExportManifest::Entry* had = nullptr;
      if (had_) {
        auto it = had_->find(child);
        if (it != had_->end()) had = &it->second;
      }
      if (written_) {
        ExportManifest::Entry& w = (*written_)[child];
        w.id = id;
        w.mode = static_cast<unsigned>(mode);
      }
      switch (mode) {
        case GIT_FILEMODE_TREE: {
          if (!had || had->mode != GIT_FILEMODE_TREE) {
            if (had) SLUICE_RETURN_IF_ERROR(RemoveHad(child, *had));
            if (::mkdir(target.c_str(), 0755) != 0) {
              return Status::IOError("create directory " + target.string() + ": " +
                                     std::strerror(errno));
            }
          }
          Result<TreePtr> sub = LookupTree(repo_, *git_tree_entry_id(e), child);
          if (!sub.ok()) return sub.status();
          SLUICE_RETURN_IF_ERROR(Walk(sub->get(), child));
          break;
        }
        case GIT_FILEMODE_BLOB:
        case GIT_FILEMODE_BLOB_EXECUTABLE: {
          if (had && had->mode == static_cast<unsigned>(mode) && had->id == id) break;
          const bool in_place = had && !IsDirectoryMode(had->mode);
          if (had && !in_place) SLUICE_RETURN_IF_ERROR(RemoveHad(child, *had));
          Result<BlobPtr> blob = LookupBlob(*git_tree_entry_id(e), child);
          if (!blob.ok()) return blob.status();
          const mode_t file_mode = mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
          const void* data = git_blob_rawcontent(blob->get());
          const auto size = static_cast<size_t>(git_blob_rawsize(blob->get()));
          SLUICE_RETURN_IF_ERROR(in_place ? RewriteFile(target.string(), data, size, file_mode)
                                          : WriteWholeFile(target.string(), data, size, file_mode));
          break;
        }
        case GIT_FILEMODE_LINK: {
          if (had_) return Status::FailedPrecondition(kNeedsWholeExport);
          Result<BlobPtr> blob = LookupBlob(*git_tree_entry_id(e), child);
          if (!blob.ok()) return blob.status();
          std::string link(static_cast<const char*>(git_blob_rawcontent(blob->get())),
                           static_cast<size_t>(git_blob_rawsize(blob->get())));
          if (!LinkStaysInside(child, link)) {
            skipped_.push_back("\"" + child + "\" -> \"" + link + "\" (symlink leaves the tree)");
            break;
          }
          if (::symlink(link.c_str(), target.c_str()) != 0) {
            return Status::IOError("create symlink " + target.string() + ": " +
                                   std::strerror(errno));
          }
          links_.push_back(child);
          break;
        }
        case GIT_FILEMODE_COMMIT:
          // A submodule: like git, leave an empty directory.
          if (had && had->mode == GIT_FILEMODE_COMMIT) break;
          if (had) SLUICE_RETURN_IF_ERROR(RemoveHad(child, *had));
          if (::mkdir(target.c_str(), 0755) != 0) {
            return Status::IOError("create directory " + target.string() + ": " +
                                   std::strerror(errno));
          }
          break;
        default:
          if (written_) written_->erase(child);
          skipped_.push_back("\"" + child + "\" (unknown file mode)");
          break;
      }
    }
    return Status::Ok();
  }

  // Sync mode, after Walk: removes what the directory had and the new tree
  // does not (deepest first).
  Status RemoveUnlisted() {
    for (auto it = had_->rbegin(); it != had_->rend(); ++it) {
      const std::string& path = it->first;
      if (path.empty() || written_->count(path) > 0 || UnderRemoved(path)) continue;
      SLUICE_RETURN_IF_ERROR(RemoveHad(path, it->second));
    }
    return Status::Ok();
  }

  // Resolves every symlink written, now that the whole tree exists, and
  // removes any that leads outside the root (e.g. through another link:
  // "a" -> "b/..", "b" -> "."). Repeats until nothing changes, as a removal
  // can change how other links resolve.
  void RecheckLinks() {
    std::error_code ec;
    fs::path root = fs::canonical(root_, ec);
    if (ec) root = root_;
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto it = links_.begin(); it != links_.end();) {
        fs::path resolved = fs::weakly_canonical(root_ / *it, ec);
        bool inside = !ec && IsWithin(root, resolved);
        if (inside) {
          ++it;
          continue;
        }
        fs::remove(root_ / *it, ec);
        skipped_.push_back("\"" + *it + "\" (symlink resolves outside the tree)");
        it = links_.erase(it);
        changed = true;
      }
    }
  }

  const std::vector<std::string>& skipped() const { return skipped_; }
  bool wrote_links() const { return !links_.empty(); }

 private:
  // Sync mode: removes an entry the directory had (a directory with
  // everything under it).
  Status RemoveHad(const std::string& path, const ExportManifest::Entry& had) {
    const fs::path target = root_ / path;
    std::error_code ec;
    if (IsDirectoryMode(had.mode)) {
      fs::remove_all(target, ec);
      removed_dirs_.push_back(path + "/");
    } else {
      fs::remove(target, ec);
    }
    if (ec) return Status::IOError("remove " + target.string() + ": " + ec.message());
    return Status::Ok();
  }

  bool UnderRemoved(const std::string& path) const {
    for (const auto& dir : removed_dirs_) {
      if (path.compare(0, dir.size(), dir) == 0) return true;
    }
    return false;
  }

  Result<BlobPtr> LookupBlob(const git_oid& id, const std::string& path) {
    git_blob* blob = nullptr;
    int rc = git_blob_lookup(&blob, repo_, &id);
    if (rc != 0) return GitError(rc, "read blob " + path);
    return BlobPtr(blob);
  }

  static bool IsWithin(const fs::path& root, const fs::path& p) {
    auto r = root.begin(), q = p.begin();
    for (; r != root.end(); ++r, ++q) {
      if (q == p.end() || *r != *q) return false;
    }
    return true;
  }

  // Lexical check: `link` (relative, from the directory of `rel`) stays
  // inside the root.
  static bool LinkStaysInside(const std::string& rel, const std::string& link) {
    if (link.empty() || link.front() == '/' || link.find('\0') != std::string::npos) return false;
    fs::path resolved = (fs::path(rel).parent_path() / link).lexically_normal();
    if (resolved.empty()) return true;
    return *resolved.begin() != "..";
  }

  git_repository* repo_;
  fs::path root_;
  const Repository::ExportSkip& skip_;
  std::map<std::string, ExportManifest::Entry>* written_ = nullptr;
  const std::map<std::string, ExportManifest::Entry>* had_ = nullptr;
  std::vector<std::string> removed_dirs_;  // "dir/"
  std::vector<std::string> links_;
  std::vector<std::string> skipped_;
};

// The changes of CreateCommit grouped by directory.
struct ChangeNode {
  std::map<std::string, const std::optional<std::string>*> files;
  std::map<std::string, ChangeNode> dirs;
};

Status AddChange(ChangeNode& root, const std::string& path,
                 const std::optional<std::string>* change) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  for (const auto& part : parts) {
    if (!SafeEntryName(part)) {
      return Status::InvalidArgument("cannot commit path \"" + path +
                                     "\": empty, \".\", \"..\" or \".git\" component");
    }
  }
  ChangeNode* node = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (node->files.count(parts[i]) != 0) {
      return Status::InvalidArgument("cannot commit path \"" + path + "\": a file change names " +
                                     parts[i] + " too");
    }
    node = &node->dirs[parts[i]];
  }
  if (node->dirs.count(parts.back()) != 0) {
    return Status::InvalidArgument("cannot commit path \"" + path +
                                   "\": it is also a directory of another change");
  }
  node->files[parts.back()] = change;
  return Status::Ok();
}

// Writes the tree that results from applying `node` to `base` (nullable).
// `*empty` tells the caller to drop the entry instead.
Status BuildTree(git_repository* repo, const git_tree* base, const ChangeNode& node,
                 const std::string& dir, git_oid* out, bool* empty) {
  git_treebuilder* raw = nullptr;
  int rc = git_treebuilder_new(&raw, repo, base);
  if (rc != 0) return GitError(rc, "start tree " + dir);
  TreeBuilderPtr builder(raw);

  for (const auto& [name, change] : node.files) {
    std::string path = Join(dir, name);
    const git_tree_entry* existing = git_treebuilder_get(builder.get(), name.c_str());
    if (!change->has_value()) {
      if (existing != nullptr) {
        rc = git_treebuilder_remove(builder.get(), name.c_str());
        if (rc != 0) return GitError(rc, "remove " + path);
      }
      continue;
    }
    git_oid blob_id;
    rc = git_blob_create_from_buffer(&blob_id, repo, (*change)->data(), (*change)->size());
    if (rc != 0) return GitError(rc, "write blob " + path);
    // An existing file keeps its mode (executable, symlink).
    git_filemode_t mode = GIT_FILEMODE_BLOB;
    if (existing != nullptr && IsBlobMode(git_tree_entry_filemode(existing))) {
      mode = git_tree_entry_filemode(existing);
    }
    rc = git_treebuilder_insert(nullptr, builder.get(), name.c_str(), &blob_id, mode);
    if (rc != 0) return GitError(rc, "add " + path);
  }

  for (const auto& [name, child] : node.dirs) {
    std::string path = Join(dir, name);
    const git_tree_entry* existing = git_treebuilder_get(builder.get(), name.c_str());
    TreePtr sub_base;
    if (existing != nullptr && git_tree_entry_filemode(existing) == GIT_FILEMODE_TREE) {
      Result<TreePtr> t = LookupTree(repo, *git_tree_entry_id(existing), path);
      if (!t.ok()) return t.status();
      sub_base = std::move(*t);
    }
    git_oid sub_id;
    bool sub_empty = false;
    SLUICE_RETURN_IF_ERROR(BuildTree(repo, sub_base.get(), child, path, &sub_id, &sub_empty));
    if (sub_empty) {
      // Git cannot record an empty directory.
      if (existing != nullptr) {
        rc = git_treebuilder_remove(builder.get(), name.c_str());
        if (rc != 0) return GitError(rc, "remove " + path);
      }
      continue;
    }
    rc = git_treebuilder_insert(nullptr, builder.get(), name.c_str(), &sub_id, GIT_FILEMODE_TREE);
    if (rc != 0) return GitError(rc, "add directory " + path);
  }

  *empty = git_treebuilder_entrycount(builder.get()) == 0;
  rc = git_treebuilder_write(out, builder.get());
  if (rc != 0) return GitError(rc, "write tree " + (dir.empty() ? std::string("/") : dir));
  return Status::Ok();
}

}  // namespace

namespace {

// The entry at `path` in `commit_id`'s tree (never null); NotFound when the
// path is empty or absent. `*clean` is the normalised path.
Result<TreeEntryPtr> ExistingEntry(git_repository* repo, const std::string& commit_id,
                                   const std::string& path, std::string* clean) {
  Result<TreePtr> tree = LookupCommitTree(repo, commit_id);
  if (!tree.ok()) return tree.status();
  *clean = NormalisePath(path);
  if (clean->empty()) return Status::NotFound("no file named \"" + path + "\"");
  Result<TreeEntryPtr> entry = EntryAt(tree->get(), *clean, "look up " + *clean);
  if (!entry.ok()) return entry.status();
  if (!*entry) return Status::NotFound(*clean + " does not exist in commit " + commit_id);
  return entry;
}

}  // namespace

Result<std::string> Repository::ReadFile(const std::string& commit_id,
                                         const std::string& path) const {
  std::string clean;
  Result<TreeEntryPtr> entry = ExistingEntry(repo_.get(), commit_id, path, &clean);
  if (!entry.ok()) return entry.status();
  git_filemode_t mode = git_tree_entry_filemode(entry->get());
  if (!IsBlobMode(mode)) {
    return Status::NotFound(clean + " is not a file in commit " + commit_id);
  }
  git_blob* raw = nullptr;
  int rc = git_blob_lookup(&raw, repo_.get(), git_tree_entry_id(entry->get()));
  if (rc != 0) return GitError(rc, "read " + clean + " at " + commit_id);
  BlobPtr blob(raw);
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                     static_cast<size_t>(git_blob_rawsize(blob.get())));
}

Result<unsigned> Repository::FileMode(const std::string& commit_id, const std::string& path) const {
  std::string clean;
  Result<TreeEntryPtr> entry = ExistingEntry(repo_.get(), commit_id, path, &clean);
  if (!entry.ok()) return entry.status();
  return static_cast<unsigned>(git_tree_entry_filemode(entry->get()));
}

Result<std::string> Repository::BlobId(const std::string& commit_id,
                                       const std::string& path) const {
  Result<TreePtr> tree = LookupCommitTree(repo_.get(), commit_id);
  if (!tree.ok()) return tree.status();
  std::string clean = NormalisePath(path);
  if (clean.empty()) return Status::NotFound("no file named \"" + path + "\"");
  Result<TreeEntryPtr> entry = EntryAt(tree->get(), clean, "look up " + clean);
  if (!entry.ok()) return entry.status();
  if (!*entry || !IsBlobMode(git_tree_entry_filemode(entry->get()))) {
    return Status::NotFound(clean + " is not a file in commit " + commit_id);
  }
  return OidToString(*git_tree_entry_id(entry->get()));
}

Result<std::string> Repository::TreeId(const std::string& commit_id, const std::string& dir) const {
  Result<TreePtr> root = LookupCommitTree(repo_.get(), commit_id);
  if (!root.ok()) return root.status();
  std::string clean = NormalisePath(dir);
  if (clean.empty()) return OidToString(*git_tree_id(root->get()));
  Result<TreeEntryPtr> entry = EntryAt(root->get(), clean, "look up " + clean);
  if (!entry.ok()) return entry.status();
  if (!*entry || git_tree_entry_filemode(entry->get()) != GIT_FILEMODE_TREE) {
    return Status::NotFound(clean + " is not a directory in commit " + commit_id);
  }
  return OidToString(*git_tree_entry_id(entry->get()));
}

Result<std::vector<std::string>> Repository::ListDir(const std::string& commit_id,
                                                     const std::string& dir) const {
  Result<TreePtr> root = LookupCommitTree(repo_.get(), commit_id);
  if (!root.ok()) return root.status();
  std::string clean = NormalisePath(dir);
  TreePtr sub;
  const git_tree* tree = root->get();
  if (!clean.empty()) {
    Result<TreeEntryPtr> entry = EntryAt(root->get(), clean, "look up " + clean);
    if (!entry.ok()) return entry.status();
    if (!*entry || git_tree_entry_filemode(entry->get()) != GIT_FILEMODE_TREE) {
      return Status::NotFound(clean + " is not a directory in commit " + commit_id);
    }
    Result<TreePtr> t = LookupTree(repo_.get(), *git_tree_entry_id(entry->get()), clean);
    if (!t.ok()) return t.status();
    sub = std::move(*t);
    tree = sub.get();
  }
  std::vector<std::string> names;
  size_t n = git_tree_entrycount(tree);
  names.reserve(n);
  for (size_t i = 0; i < n; ++i)
    names.emplace_back(git_tree_entry_name(git_tree_entry_byindex(tree, i)));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<ChangedPath>> Repository::DiffTrees(const std::string& old_commit,
                                                       const std::string& new_commit,
                                                       const std::string& prefix) const {
  // A walk of our own rather than git_diff_tree_to_tree: libgit2's tree
  // iterator expands every subtree, even where both sides have the same id,
  // so its cost follows the size of the repository, not of the change.
  TreePtr old_tree;
  if (!old_commit.empty()) {
    Result<TreePtr> t = LookupCommitTree(repo_.get(), old_commit);
    if (!t.ok()) return t.status();
    old_tree = std::move(*t);
  }
  Result<TreePtr> new_tree = LookupCommitTree(repo_.get(), new_commit);
  if (!new_tree.ok()) return new_tree.status();

  TreeDiffer differ(repo_.get());
  std::string clean = NormalisePath(prefix);
  if (clean.empty()) {
    SLUICE_RETURN_IF_ERROR(differ.CompareTrees("", old_tree.get(), new_tree->get()));
    return differ.Take();
  }
  // Only the entries at the prefix are compared; nothing else is read.
  std::optional<EntryView> o, n;
  if (old_tree) {
    Result<TreeEntryPtr> e = EntryAt(old_tree.get(), clean, "look up " + clean);
    if (!e.ok()) return e.status();
    if (*e) o = EntryView{clean, *git_tree_entry_id(e->get()), git_tree_entry_filemode(e->get())};
  }
  Result<TreeEntryPtr> e = EntryAt(new_tree->get(), clean, "look up " + clean);
  if (!e.ok()) return e.status();
  if (*e) n = EntryView{clean, *git_tree_entry_id(e->get()), git_tree_entry_filemode(e->get())};
  SLUICE_RETURN_IF_ERROR(differ.Compare(clean, o ? &*o : nullptr, n ? &*n : nullptr));
  return differ.Take();
}

namespace {

// Writes all of `tree` (less `skip`) into the existing, empty `root`;
// `written` and `links`, when given, receive what was written and whether a
// symlink was among it.
Status ExportWhole(git_repository* repo, const git_tree* tree, const std::string& commit_id,
                   const fs::path& root, const Repository::ExportSkip& skip,
                   std::map<std::string, ExportManifest::Entry>* written, bool* links) {
  Exporter exporter(repo, root, skip);
  if (written) exporter.RecordInto(written);
  Status s = exporter.Walk(tree, "");
  if (!s.ok()) return s.WithContext("export " + commit_id + " to " + root.string());
  exporter.RecheckLinks();
  if (!exporter.skipped().empty()) {
    std::string list;
    for (const auto& item : exporter.skipped()) list += (list.empty() ? "" : ", ") + item;
    return Status::InvalidArgument("export " + commit_id + " to " + root.string() +
                                   ": skipped entries that would escape the target: " + list);
  }
  if (links) *links = exporter.wrote_links();
  return Status::Ok();
}

}  // namespace

Status Repository::ExportTree(const std::string& commit_id, const std::string& target_dir,
                              const ExportSkip& skip) const {
  Result<TreePtr> tree = LookupCommitTree(repo_.get(), commit_id);
  if (!tree.ok()) return tree.status();
  std::error_code ec;
  if (fs::exists(target_dir, ec)) {
    if (!fs::is_directory(target_dir, ec) || !fs::is_empty(target_dir, ec)) {
      return Status::FailedPrecondition("export " + commit_id + ": " + target_dir +
                                        " exists and is not an empty directory");
    }
  } else if (!fs::create_directories(target_dir, ec) && ec) {
    return Status::IOError("export " + commit_id + ": create " + target_dir + ": " + ec.message());
  }
  return ExportWhole(repo_.get(), tree->get(), commit_id, fs::absolute(target_dir, ec), skip,
                     nullptr, nullptr);
}

Status Repository::SyncTree(const std::string& commit_id, const std::string& target_dir,
                            const ExportSkip& skip, ExportManifest* manifest, bool* reused) const {
  if (reused) *reused = false;
  Result<TreePtr> tree = LookupCommitTree(repo_.get(), commit_id);
  if (!tree.ok()) return tree.status();
  std::error_code ec;
  const fs::path root = fs::absolute(target_dir, ec);
  std::map<std::string, ExportManifest::Entry> now;
  auto describe = [&]() {
    // What lstat says now, for the next SyncTree to compare with.
    now[""] = ExportManifest::Entry{};
    for (auto& [path, e] : now) {
      if (!StatEntry(path.empty() ? root : root / path, &e)) {
        manifest->entries.clear();  // cannot vouch for it: export whole next time
        return;
      }
    }
    manifest->entries = std::move(now);
  };

  if (manifest->dir == root.string() && !manifest->entries.empty() && StillAsWritten(*manifest)) {
    Exporter exporter(repo_.get(), root, skip);
    exporter.RecordInto(&now);
    exporter.SyncFrom(&manifest->entries);
    Status s = exporter.Walk(tree->get(), "");
    if (s.ok()) s = exporter.RemoveUnlisted();
    if (s.ok() && exporter.skipped().empty()) {
      describe();
      if (reused) *reused = true;
      return Status::Ok();
    }
    // A symlink, an entry that cannot be written, or an error half-way:
    // start over from an empty directory (which reports the same errors).
    now.clear();
  }

  manifest->dir = root.string();
  manifest->entries.clear();
  fs::remove_all(root, ec);
  if (ec) {
    return Status::IOError("export " + commit_id + ": empty " + root.string() + ": " +
                           ec.message());
  }
  if (!fs::create_directories(root, ec) && ec) {
    return Status::IOError("export " + commit_id + ": create " + root.string() + ": " +
                           ec.message());
  }
  bool links = false;
  SLUICE_RETURN_IF_ERROR(
      ExportWhole(repo_.get(), tree->get(), commit_id, root, skip, &now, &links));
  // A tree with symlinks is exported whole each time (RecheckLinks).
  if (!links) describe();
  return Status::Ok();
}

Result<std::string> Repository::CreateCommit(const std::string& parent_commit,
                                             const FileChanges& changes, const std::string& message,
                                             const Person& author, const Person& committer,
                                             const CommitSigner& sign) {
  ChangeNode root;
  for (const auto& [path, change] : changes) {
    SLUICE_RETURN_IF_ERROR(AddChange(root, path, &change));
  }

  CommitPtr parent;
  TreePtr base;
  if (!parent_commit.empty()) {
    Result<CommitPtr> p = internal::LookupCommit(repo_.get(), parent_commit);
    if (!p.ok()) return p.status();
    parent = std::move(*p);
    git_tree* raw = nullptr;
    int rc = git_commit_tree(&raw, parent.get());
    if (rc != 0) return GitError(rc, "read the tree of " + parent_commit);
    base.reset(raw);
  }

  git_oid tree_id;
  bool empty = false;
  SLUICE_RETURN_IF_ERROR(BuildTree(repo_.get(), base.get(), root, "", &tree_id, &empty));
  Result<TreePtr> tree = LookupTree(repo_.get(), tree_id, "");
  if (!tree.ok()) return tree.status();

  Result<SignaturePtr> author_sig = internal::MakeSignature(author);
  if (!author_sig.ok()) return author_sig.status();
  Result<SignaturePtr> committer_sig = internal::MakeSignature(committer);
  if (!committer_sig.ok()) return committer_sig.status();

  std::string text = message;
  if (text.empty() || text.back() != '\n') text += '\n';
  const git_commit* parents[1] = {parent.get()};
  git_oid commit_id;
  if (!sign) {
    int rc = git_commit_create(&commit_id, repo_.get(), nullptr, author_sig->get(),
                               committer_sig->get(), nullptr, text.c_str(), tree->get(),
                               parent ? 1 : 0, parent ? parents : nullptr);
    if (rc != 0) return GitError(rc, "create commit on " + parent_commit);
    return OidToString(commit_id);
  }
  // Signed: the commit object's bytes, signed, then written with the
  // signature as its gpgsig header (what `git commit -S` stores).
  Buf payload;
  int rc = git_commit_create_buffer(payload.get(), repo_.get(), author_sig->get(),
                                    committer_sig->get(), nullptr, text.c_str(), tree->get(),
                                    parent ? 1 : 0, parent ? parents : nullptr);
  if (rc != 0) return GitError(rc, "build the commit to sign on " + parent_commit);
  const std::string content(payload.data(), payload.size());
  Result<std::string> signature = sign(content);
  if (!signature.ok()) return Status(signature.status()).WithContext("sign the commit");
  std::string armored = *signature;
  while (!armored.empty() && (armored.back() == '\n' || armored.back() == '\r')) {
    armored.pop_back();
  }
  rc = git_commit_create_with_signature(&commit_id, repo_.get(), content.c_str(), armored.c_str(),
                                        "gpgsig");
  if (rc != 0) return GitError(rc, "write the signed commit on " + parent_commit);
  return OidToString(commit_id);
}

}  // namespace sluice::git
