#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Byte hygiene for text that comes from outside (child output, commit
// metadata, files, HTTP): what a JSON writer, a terminal or the dashboard may
// be given. All pure; no allocation beyond the result.

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool ValidUtf8(std::string_view s);

// `s` with every ill-formed sequence replaced by U+FFFD (one per maximal
// ill-formed subpart, as nlohmann::json's error_handler_t::replace does).
std::string ToValidUtf8(std::string_view s);

// The longest prefix of `s` of at most `max_bytes` bytes that does not end
// inside a UTF-8 character: a cut never splits a multi-byte sequence. Bytes
// that are not UTF-8 at all are cut like single bytes.
std::string_view TruncateUtf8(std::string_view s, size_t max_bytes);

// The longest suffix of `s` of at most `max_bytes` bytes that does not start
// inside a UTF-8 character.
std::string_view TailUtf8(std::string_view s, size_t max_bytes);

// `s` made safe to show on a terminal or a web page as plain text: valid
// UTF-8 (ToValidUtf8), without terminal escape sequences (ESC [ ... CSI,
// ESC ] ... OSC up to BEL or ESC \, and any other ESC + one character), and
// without C0 and C1 control characters or DEL. With `keep_newlines`, '\n' and
// '\t' stay (a multi-line text such as command output); otherwise they become
// one space each. '\r' is always dropped.
std::string StripControl(std::string_view s, bool keep_newlines = true);

}  // namespace sluice
