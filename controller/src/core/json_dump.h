#pragma once

#include <string>

#include "core/text.h"

namespace sluice {

// Serialises a nlohmann::json or nlohmann::ordered_json value the one way
// every writer of Sluice does: invalid UTF-8 in a string (a child's output, a
// commit's metadata, a file) becomes U+FFFD instead of throwing
// type_error.316. `indent` as json::dump (-1: one line). Never throws for
// invalid UTF-8. Header-only, so core needs no JSON dependency: the caller
// includes <nlohmann/json.hpp>.
template <class Json>
std::string DumpJson(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// Replaces every string in `j` (values, recursively; keys stay) by
// StripControl(string, keep_newlines=true): for JSON whose text a browser or
// a terminal shows (the dashboard's /api/v1/status, `status --format json`).
template <class Json>
void StripControlInStrings(Json& j) {
  if (j.is_string()) {
    j = StripControl(j.template get_ref<const typename Json::string_t&>());
  } else if (j.is_structured()) {
    for (auto& child : j) StripControlInStrings(child);
  }
}

}  // namespace sluice
