#pragma once

#include <string>
#include <vector>

#include "config/verification.h"
#include "core/cancel.h"

namespace sluice::verify {

struct CheckResult {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct VerificationResult {
  bool ok = false;
  std::string reason;
  std::vector<CheckResult> checks;
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual VerificationResult Verify(const config::Verification& v, CancelToken* cancel) = 0;
};

class DefaultVerifier final : public Verifier {
 public:
  VerificationResult Verify(const config::Verification& v, CancelToken* cancel) override;
};

}  // namespace sluice::verify
