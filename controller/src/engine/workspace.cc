#include "engine/workspace.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "engine/refs.h"
#include "git/credentials.h"
#include "git/incremental.h"

namespace sluice::engine {
namespace fs = std::filesystem;

namespace {
constexpr int kPushAttempts = 6;
// Loose references that make Sync pack the cache's refs (git's own gc packs
// them on its schedule; nothing runs git gc on the cache).
constexpr size_t kPackRefsAfter = 256;

// Loose reference files under `git_dir`/refs: a directory listing, no file
// opened. Lets a process that starts on a cache an earlier one left loose
// pack it too.
size_t CountLooseRefs(const std::string& git_dir) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(fs::path(git_dir) / "refs", ec), end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) ++n;
  }
  return n;
}
}  // namespace

Workspace::Workspace(std::string workdir, std::string url, std::string branch,
                     std::unique_ptr<git::Repository> repo)
    : workdir_(std::move(workdir)),
      url_(std::move(url)),
      branch_(std::move(branch)),
      repo_(std::move(repo)),
      loose_refs_(CountLooseRefs(repo_->path())) {}

Result<std::unique_ptr<Workspace>> Workspace::Open(const std::string& workdir,
                                                   const std::string& url,
                                                   const std::string& branch) {
  std::error_code ec;
  fs::create_directories(workdir, ec);
  if (ec) {
    return Status::IOError("cannot create workdir " + workdir + ": " + ec.message() +
                           " (choose another with --workdir)");
  }
  // The URL without its password is what is stored, logged and shown
  // (/readyz, status, errors); the password stays in git/credentials.
  const std::string shown_url = git::AdoptUrlCredentials(url);
  auto repo = git::Repository::OpenCache(workdir + "/cache.git", url);
  if (!repo.ok()) return repo.status();
  return std::unique_ptr<Workspace>(
      new Workspace(fs::absolute(workdir).string(), shown_url, branch, std::move(*repo)));
}

git::Person Workspace::Identity() {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return git::Person{"Sluice controller", std::string("sluice@") + host, {}};
}

Result<std::string> Workspace::Head() {
  std::lock_guard lock(mu_);
  auto head = repo_->ResolveRef("refs/remotes/origin/" + branch_);
  if (!head.ok() && head.status().IsNotFound()) {
    return Status::NotFound("branch '" + branch_ + "' does not exist in " + url_ +
                            " (choose it with --branch)");
  }
  return head;
}

Status Workspace::FetchRecordLocked(std::vector<std::string>* moved) {
  return git::FetchListingUpdates(*repo_,
                                  {std::string("+") + kNotesRef + ":" + kRemoteNotesRef,
                                   std::string("+refs/sluice/*:") + kRemoteSluicePrefix + "*"},
                                  moved);
}

std::optional<std::vector<std::string>> Workspace::ReadUnpushedLocked() const {
  std::ifstream in(UnpushedPath());
  if (!in) return std::nullopt;
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(kSluicePrefix, 0) == 0 && seen.insert(line).second) names.push_back(line);
  }
  return names;
}

Status Workspace::WriteUnpushedLocked(const std::vector<std::string>& names) {
  // Written aside and renamed, so a crash leaves the old or the new list.
  const std::string tmp = UnpushedPath() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& n : names) out << n << "\n";
    if (!out.flush()) return Status::IOError("cannot write " + tmp + " (is the workdir writable?)");
  }
  std::error_code ec;
  fs::rename(tmp, UnpushedPath(), ec);
  if (ec) return Status::IOError("cannot write " + UnpushedPath() + ": " + ec.message());
  return Status::Ok();
}

Status Workspace::NoteUnpushedLocked(const std::vector<std::string>& names) {
  if (names.empty()) return Status::Ok();
  auto journal = ReadUnpushedLocked();
  if (!journal) return Status::Ok();  // no journal yet: the next Sync compares everything
  for (const auto& n : names) journal->push_back(n);
  return WriteUnpushedLocked(*journal);
}

