#include "record/candidate.h"

#include "approval/landing.h"
#include "config/repository_config.h"
#include "record/refs.h"

namespace sluice::record {

std::string CandidateFor(const git::Repository& repo, const std::string& env,
                         const std::string& app, const std::string& head) {
  const std::string path = config::PinPath(env, app);
  auto prev = repo.ResolveRef(CandidateRef(env, app));
  if (!prev.ok() || *prev == head) return head;
  auto head_blob = repo.BlobId(head, path);
  auto prev_blob = repo.BlobId(*prev, path);
  if (!head_blob.ok() || !prev_blob.ok() || *head_blob != *prev_blob) return head;
  // Same content; reuse only if no commit since `prev` changed the pin.
  auto landing = approval::FindLandingCommit(repo, head, path, *prev);
  if (!landing.ok() && landing.status().IsNotFound()) return *prev;
  return head;
}

}  // namespace sluice::record
