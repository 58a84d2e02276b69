#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice {

// Base64 (RFC 4648 standard alphabet, padded, no line breaks). Pure.
std::string Base64Encode(std::string_view bytes);

// Decodes padded or unpadded base64 (standard alphabet); whitespace is not
// allowed. InvalidArgument on any other character or an impossible length.
// Pure.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace sluice
