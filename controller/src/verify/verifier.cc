#include "verify/verifier.h"

namespace sluice::verify {

VerificationResult DefaultVerifier::Verify(const config::Verification& v, CancelToken* cancel) {
  (void)cancel;
  VerificationResult r;
  if (v.checks.empty()) {
    r.ok = true;
    r.reason = "no verification checks configured: verified on a successful apply";
    return r;
  }
  r.reason = "verification checks are configured, but this build cannot run them yet";
  return r;
}

}  // namespace sluice::verify
