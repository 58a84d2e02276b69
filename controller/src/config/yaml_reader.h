#pragma once

// Internal to the config module: typed, line-aware access to yaml-cpp nodes.
// Every getter reports its problems as diagnostics instead of throwing, so a
// parser can walk a whole file and collect every problem in one pass.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"

namespace sluice::config::internal {

// Maps the dotted key path of a value ("approval.from[1]") to its 1-based
// line. Filled while parsing when a caller asks for it (cross-file checks in
// ValidateRepository report on the line of the offending value).
using LineIndex = std::map<std::string, int>;

// Collects the diagnostics of one file. Not thread-safe; one per parse.
class FileDiags {
 public:
  // `out` and `lines` (optional) must outlive this object.
  FileDiags(std::string path, Diagnostics& out, LineIndex* lines = nullptr)
      : path_(std::move(path)), out_(out), lines_(lines), first_(out.size()) {}

  void Add(int line, std::string message);
  void Add(const YAML::Node& node, std::string message);

  // Remembers the line of the value at `where` (no-op without a LineIndex).
  void Record(const std::string& where, int line);

  // Orders the diagnostics added through this object by line (stable), so
  // a file's problems read top to bottom.
  void SortByLine();

  // True while no diagnostic has been added through this object.
  bool ok() const { return count_ == 0; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Diagnostics& out_;
  LineIndex* lines_;
  size_t first_;
  int count_ = 0;
};

// The 1-based line of `node`, or 0 when it has none (undefined or synthetic).
int LineOf(const YAML::Node& node);

// `text` for a message: at most 60 bytes, control bytes escaped as \xNN.
std::string Quote(std::string_view text);

// How a value looks, for "got ..." messages: "'two'", "a map", "a list",
// "nothing".
std::string Describe(const YAML::Node& node);

// The candidate closest to `word` (edit distance <= 2, or equal once case,
// '_' and '-' are ignored), or "" when none is close.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// " did you mean 'x'?" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

// "<where>.<key>", or "<key>" at the top level; "<where>[i]" for items.
std::string Child(const std::string& where, std::string_view key);
std::string Item(const std::string& where, size_t index);

// True for "http://host..." or "https://host..." (something after the scheme,
// no whitespace).
bool IsHttpUrl(std::string_view url);

// Parses one YAML document. Returns nullopt after adding a diagnostic on a
// syntax error (at the line yaml-cpp reports), on several documents, or on
// absurdly large input. An empty or comment-only text yields a Null node.
// Never throws.
std::optional<YAML::Node> LoadDocument(std::string_view text, FileDiags& diags);

enum class Req { kOptional, kRequired };

// Value converters. Each returns nullopt and adds a diagnostic naming
// `where` when the value has the wrong type or form. A Null value is an
// error ("has no value") for scalars.
std::optional<std::string> AsString(FileDiags& d, const YAML::Node& v, const std::string& where);
std::optional<int> AsInt(FileDiags& d, const YAML::Node& v, const std::string& where, int min,
                         int max);
std::optional<bool> AsBool(FileDiags& d, const YAML::Node& v, const std::string& where);
std::optional<double> AsNumber(FileDiags& d, const YAML::Node& v, const std::string& where);
std::optional<std::chrono::milliseconds> AsDuration(FileDiags& d, const YAML::Node& v,
                                                    const std::string& where);
// A list of non-empty strings; Null is an empty list. Items are recorded in
// the LineIndex as "<where>[i]".
std::optional<std::vector<std::string>> AsStringList(FileDiags& d, const YAML::Node& v,
                                                     const std::string& where);

// A view of one YAML map that knows its allowed keys. Construction reports
// every unknown key (with the known keys and a suggestion) and a value that
// is not a map; a Null value is an empty map.
class MapReader {
 public:
  // `where` is the dotted path of this map ("" for the document root).
  // `owner_line` is where "X is required" problems are reported (the line of
  // the key owning this map).
  MapReader(FileDiags& d, const YAML::Node& node, std::string where, int owner_line,
            std::vector<std::string> known);

  // False if the node was not a map (already reported).
  bool valid() const { return valid_; }
  bool empty() const { return entries_.empty(); }

  // Present with a non-null value.
  bool Has(std::string_view key) const;
  // Present at all (possibly Null).
  bool Present(std::string_view key) const;
  // The value, or an undefined node when absent.
  YAML::Node Get(std::string_view key) const;
  // Line of the key, or owner_line when absent.
  int KeyLine(std::string_view key) const;
  // Line of the value if it has one, else of its key.
  int ValueLine(std::string_view key) const;
  std::string Where(std::string_view key) const { return Child(where_, key); }
  const std::string& where() const { return where_; }
  int owner_line() const { return owner_line_; }
  FileDiags& diags() { return d_; }

  // Reports "<where.key> is required[: hint]" at owner_line.
  void Missing(std::string_view key, std::string_view hint = "");

  // Typed getters: nullopt when absent (and reported if required) or on
  // error (reported). A key present with no value is reported.
  std::optional<std::string> String(std::string_view key, Req req = Req::kOptional);
  std::optional<int> Int(std::string_view key, int min, int max, Req req = Req::kOptional);
  std::optional<bool> Bool(std::string_view key, Req req = Req::kOptional);
  std::optional<double> Number(std::string_view key, Req req = Req::kOptional);
  std::optional<std::chrono::milliseconds> Duration(std::string_view key, Req req = Req::kOptional);
  std::optional<std::vector<std::string>> StringList(std::string_view key,
                                                     Req req = Req::kOptional);
  // When `key` is present, reads it with the typed getter above into `out`
  // (left unchanged when absent). False only when present but invalid
  // (already reported), so parsers write `if (!m.Read("k", x)) ok = false;`.
  bool Read(std::string_view key, bool& out);
  bool Read(std::string_view key, std::string& out);
  bool Read(std::string_view key, std::chrono::milliseconds& out);
  bool Read(std::string_view key, std::optional<std::chrono::milliseconds>& out);

  // One of `allowed` (exact match); otherwise reports the choices.
  std::optional<std::string> Enum(std::string_view key, const std::vector<std::string>& allowed,
                                  Req req = Req::kOptional);

 private:
  bool CheckPresent(std::string_view key, Req req);

  FileDiags& d_;
  std::string where_;
  int owner_line_;
  bool valid_ = true;
  // Keys in document order; a duplicate key keeps the last value.
  std::vector<std::pair<std::string, std::pair<YAML::Node, YAML::Node>>> entries_;
};

}  // namespace sluice::config::internal
