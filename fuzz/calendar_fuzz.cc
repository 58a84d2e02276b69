// Fuzzes the freeze calendars of gates/: gates::ParseIcsCalendar (libical,
// recurrences expanded over one year) and gates::ParseYamlCalendar.
// Contract: never throws or crashes; every failure is a Status.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/time_format.h"
#include "gates/calendar.h"
#include "gates/time_zone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const date::time_zone* const zone = [] {
    auto z = sluice::gates::LocateTimeZone("Europe/Berlin");
    if (!z.ok()) std::abort();  // no tzdata: the target cannot run at all
    return *z;
  }();
  static const sluice::TimePoint from = *sluice::ParseRfc3339("2026-01-01T00:00:00Z");
  static const sluice::TimePoint to = *sluice::ParseRfc3339("2027-01-01T00:00:00Z");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sluice::gates::ParseIcsCalendar(text, zone, from, to);
  (void)sluice::gates::ParseYamlCalendar(text, zone);
  return 0;
}
