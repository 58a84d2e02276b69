// CommitInfo::Subject and CommitInfo::Trailer: pure parsing of a commit
// message, following git's rules for trailers (git interpret-trailers).

#include <algorithm>
#include <cctype>
#include <string_view>

#include "core/strings.h"
#include "git/repo.h"

namespace sluice::git {

namespace {

// The lines of `text`, each without a trailing '\r'.
std::vector<std::string_view> SplitLinesNoCr(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  for (auto& line : lines) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  return lines;
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](unsigned char c) { return std::isspace(c) != 0; });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Position of the ':' that ends the token of a trailer line ("Key: v",
// "Key : v"), or npos. As in git, a token is letters, digits and '-',
// optionally followed by whitespace before the separator.
size_t TrailerSeparator(std::string_view line) {
  bool seen_space = false;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == ':') return i == 0 ? std::string_view::npos : i;
    if (!seen_space && (std::isalnum(c) || c == '-')) continue;
    if (i != 0 && std::isspace(c)) {
      seen_space = true;
      continue;
    }
    break;
  }
  return std::string_view::npos;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string CommitInfo::Subject() const {
  size_t nl = message.find('\n');
  std::string subject = message.substr(0, nl);
  if (!subject.empty() && subject.back() == '\r') subject.pop_back();
  return subject;
}

std::vector<std::string> CommitInfo::Trailer(const std::string& key) const {
  std::vector<std::string_view> lines = SplitLinesNoCr(message);

  // The title paragraph never holds trailers.
  size_t i = 0;
  while (i < lines.size() && IsBlank(lines[i])) ++i;
  while (i < lines.size() && !IsBlank(lines[i])) ++i;
  size_t body_start = i;

  // The last paragraph: skip trailing blank lines, then back up to the blank
  // line before it.
  size_t end = lines.size();
  while (end > body_start && IsBlank(lines[end - 1])) --end;
  size_t start = end;
  while (start > body_start && !IsBlank(lines[start - 1])) --start;
  if (start == end) return {};

  // git accepts the paragraph as trailers when every line is a trailer (or a
  // continuation or comment), or when a git-generated trailer is present and
  // at least a quarter of the lines are trailers.
  int trailer_lines = 0, other_lines = 0;
  bool git_generated = false;
  bool previous_was_trailer = false;
  for (size_t j = start; j < end; ++j) {
    std::string_view line = lines[j];
    if (line.front() == '#') continue;
    if (std::isspace(static_cast<unsigned char>(line.front())) && previous_was_trailer) continue;
    if (line.rfind("Signed-off-by: ", 0) == 0 ||
        line.rfind("(cherry picked from commit ", 0) == 0) {
      git_generated = true;
      ++trailer_lines;
      previous_was_trailer = true;
      continue;
    }
    previous_was_trailer = TrailerSeparator(line) != std::string_view::npos;
    previous_was_trailer ? ++trailer_lines : ++other_lines;
  }
  bool is_trailer_block = (trailer_lines > 0 && other_lines == 0) ||
                          (git_generated && trailer_lines * 3 >= other_lines);
  if (!is_trailer_block) return {};

  std::vector<std::string> values;
  bool collecting = false;  // the previous trailer matched `key`
  for (size_t j = start; j < end; ++j) {
    std::string_view line = lines[j];
    if (line.front() == '#') continue;
    if (std::isspace(static_cast<unsigned char>(line.front()))) {
      // A continuation line folds into the previous trailer's value.
      if (collecting && !values.empty()) {
        std::string_view more = Trim(line);
        if (!more.empty()) values.back() += (values.back().empty() ? "" : " ") + std::string(more);
      }
      continue;
    }
    size_t sep = TrailerSeparator(line);
    collecting = sep != std::string_view::npos && EqualsIgnoreCase(Trim(line.substr(0, sep)), key);
    if (collecting) values.emplace_back(Trim(line.substr(sep + 1)));
  }
  return values;
}

}  // namespace sluice::git