Status Workspace::MergeOneRecordRefLocked(const std::string& rname,
                                          std::vector<std::string>* local_ahead) {
  const size_t strip = std::string_view(kRemoteSluicePrefix).size();
  if (rname.compare(0, strip, kRemoteSluicePrefix) != 0) return Status::Ok();
  std::string lname = std::string(kSluicePrefix) + rname.substr(strip);
  auto rid = repo_->ResolveRef(rname);
  auto lid = repo_->ResolveRef(lname);
  if (!rid.ok()) {
    if (!rid.status().IsNotFound()) return rid.status();
    if (lid.ok() && local_ahead) local_ahead->push_back(lname);  // the remote lacks it
    return Status::Ok();
  }
  if (!lid.ok()) {
    if (!lid.status().IsNotFound()) return lid.status();
    return repo_->SetRef(lname, *rid, "sluice: take remote record");
  }
  if (*lid == *rid) return Status::Ok();
  // Record refs only move forward along the branch: the newer one wins.
  auto local_older = repo_->IsAncestor(*lid, *rid);
  if (local_older.ok() && *local_older) {
    return repo_->SetRef(lname, *rid, "sluice: take newer remote record");
  }
  if (local_ahead) local_ahead->push_back(lname);
  return Status::Ok();
}

Status Workspace::MergeRemoteRecordLocked(const std::vector<std::string>* moved,
                                          std::vector<std::string>* local_ahead) {
  if (repo_->ResolveRef(kRemoteNotesRef).ok()) {
    SLUICE_RETURN_IF_ERROR(repo_->MergeNotes(kNotesRef, kRemoteNotesRef, Identity()));
  }
  std::optional<std::vector<std::string>> journal;
  if (moved) journal = ReadUnpushedLocked();
  if (journal) {
    // Incremental: a record ref can differ from its remote copy only if the
    // fetch moved the remote copy, or this workdir wrote the local one and
    // has not pushed it yet (journalled by NoteUnpushedLocked).
    std::set<std::string> journalled;
    for (const auto& lname : *journal) {
      journalled.insert(std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix)));
    }
    std::set<std::string> done;
    for (const auto& rname : *moved) {
      if (journalled.count(rname) || !done.insert(rname).second) continue;
      SLUICE_RETURN_IF_ERROR(MergeOneRecordRefLocked(rname, local_ahead));
    }
    std::vector<std::string> still;
    for (const auto& lname : *journal) {
      std::vector<std::string> ahead;
      SLUICE_RETURN_IF_ERROR(MergeOneRecordRefLocked(
          std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix)), &ahead));
      if (ahead.empty()) continue;  // the remote has it (or a newer one)
      still.push_back(lname);
      if (local_ahead) local_ahead->push_back(lname);
    }
    // Only a pushing Sync (the controller, which holds the workdir lock)
    // rewrites the journal; a read-only one (`sluice status`) leaves it.
    if (local_ahead && still.size() != journal->size()) {
      SLUICE_RETURN_IF_ERROR(WriteUnpushedLocked(still));
    }
    return Status::Ok();
  }

  // Full comparison: the first Sync of a workdir (or of one written by an
  // older Sluice), which then starts the journal.
  auto remote = repo_->ListRefs(kRemoteSluicePrefix);
  if (!remote.ok()) return remote.status();
  auto local = repo_->ListRefs(kSluicePrefix);
  if (!local.ok()) return local.status();
  const size_t strip = std::string_view(kRemoteSluicePrefix).size();
  std::vector<std::string> ahead;
  for (const auto& [rname, rid] : *remote) {
    std::string lname = std::string(kSluicePrefix) + rname.substr(strip);
    auto it = local->find(lname);
    if (it == local->end()) {
      SLUICE_RETURN_IF_ERROR(repo_->SetRef(lname, rid, "sluice: take remote record"));
      continue;
    }
    if (it->second == rid) continue;
    auto local_older = repo_->IsAncestor(it->second, rid);
    if (local_older.ok() && *local_older) {
      SLUICE_RETURN_IF_ERROR(repo_->SetRef(lname, rid, "sluice: take newer remote record"));
    } else {
      ahead.push_back(lname);
    }
  }
  for (const auto& [lname, lid] : *local) {
    std::string rname = std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix));
    if (!remote->count(rname)) ahead.push_back(lname);
  }
  if (local_ahead) {
    for (const auto& n : ahead) local_ahead->push_back(n);
    // Every difference is now known: start the journal with what is ahead.
    SLUICE_RETURN_IF_ERROR(WriteUnpushedLocked(ahead));
  }
  return Status::Ok();
}

