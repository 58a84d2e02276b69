#pragma once

#include <vector>

#include "core/result.h"
#include "crypto/ssh_key.h"
#include "record/trust.h"
#include "record/workspace.h"

namespace sluice::record {

// What `sluice audit --verify` found.
struct RecordVerification {
  size_t lines = 0;                      // note lines checked
  size_t refs = 0;                       // release refs checked (deployed, lkg, applied, candidate)
  std::vector<UntrustedEntry> problems;  // every line or ref that does not verify
};

// Checks every line of the record as the remote holds it (the notes and
// refs/sluice/* last fetched by Workspace::Sync) against `keys` only, with
// VerifyEventLine and ConfirmsRef: the same rules the controller applies,
// without trusting anything the workspace wrote or merged itself. Takes the
// workspace mutex. Errors: the notes cannot be listed.
Result<RecordVerification> VerifyRecord(Workspace& ws, const std::vector<crypto::PublicKey>& keys);

}  // namespace sluice::record
