#include "core/duration.h"

#include <cctype>
#include <cstdint>
#include <limits>

namespace sluice {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid duration \"" + std::string(text) +
                                   "\": " + std::string(why) +
                                   " (use e.g. 90s, 5m, 1h30m, 2d; units ms, s, m, h, d)");
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return std::chrono::milliseconds(0);
  std::int64_t total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return bad("expected a number");
    std::int64_t n = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > std::numeric_limits<std::int64_t>::max() / 10 / 1000 / 86400) return bad("too large");
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    std::int64_t scale;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60 * 1000;
    else if (unit == "h")
      scale = 3600 * 1000;
    else if (unit == "d")
      scale = 86400 * 1000;
    else if (unit.empty())
      return bad("missing unit");
    else
      return bad("unknown unit \"" + std::string(unit) + "\"");
    // 100 years is beyond any sensible timeout or soak; it also keeps the sum
    // far from overflowing however many terms there are.
    constexpr std::int64_t kMaxMs = 100LL * 365 * 86400 * 1000;
    if (n > kMaxMs / scale || total_ms + n * scale > kMaxMs) return bad("longer than 100 years");
    total_ms += n * scale;
  }
  return std::chrono::milliseconds(total_ms);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  const std::pair<std::int64_t, const char*> units[] = {
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& [scale, name] : units) {
    if (ms >= scale) {
      out += std::to_string(ms / scale);
      out += name;
      ms %= scale;
    }
  }
  return out;
}

}  // namespace sluice
