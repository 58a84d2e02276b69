#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace sluice::config {

// One key of a pin's `artifact:` block to set. An empty `value` removes the
// key (a promoted artifact without a version must not keep the old one).
struct ArtifactField {
  std::string key;    // "digest", "version", "source", "promotedFrom"
  std::string value;  // the new scalar, unquoted
};

// Rewrites the `artifact:` block of a pin file's text so that each field in
// `fields` holds its new value, and keeps everything else as the user wrote
// it: comments (also those at the end of an edited line), key order, blank
// lines, unknown keys, the deploy and verification sections. This is a text
// edit on purpose: re-emitting the YAML would drop every comment.
//
// Rules: an existing key keeps its quoting style (plain, 'single' or
// "double") when the new value can be written that way, otherwise the value
// is double-quoted; values that YAML would not read back as the same string
// (`: `, ` #`, leading indicators, `null`, `true`, ...) are always quoted.
// A missing key is added after the last key of the block, at its indent.
//
// InvalidArgument naming `path` and the line, with what to do, when there is
// no top-level `artifact:` block, when it is written in flow style
// (`artifact: {...}`), or when a key to change holds a multi-line value.
// Pure: the caller re-parses the result with ParsePin to be sure.
Result<std::string> EditPinArtifact(std::string_view text, const std::vector<ArtifactField>& fields,
                                    const std::string& path);

// `value` as a YAML scalar that reads back as exactly `value`: plain when
// that is safe, else double-quoted with escapes. Pure.
std::string YamlScalar(std::string_view value);

}  // namespace sluice::config
