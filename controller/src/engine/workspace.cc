#include "engine/workspace.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include "engine/refs.h"

namespace sluice::engine {
namespace fs = std::filesystem;

namespace {
constexpr int kPushAttempts = 6;
}

Workspace::Workspace(std::string workdir, std::string url, std::string branch,
                     std::unique_ptr<git::Repository> repo)
    : workdir_(std::move(workdir)),
      url_(std::move(url)),
      branch_(std::move(branch)),
      repo_(std::move(repo)) {}

Result<std::unique_ptr<Workspace>> Workspace::Open(const std::string& workdir,
                                                   const std::string& url,
                                                   const std::string& branch) {
  std::error_code ec;
  fs::create_directories(workdir, ec);
  if (ec) {
    return Status::IOError("cannot create workdir " + workdir + ": " + ec.message() +
                           " (choose another with --workdir)");
  }
  auto repo = git::Repository::OpenCache(workdir + "/cache.git", url);
  if (!repo.ok()) return repo.status();
  return std::unique_ptr<Workspace>(
      new Workspace(fs::absolute(workdir).string(), url, branch, std::move(*repo)));
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

Status Workspace::FetchRecordLocked() {
  return repo_->Fetch({std::string("+") + kNotesRef + ":" + kRemoteNotesRef,
                       std::string("+refs/sluice/*:") + kRemoteSluicePrefix + "*"});
}

Status Workspace::MergeRemoteRecordLocked(std::vector<std::string>* local_ahead) {
  if (repo_->ResolveRef(kRemoteNotesRef).ok()) {
    SLUICE_RETURN_IF_ERROR(repo_->MergeNotes(kNotesRef, kRemoteNotesRef, Identity()));
  }
  auto remote = repo_->ListRefs(kRemoteSluicePrefix);
  if (!remote.ok()) return remote.status();
  auto local = repo_->ListRefs(kSluicePrefix);
  if (!local.ok()) return local.status();
  const size_t strip = std::string_view(kRemoteSluicePrefix).size();
  for (const auto& [rname, rid] : *remote) {
    std::string lname = std::string(kSluicePrefix) + rname.substr(strip);
    auto it = local->find(lname);
    if (it == local->end()) {
      SLUICE_RETURN_IF_ERROR(repo_->SetRef(lname, rid, "sluice: take remote record"));
      continue;
    }
    if (it->second == rid) continue;
    // Record refs only move forward along the branch: the newer one wins.
    auto local_older = repo_->IsAncestor(it->second, rid);
    if (local_older.ok() && *local_older) {
      SLUICE_RETURN_IF_ERROR(repo_->SetRef(lname, rid, "sluice: take newer remote record"));
    } else if (local_ahead) {
      local_ahead->push_back(lname);
    }
  }
  if (local_ahead) {
    for (const auto& [lname, lid] : *local) {
      std::string rname = std::string(kRemoteSluicePrefix) + lname.substr(strlen(kSluicePrefix));
      if (!remote->count(rname)) local_ahead->push_back(lname);
    }
  }
  return Status::Ok();
}

Status Workspace::Sync(bool push) {
  std::lock_guard lock(mu_);
  SLUICE_RETURN_IF_ERROR(
      repo_->Fetch({"+refs/heads/" + branch_ + ":refs/remotes/origin/" + branch_,
                    std::string("+") + kNotesRef + ":" + kRemoteNotesRef,
                    std::string("+refs/sluice/*:") + kRemoteSluicePrefix + "*"}));
  std::vector<std::string> local_ahead;
  SLUICE_RETURN_IF_ERROR(MergeRemoteRecordLocked(push ? &local_ahead : nullptr));
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
      return Status::Ok();
    }
    if (!last.IsConflict()) return last.WithContext("push the record to " + url_);
    // Another writer pushed notes first: take theirs, merge ours in, retry.
    SLUICE_RETURN_IF_ERROR(FetchRecordLocked());
    SLUICE_RETURN_IF_ERROR(MergeRemoteRecordLocked(nullptr));
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
