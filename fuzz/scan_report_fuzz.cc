// Fuzzes the scan report parsers of evidence/: ParseTrivyJson, ParseGrypeJson,
// ParseSarif, and DetectAndParseScanReport (format told from the content).
// Contract: never throws or crashes; every failure is a Status.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "evidence/scan_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sluice::evidence::ParseTrivyJson(text);
  (void)sluice::evidence::ParseGrypeJson(text);
  (void)sluice::evidence::ParseSarif(text);
  (void)sluice::evidence::DetectAndParseScanReport("report.json", text);
  return 0;
}
