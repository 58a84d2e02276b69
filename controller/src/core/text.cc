#include "core/text.h"

namespace sluice {

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when the bytes
// there are not one (RFC 3629, table 3-7 of the Unicode standard).
size_t SequenceAt(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // no overlong forms
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// The number of bytes of the maximal ill-formed subpart at s[i] (at least 1):
// a lead byte followed by as many valid continuation bytes as it allows.
size_t IllFormedAt(std::string_view s, size_t i) {
  size_t k = i + 1;
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t want = c >= 0xF0 && c <= 0xF4   ? 3
                : c >= 0xE0 && c <= 0xEF ? 2
                : c >= 0xC2 && c <= 0xDF ? 1
                                         : 0;
  while (want > 0 && k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) {
    // A truncated sequence ends before a byte that would make it invalid.
    if (k == i + 1) {
      const unsigned char d = static_cast<unsigned char>(s[k]);
      if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
          (c == 0xF4 && d > 0x8F)) {
        break;
      }
    }
    ++k;
    --want;
  }
  return k - i;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsContinuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = SequenceAt(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (size_t n = SequenceAt(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append(kReplacement);
      i += IllFormedAt(s, i);
    }
  }
  return out;
}

std::string_view TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  // The first byte left out continues a character: leave out its start too
  // (a character has at most 3 continuation bytes).
  for (size_t k = 0; k < 3 && end > 0 && IsContinuation(s[end]); ++k) --end;
  if (IsContinuation(s[end])) end = max_bytes;  // not UTF-8 there: cut bytes
  return s.substr(0, end);
}

std::string_view TailUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t start = s.size() - max_bytes;
  // Skip the continuation bytes of a character cut at the front (at most 3).
  for (size_t k = 0; k < 3 && start < s.size() && IsContinuation(s[start]); ++k) ++start;
  return s.substr(start);
}

std::string StripControl(std::string_view raw, bool keep_newlines) {
  const std::string s = ToValidUtf8(raw);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1B) {  // ESC: drop the whole escape sequence
      ++i;
      if (i < s.size() && s[i] == '[') {  // CSI: parameters, then one final byte
        ++i;
        while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7E)) ++i;
        if (i < s.size()) ++i;
      } else if (i < s.size() && (s[i] == ']' || s[i] == 'P' || s[i] == '_' || s[i] == '^')) {
        // OSC / DCS / APC / PM: a string up to BEL or ST (ESC \).
        ++i;
        while (i < s.size() && s[i] != '\a' &&
               !(s[i] == 0x1B && i + 1 < s.size() && s[i + 1] == '\\')) {
          ++i;
        }
        if (i < s.size()) i += s[i] == '\a' ? 1 : 2;
      } else if (i < s.size() && static_cast<unsigned char>(s[i]) >= 0x20 &&
                 static_cast<unsigned char>(s[i]) < 0x7F) {
        ++i;  // a two-character sequence (ESC c, ESC 7, ...)
      }
      continue;
    }
    if (c == '\n' || c == '\t') {
      out += keep_newlines ? static_cast<char>(c) : ' ';
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {  // other C0 controls (BEL, BS, CR, ...) and DEL
      ++i;
      continue;
    }
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      i += 2;  // a C1 control (U+0080..U+009F): 8-bit CSI and friends
      continue;
    }
    out += static_cast<char>(c);
    ++i;
  }
  return out;
}

}  // namespace sluice
