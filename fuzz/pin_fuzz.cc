// Fuzzes config::ParsePin (a pin file, environments/<env>/apps/<app>.yaml).
// Contract: never throws or crashes; nullopt comes with a diagnostic.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/pin.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sluice::config::Diagnostics diags;
  auto pin = sluice::config::ParsePin(text, "environments/prod/apps/api.yaml", diags);
  SLUICE_FUZZ_CHECK(pin.has_value() || !diags.empty(), "ParsePin failed without a diagnostic");
  return 0;
}
