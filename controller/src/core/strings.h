#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/lines.h"

namespace sluice {

// The first 12 hex digits of a commit id, as every message and report shows
// it ("c0ffee123456"). Shorter input comes back whole. Pure.
inline std::string ShortId(std::string_view id) { return std::string(id.substr(0, 12)); }

// `items` joined by `sep` ("a, b, c"); "" for none. A separator goes in
// only once the output has begun, so leading empty items add nothing. Pure.
std::string Join(const std::vector<std::string>& items, std::string_view sep);

// "alice, bob", or "nobody" for no names. Pure.
inline std::string NamesOrNobody(const std::vector<std::string>& names) {
  std::string joined = Join(names, ", ");
  return joined.empty() ? "nobody" : joined;
}

// The '\n'-separated lines of `text` (ForEachLine's rules: a final newline
// adds no empty line; '\r' is kept). The views point into `text`. Pure.
std::vector<std::string_view> SplitLines(std::string_view text);

}  // namespace sluice
