// Fuzzes the record's event reader: record::ParseNote over the whole input
// and record::ParseEventLine over each of its lines.
// Contract: never throws or crashes; an event that parses is written back by
// EventToJsonLine as one line that parses to the same event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "record/event.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sluice::record::ParseNote(text);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    auto event = sluice::record::ParseEventLine(text.substr(start, end - start));
    if (event.ok()) {
      std::string line = sluice::record::EventToJsonLine(*event);
      SLUICE_FUZZ_CHECK(line.find('\n') == std::string::npos, "event line holds a newline");
      auto again = sluice::record::ParseEventLine(line);
      SLUICE_FUZZ_CHECK(again.ok(), "a written event line does not parse");
      SLUICE_FUZZ_CHECK(sluice::record::EventToJsonLine(*again) == line,
                        "an event changes when written and read again");
    }
    start = end + 1;
  }
  return 0;
}
