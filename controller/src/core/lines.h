#pragma once

#include <string_view>

namespace sluice {

// Calls `fn(line)` for each '\n'-separated line of `text`, without the
// newline; a final newline adds no empty line. `line` views `text`. Pure.
template <class Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    fn(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

}  // namespace sluice
