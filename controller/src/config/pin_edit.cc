#include "config/pin_edit.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <regex>

namespace sluice::config {
namespace {

struct Line {
  std::string text;  // without the line break
  bool cr = false;   // the line ended in "\r\n"
};

std::vector<Line> SplitLines(std::string_view text, bool* trailing_newline) {
  std::vector<Line> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    Line l;
    if (!raw.empty() && raw.back() == '\r') {
      l.cr = true;
      raw.remove_suffix(1);
    }
    l.text = std::string(raw);
    lines.push_back(std::move(l));
    if (nl == std::string_view::npos) {
      *trailing_newline = false;
      return lines;
    }
    pos = nl + 1;
  }
  *trailing_newline = true;
  return lines;
}

size_t Indent(const std::string& s) {
  size_t n = 0;
  while (n < s.size() && s[n] == ' ') ++n;
  return n;
}

// Blank or only a comment: YAML ignores it wherever it is.
bool IsFiller(const std::string& s) {
  size_t n = Indent(s);
  return n == s.size() || s[n] == '#';
}

std::string Where(const std::string& path, size_t index) {
  return path + ":" + std::to_string(index + 1) + ": ";
}

// If `line` is "<indent spaces><key>:" followed by a space or its end,
// returns the position just after the colon.
std::optional<size_t> KeyEnd(const std::string& line, size_t indent, const std::string& key) {
  if (Indent(line) != indent) return std::nullopt;
  if (line.compare(indent, key.size(), key) != 0) return std::nullopt;
  size_t colon = indent + key.size();
  // Allow spaces between the key and its colon, as YAML does.
  while (colon < line.size() && line[colon] == ' ') ++colon;
  if (colon >= line.size() || line[colon] != ':') return std::nullopt;
  if (colon + 1 < line.size() && line[colon + 1] != ' ') return std::nullopt;
  return colon + 1;
}

enum class Style { kPlain, kSingle, kDouble };

// The value after a key's colon, split into the gap before it, the value as
// written, and what follows it (spaces and a comment).
struct ValueSpan {
  size_t start = 0;  // where the value starts (after the gap)
  size_t end = 0;    // one past its end
  Style style = Style::kPlain;
  bool closed = true;  // a quoted value ends on this line
};

ValueSpan ScanValue(const std::string& line, size_t after_colon) {
  ValueSpan v;
  size_t p = after_colon;
  while (p < line.size() && line[p] == ' ') ++p;
  v.start = p;
  if (p < line.size() && line[p] == '"') {
    v.style = Style::kDouble;
    size_t q = p + 1;
    while (q < line.size() && line[q] != '"') q += line[q] == '\\' ? 2 : 1;
    v.closed = q < line.size();
    v.end = std::min(q + 1, line.size());
    return v;
  }
  if (p < line.size() && line[p] == '\'') {
    v.style = Style::kSingle;
    size_t q = p + 1;
    while (q < line.size()) {
      if (line[q] == '\'') {
        if (q + 1 < line.size() && line[q + 1] == '\'') {
          q += 2;
          continue;
        }
        break;
      }
      ++q;
    }
    v.closed = q < line.size();
    v.end = std::min(q + 1, line.size());
    return v;
  }
  // Plain: up to " #" (a comment) or the end, trailing spaces excluded.
  size_t end = line.size();
  for (size_t q = p; q < line.size(); ++q) {
    if (line[q] == '#' && q > 0 && line[q - 1] == ' ') {
      end = q;
      break;
    }
  }
  if (p < line.size() && line[p] == '#') end = p;  // no value, only a comment
  while (end > p && line[end - 1] == ' ') --end;
  v.end = end;
  return v;
}

bool IsPrintable(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool LooksSpecial(std::string_view s) {
  static const char* kWords[] = {"null",  "Null",  "NULL",  "~",   "true", "True", "TRUE",
                                 "false", "False", "FALSE", "yes", "Yes",  "YES",  "no",
                                 "No",    "NO",    "on",    "On",  "ON",   "off",  "Off",
                                 "OFF",   "y",     "Y",     "n",   "N",    "<<",   "="};
  for (const char* w : kWords) {
    if (s == w) return true;
  }
  // Anything another YAML reader would take for a number (2.6, 10, 1e3,
  // 0x1F, .inf): a version such as 2.10 must not turn into 2.1.
  static const std::regex kNumber(
      R"(^[-+]?(([0-9][0-9_]*)?\.?[0-9_]*([eE][-+]?[0-9]+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|\.(inf|Inf|INF|nan|NaN|NAN))$)");
  return std::regex_match(std::string(s), kNumber) &&
         std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool PlainSafe(std::string_view s) {
  if (s.empty() || !IsPrintable(s)) return false;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) {
    return false;
  }
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) {
    return false;
  }
  return !LooksSpecial(s);
}

std::string DoubleQuoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string SingleQuoted(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string Render(std::string_view value, Style style) {
  switch (style) {
    case Style::kDouble:
      return DoubleQuoted(value);
    case Style::kSingle:
      return IsPrintable(value) ? SingleQuoted(value) : DoubleQuoted(value);
    case Style::kPlain:
      break;
  }
  return YamlScalar(value);
}

}  // namespace

std::string YamlScalar(std::string_view value) {
  return PlainSafe(value) ? std::string(value) : DoubleQuoted(value);
}

Result<std::string> EditPinArtifact(std::string_view text, const std::vector<ArtifactField>& fields,
                                    const std::string& path) {
  bool trailing_newline = true;
  std::vector<Line> lines = SplitLines(text, &trailing_newline);

  // The top-level `artifact:` key.
  std::optional<size_t> head;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (auto end = KeyEnd(lines[i].text, 0, "artifact")) {
      ValueSpan v = ScanValue(lines[i].text, *end);
      if (v.start != v.end) {
        return Status::InvalidArgument(
            Where(path, i) +
            "artifact is written on one line (flow style); write it as a block, one key per "
            "line (artifact:\\n  image: ...\\n  digest: ...), so that sluice promote can edit it "
            "and keep your comments");
      }
      head = i;
      break;
    }
  }
  if (!head) {
    return Status::InvalidArgument(
        path +
        ":1: no top-level `artifact:` block to update; the pin must have artifact.image "
        "and artifact.digest (see docs/configuration.md)");
  }