Status Workspace::Sync(bool push) {
  std::lock_guard lock(mu_);
  std::vector<std::string> moved;
  // The branch first, negotiated from its own history (see
  // FetchNegotiatingAlone: offered together with the record, its old head
  // was never offered and every new commit brought the whole history). The
  // record refs that point at branch commits then find them here already.
  SLUICE_RETURN_IF_ERROR(git::FetchNegotiatingAlone(
      *repo_, NegotiationDir(), {"+refs/heads/" + branch_ + ":refs/remotes/origin/" + branch_},
      &moved));
  SLUICE_RETURN_IF_ERROR(FetchRecordLocked(&moved));
  std::vector<std::string> local_ahead;
  SLUICE_RETURN_IF_ERROR(MergeRemoteRecordLocked(&moved, push ? &local_ahead : nullptr));
  // Each moved record ref is now two loose files (the remote-tracking copy
  // and the merged local one). Pack them once enough have gathered: the
  // first sync of a long record writes tens of thousands, and every later
  // listing would open each one (60,000 loose refs: 270,000 stat calls and
  // 1 s of a 3 s audit at the full benchmark size). A failure only costs
  // speed, so it is not the pass's error.
  loose_refs_ += 2 * moved.size();
  if (loose_refs_ >= kPackRefsAfter) {
    if (Status packed = repo_->PackRefs(); !packed.ok()) {
      spdlog::warn("{} (the cache still works, only slower)", packed.ToString());
    }
    loose_refs_ = 0;
  }
  if (!push) return Status::Ok();
  auto local_notes = repo_->ResolveRef(kNotesRef);
  auto remote_notes = repo_->ResolveRef(kRemoteNotesRef);
  bool notes_ahead = local_notes.ok() && (!remote_notes.ok() || *local_notes != *remote_notes);
  if (!notes_ahead && local_ahead.empty()) return Status::Ok();
  return PushRecordLocked(local_ahead);
}

Status Workspace::PushRecordLocked(const std::vector<std::string>& sluice_refs) {
  std::vector<std::string> specs;
  if (repo_->ResolveRef(kNotesRef).ok()) {
    specs.push_back(std::string(kNotesRef) + ":" + kNotesRef);
  }
  for (const auto& r : sluice_refs) specs.push_back("+" + r + ":" + r);
  if (specs.empty()) return Status::Ok();
  Status last;
  for (int attempt = 0; attempt < kPushAttempts; ++attempt) {
    last = repo_->Push(specs);
    if (last.ok()) {
      // Remember what the remote now has, so Sync knows nothing is pending.
      if (auto tip = repo_->ResolveRef(kNotesRef); tip.ok()) {
        (void)repo_->SetRef(kRemoteNotesRef, *tip, "sluice: pushed");
      }
      for (const auto& r : sluice_refs) {
        if (auto id = repo_->ResolveRef(r); id.ok()) {
          (void)repo_->SetRef(std::string(kRemoteSluicePrefix) + r.substr(strlen(kSluicePrefix)),
                              *id, "sluice: pushed");
        }
      }
      if (auto journal = ReadUnpushedLocked(); journal && !journal->empty()) {
        std::set<std::string> pushed(sluice_refs.begin(), sluice_refs.end());
        std::vector<std::string> still;
        for (const auto& n : *journal) {
          if (!pushed.count(n)) still.push_back(n);
        }
        if (still.size() != journal->size()) (void)WriteUnpushedLocked(still);
      }
      return Status::Ok();
    }
    if (!last.IsConflict()) return last.WithContext("push the record to " + url_);
    // Another writer pushed notes first: take theirs, merge ours in, retry.
    std::vector<std::string> moved;
    SLUICE_RETURN_IF_ERROR(FetchRecordLocked(&moved));
    SLUICE_RETURN_IF_ERROR(MergeRemoteRecordLocked(&moved, nullptr));
  }
  return last.WithContext("push the record to " + url_ + " after " + std::to_string(kPushAttempts) +
                          " attempts");
}

std::string DefaultWorkdir(const std::string& url) {
  std::string base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h && *h) {
    base = std::string(h) + "/.cache";
  } else {
    base = "/tmp";
  }
  std::string slug;
  for (char c : url) {
    slug += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  }
  if (slug.size() > 60) slug = slug.substr(slug.size() - 60);
  char hash[17];
  snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(url));
  return base + "/sluice/" + slug + "-" + std::string(hash, 8);
}

}  // namespace sluice::engine
