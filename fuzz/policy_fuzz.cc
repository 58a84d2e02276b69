// Fuzzes config::ParseEnvironmentPolicy (environments/<env>/environment.yaml).
// Contract: never throws or crashes; nullopt comes with a diagnostic.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/policy.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::config::Diagnostics diags;
  auto policy =
      sluice::config::ParseEnvironmentPolicy(text, "environments/prod/environment.yaml", diags);
  SLUICE_FUZZ_CHECK(policy.has_value() || !diags.empty(),
                    "ParseEnvironmentPolicy failed without a diagnostic");
  return 0;
}
