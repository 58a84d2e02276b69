#pragma once

// Helpers shared by the config module's tests.

#include <gtest/gtest.h>

#include <string>

#include "config/diagnostic.h"

namespace sluice::config::testing {

// A valid sha256 digest.
inline const std::string kDigest =
    "sha256:2312c00072c32ff91127edcd91fb421fd6a232dc2c3027d61bf09e6fc54c0cf5";

// Succeeds if some diagnostic prints as `prefix`... and contains `fragment`.
inline ::testing::AssertionResult HasDiagnostic(const Diagnostics& diags, const std::string& prefix,
                                                const std::string& fragment) {
  for (const auto& d : diags) {
    std::string s = d.ToString();
    if (s.rfind(prefix, 0) == 0 && s.find(fragment) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no diagnostic starting with \"" << prefix
                                       << "\" containing \"" << fragment << "\" in:\n"
                                       << FormatDiagnostics(diags);
}

}  // namespace sluice::config::testing