  // The block: every line after the key up to the next content at column 0.
  size_t block_end = *head + 1;
  while (block_end < lines.size()) {
    const std::string& l = lines[block_end].text;
    if (!IsFiller(l) && Indent(l) == 0) break;
    ++block_end;
  }
  size_t indent = 2;
  size_t last_content = *head;  // the last line of the block's last entry
  for (size_t i = *head + 1; i < block_end; ++i) {
    if (IsFiller(lines[i].text)) continue;
    if (last_content == *head) indent = Indent(lines[i].text);
    last_content = i;
  }

  std::vector<std::string> missing;
  std::vector<size_t> to_remove;
  for (const ArtifactField& f : fields) {
    std::optional<size_t> at;
    size_t after_colon = 0;
    for (size_t i = *head + 1; i < block_end; ++i) {
      if (auto end = KeyEnd(lines[i].text, indent, f.key)) {
        at = i;
        after_colon = *end;
        break;
      }
    }
    if (!at) {
      if (!f.value.empty())
        missing.push_back(std::string(indent, ' ') + f.key + ": " + YamlScalar(f.value));
      continue;
    }
    std::string& line = lines[*at].text;
    ValueSpan v = ScanValue(line, after_colon);
    // A value that goes on below its key (a block scalar, a nested map, a
    // continued plain scalar) is not a one-line scalar to replace.
    bool continued = false;
    for (size_t j = *at + 1; j < block_end; ++j) {
      const std::string& next = lines[j].text;
      if (IsFiller(next)) continue;
      continued = Indent(next) > indent;
      break;
    }
    std::string_view written = std::string_view(line).substr(v.start, v.end - v.start);
    if (!v.closed || continued || written == "|" || written == ">" || written.starts_with("|") ||
        written.starts_with(">") || written.starts_with("&") || written.starts_with("*") ||
        written.starts_with("!")) {
      return Status::InvalidArgument(Where(path, *at) + "artifact." + f.key +
                                     " is not a one-line value; write it as `" + f.key +
                                     ": <value>` on one line so that sluice promote can "
                                     "update it");
    }
    if (f.value.empty()) {
      to_remove.push_back(*at);
      continue;
    }
    std::string tail = line.substr(v.end);
    if (v.start == v.end && !tail.empty() && tail.front() == '#') tail = " " + tail;
    std::string gap = line.substr(after_colon, v.start - after_colon);
    if (gap.empty()) gap = " ";
    line = line.substr(0, after_colon) + gap + Render(f.value, v.style) + tail;
  }

  // Removals and insertions, from the bottom up so indices stay valid.
  std::sort(to_remove.begin(), to_remove.end());
  if (!missing.empty()) {
    size_t insert_at = last_content + 1;
    size_t removed_before =
        std::count_if(to_remove.begin(), to_remove.end(), [&](size_t r) { return r < insert_at; });
    for (auto it = to_remove.rbegin(); it != to_remove.rend(); ++it) {
      lines.erase(lines.begin() + static_cast<long>(*it));
    }
    insert_at -= removed_before;
    bool cr = lines[*head].cr;
    std::vector<Line> added;
    for (auto& m : missing) added.push_back(Line{std::move(m), cr});
    lines.insert(lines.begin() + static_cast<long>(insert_at), added.begin(), added.end());
  } else {
    for (auto it = to_remove.rbegin(); it != to_remove.rend(); ++it) {
      lines.erase(lines.begin() + static_cast<long>(*it));
    }
  }

  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i].text;
    if (i + 1 < lines.size() || trailing_newline) out += lines[i].cr ? "\r\n" : "\n";
  }
  return out;
}

}  // namespace sluice::config
