// Fuzzes config::ParseRepoSettings (sluice.yaml at the repository root).
// Contract: never throws or crashes; nullopt comes with a diagnostic.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/settings.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::config::Diagnostics diags;
  auto settings = sluice::config::ParseRepoSettings(text, "sluice.yaml", diags);
  SLUICE_FUZZ_CHECK(settings.has_value() || !diags.empty(),
                    "ParseRepoSettings failed without a diagnostic");
  return 0;
}
