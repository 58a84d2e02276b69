#include "config/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <exception>
#include <sstream>
#include <string>

#include "core/duration.h"
#include "core/text.h"

namespace sluice::config::internal {
namespace {

// Larger files are not configuration; refusing them keeps memory bounded.
constexpr size_t kMaxFileBytes = 4 * 1024 * 1024;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lowercase without '_' and '-': "max_ratio_to_baseline" ~ "maxRatioToBaseline".
std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '-') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Records where each document starts; ignores everything else.
class DocumentCounter : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Whether yaml-cpp's single-document Load could stop short of the end of
// `text` without an error: a line that starts a document ("---", "...", a
// "%" directive), a line that begins with a flow indicator that separates or
// closes (',', ']', '}': yaml-cpp 0.7 does not advance past a stray one at
// the top level), or a top-level flow collection ('[' or '{' first) that such
// junk could follow. Only then is the separate counting parse needed; a
// file of block mappings (every pin and policy we write) is parsed once,
// which halves the YAML cost of `sluice plan` over 10,000 pins.
bool MayStopShort(std::string_view text) {
  bool first_content = true;
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(start, nl - start);
    start = nl + 1;
    size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;
    char c = line[first];
    if (c == ',' || c == ']' || c == '}') return true;
    if (first == 0 && (c == '%' || line.rfind("---", 0) == 0 || line.rfind("...", 0) == 0)) {
      return true;
    }
    if (first_content && (c == '[' || c == '{')) return true;
    first_content = false;
  }
  return false;
}

bool IsNullish(const YAML::Node& v) { return !v.IsDefined() || v.IsNull(); }

std::string NoValue(const std::string& where) {
  return where + " has no value; give it one or remove the key";
}

}  // namespace

void FileDiags::Add(int line, std::string message) {
  ++count_;
  out_.push_back(Diagnostic{path_, line < 0 ? 0 : line, std::move(message)});
}

void FileDiags::Add(const YAML::Node& node, std::string message) {
  Add(LineOf(node), std::move(message));
}

void FileDiags::SortByLine() {
  std::stable_sort(out_.begin() + static_cast<std::ptrdiff_t>(first_), out_.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
}

void FileDiags::Record(const std::string& where, int line) {
  if (lines_ != nullptr) (*lines_)[where] = line;
}

int LineOf(const YAML::Node& node) {
  try {
    int line = node.Mark().line;
    return line < 0 ? 0 : line + 1;
  } catch (const std::exception&) {
    return 0;
  }
}

std::string Quote(std::string_view text) {
  constexpr size_t kMax = 60;
  std::string out;
  const std::string_view head = TruncateUtf8(text, kMax);  // never half a character
  for (size_t i = 0; i < head.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(head[i]);
    if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMax) out += "...";
  return out;
}

std::string Describe(const YAML::Node& node) {
  if (IsNullish(node)) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "'" + Quote(node.Scalar()) + "'";
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = 3;
  const std::string norm = Normalize(word);
  for (const auto& c : candidates) {
    if (Normalize(c) == norm) return c;
    size_t d = EditDistance(Lower(word), Lower(c));
    // A 1- or 2-letter word is "close" to anything short; demand a real overlap.
    if (d < best_distance && d < c.size() && d < word.size()) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string m = ClosestMatch(word, candidates);
  if (m.empty() || m == word) return "";
  return " did you mean '" + m + "'?";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string Child(const std::string& where, std::string_view key) {
  if (where.empty()) return std::string(key);
  return where + "." + std::string(key);
}

std::string Item(const std::string& where, size_t index) {
  return where + "[" + std::to_string(index) + "]";
}

bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest[0] == '/') return false;
  return std::none_of(rest.begin(), rest.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20;
  });
}

std::optional<YAML::Node> LoadDocument(std::string_view text, FileDiags& diags) {
  if (text.size() > kMaxFileBytes) {
    diags.Add(0, "file is " + std::to_string(text.size()) +
                     " bytes, more than the 4 MiB a configuration file may have; split or "
                     "shorten it");
    return std::nullopt;
  }
  if (text.find('\0') != std::string_view::npos) {
    // Count lines up to the NUL so the user can find it.
    size_t pos = text.find('\0');
    int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + pos, '\n'));
    diags.Add(line, "file contains a NUL byte; it is not a text YAML file");
    return std::nullopt;
  }
  try {
    if (!MayStopShort(text)) {
      YAML::Node doc = YAML::Load(std::string(text));
      if (!doc.IsNull()) return doc;
      // Empty or comments only: the counting parse below says which.
    }
    // Count the documents first, with a bounded loop: yaml-cpp 0.7 does not
    // advance past a stray ',' at the top level, so YAML::LoadAll on ", a"
    // yields empty documents until memory runs out.
    DocumentCounter counter;
    {
      std::istringstream in{std::string(text)};
      YAML::Parser parser(in);
      for (int i = 0; i < 2 && parser.HandleNextDocument(counter); ++i) {
      }
    }
    if (counter.starts.empty()) return YAML::Node();  // empty or comments only
    if (counter.starts.size() > 1) {
      const YAML::Mark& second = counter.starts[1];
      if (second.pos == counter.starts[0].pos) {
        char c = second.pos >= 0 && static_cast<size_t>(second.pos) < text.size() ? text[second.pos]
                                                                                  : '?';
        diags.Add(second.line + 1, "YAML syntax error: unexpected '" + Quote(std::string(1, c)) +
                                       "' (column " + std::to_string(second.column + 1) +
                                       "); quote values that contain , [ ] { }");
      } else {
        diags.Add(second.line + 1,
                  "file holds more than one YAML document (separated by '---'); keep "
                  "exactly one");
      }
      return std::nullopt;
    }
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    int line = e.mark.line < 0 ? 0 : e.mark.line + 1;
    std::string msg = e.msg.empty() ? std::string("unparsable YAML") : e.msg;
    diags.Add(line, "YAML syntax error: " + Quote(msg) +
                        (e.mark.column >= 0 ? " (column " + std::to_string(e.mark.column + 1) + ")"
                                            : std::string()) +
                        "; fix the syntax (indentation, quoting, brackets)");
    return std::nullopt;
  } catch (const std::exception& e) {
    diags.Add(0, std::string("cannot parse YAML: ") + Quote(e.what()));
    return std::nullopt;
  }
}

std::optional<std::string> AsString(FileDiags& d, const YAML::Node& v, const std::string& where) {
  if (IsNullish(v)) {
    d.Add(v, NoValue(where));
    return std::nullopt;
  }
  if (!v.IsScalar()) {
    d.Add(v, where + " must be a string, got " + Describe(v));
    return std::nullopt;
  }
  if (v.Scalar().empty()) {
    d.Add(v, where + " is empty; give it a value or remove the key");
    return std::nullopt;
  }
  d.Record(where, LineOf(v));
  return v.Scalar();
}

std::optional<int> AsInt(FileDiags& d, const YAML::Node& v, const std::string& where, int min,
                         int max) {
  std::string want = "a whole number";
  if (max == INT_MAX) {
    want += " \u2265 " + std::to_string(min);
  } else {
    want += " from " + std::to_string(min) + " to " + std::to_string(max);
  }
  if (IsNullish(v) || !v.IsScalar()) {
    d.Add(v, where + " must be " + want + ", got " + Describe(v));
    return std::nullopt;
  }
  const std::string& s = v.Scalar();
  long long n = 0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, n);
  if (ec != std::errc() || ptr != last || first == last || n < min || n > max) {
    d.Add(v, where + " must be " + want + ", got " + Describe(v));
    return std::nullopt;
  }
  d.Record(where, LineOf(v));
  return static_cast<int>(n);
}

std::optional<bool> AsBool(FileDiags& d, const YAML::Node& v, const std::string& where) {
  if (!IsNullish(v) && v.IsScalar()) {
    const std::string& s = v.Scalar();
    d.Record(where, LineOf(v));
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  d.Add(v, where + " must be true or false, got " + Describe(v));
  return std::nullopt;
}

std::optional<double> AsNumber(FileDiags& d, const YAML::Node& v, const std::string& where) {
  if (!IsNullish(v) && v.IsScalar()) {
    const std::string& s = v.Scalar();
    double x = 0;
    const char* first = s.data();
    const char* last = s.data() + s.size();
    if (first != last && *first == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, last, x);
    if (ec == std::errc() && ptr == last && first != last && std::isfinite(x)) {
      d.Record(where, LineOf(v));
      return x;
    }
  }
  d.Add(v, where + " must be a number (e.g. 0.01 or 5), got " + Describe(v));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> AsDuration(FileDiags& d, const YAML::Node& v,
                                                    const std::string& where) {
  if (IsNullish(v) || !v.IsScalar()) {
    d.Add(v, where + " must be a duration such as 90s, 5m or 1h30m, got " + Describe(v));
    return std::nullopt;
  }
  const std::string& s = v.Scalar();
  // Longer texts are not durations anyone writes, and summing many terms
  // could overflow.
  if (s.size() > 32) {
    d.Add(v, where + " must be a duration such as 90s, 5m or 1h30m, got " + Describe(v));
    return std::nullopt;
  }
  Result<std::chrono::milliseconds> r = ParseDuration(s);
  if (!r.ok()) {
    d.Add(v, where + ": " + Quote(r.status().message()));
    return std::nullopt;
  }
  d.Record(where, LineOf(v));
  return *r;
}

std::optional<std::vector<std::string>> AsStringList(FileDiags& d, const YAML::Node& v,
                                                     const std::string& where) {
  std::vector<std::string> out;
  if (IsNullish(v)) return out;
  if (!v.IsSequence()) {
    d.Add(v, where + " must be a list of strings (e.g. [a, b]), got " + Describe(v));
    return std::nullopt;
  }
  bool ok = true;
  size_t i = 0;
  for (const auto& item : v) {
    std::string w = Item(where, i++);
    if (!IsNullish(item) && item.IsScalar() && !item.Scalar().empty()) {
      d.Record(w, LineOf(item));
      out.push_back(item.Scalar());
    } else {
      d.Add(item.IsDefined() && LineOf(item) > 0 ? LineOf(item) : LineOf(v),
            w + " must be a non-empty string, got " + Describe(item));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

MapReader::MapReader(FileDiags& d, const YAML::Node& node, std::string where, int owner_line,
                     std::vector<std::string> known)
    : d_(d), where_(std::move(where)), owner_line_(owner_line) {
  if (IsNullish(node)) return;
  if (!node.IsMap()) {
    valid_ = false;
    d_.Add(LineOf(node) > 0 ? LineOf(node) : owner_line_,
           (where_.empty() ? std::string("the file") : where_) +
               " must be a map of keys (known keys: " + JoinNames(known) + "), got " +
               Describe(node));
    return;
  }
  for (const auto& kv : node) {
    const YAML::Node& key = kv.first;
    if (IsNullish(key) || !key.IsScalar()) {
      d_.Add(LineOf(key) > 0 ? LineOf(key) : LineOf(node),
             "a key in " + (where_.empty() ? std::string("the file") : where_) + " is " +
                 Describe(key) + "; keys must be plain names (known keys: " + JoinNames(known) +
                 ")");
      continue;
    }
    const std::string& name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string msg = "unknown key '" + Quote(name) + "'" +
                        (where_.empty() ? std::string(" at the top level") : " in " + where_) + ";";
      std::string hint = DidYouMean(name, known);
      if (!hint.empty()) {
        msg += hint;
      } else if (name == "<<") {
        msg += " YAML merge keys are not supported, write the keys out;";
      }
      msg += " known keys: " + JoinNames(known);
      d_.Add(LineOf(key), std::move(msg));
      continue;
    }
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const auto& e) { return e.first == name; });
    if (it != entries_.end()) {
      it->second = {key, kv.second};  // YAML says keys are unique; keep the last
    } else {
      entries_.push_back({name, {key, kv.second}});
    }
  }
}

bool MapReader::Present(std::string_view key) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const auto& e) { return e.first == key; });
}

bool MapReader::Has(std::string_view key) const { return !IsNullish(Get(key)); }

YAML::Node MapReader::Get(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.first == key) return e.second.second;
  }
  return YAML::Node();
}

int MapReader::KeyLine(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.first == key) {
      int line = LineOf(e.second.first);
      return line > 0 ? line : owner_line_;
    }
  }
  return owner_line_;
}

int MapReader::ValueLine(std::string_view key) const {
  int line = LineOf(Get(key));
  return line > 0 ? line : KeyLine(key);
}

void MapReader::Missing(std::string_view key, std::string_view hint) {
  std::string msg = Where(key) + " is required";
  if (!hint.empty()) msg += ": " + std::string(hint);
  d_.Add(owner_line_, std::move(msg));
}

bool MapReader::CheckPresent(std::string_view key, Req req) {
  if (!Present(key)) {
    if (req == Req::kRequired) Missing(key);
    return false;
  }
  if (IsNullish(Get(key))) {
    d_.Add(KeyLine(key), req == Req::kRequired ? Where(key) + " is required but has no value"
                                               : NoValue(Where(key)));
    return false;
  }
  return true;
}

std::optional<std::string> MapReader::String(std::string_view key, Req req) {
  if (!CheckPresent(key, req)) return std::nullopt;
  return AsString(d_, Get(key), Where(key));
}

std::optional<int> MapReader::Int(std::string_view key, int min, int max, Req req) {
  if (!CheckPresent(key, req)) return std::nullopt;
  return AsInt(d_, Get(key), Where(key), min, max);
}

std::optional<bool> MapReader::Bool(std::string_view key, Req req) {
  if (!CheckPresent(key, req)) return std::nullopt;
  return AsBool(d_, Get(key), Where(key));
}

std::optional<double> MapReader::Number(std::string_view key, Req req) {
  if (!CheckPresent(key, req)) return std::nullopt;
  return AsNumber(d_, Get(key), Where(key));
}

std::optional<std::chrono::milliseconds> MapReader::Duration(std::string_view key, Req req) {
  if (!CheckPresent(key, req)) return std::nullopt;
  return AsDuration(d_, Get(key), Where(key));
}

std::optional<std::vector<std::string>> MapReader::StringList(std::string_view key, Req req) {
  if (!Present(key)) {
    if (req == Req::kRequired) Missing(key);
    return std::nullopt;
  }
  return AsStringList(d_, Get(key), Where(key));
}

std::optional<std::string> MapReader::Enum(std::string_view key,
                                           const std::vector<std::string>& allowed, Req req) {
  std::optional<std::string> s = String(key, req);
  if (!s) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *s) == allowed.end()) {
    std::string hint = DidYouMean(*s, allowed);
    d_.Add(Get(key), Where(key) + " must be one of " + JoinNames(allowed) + ", got '" + Quote(*s) +
                         "'" + (hint.empty() ? "" : ";" + hint));
    return std::nullopt;
  }
  return s;
}

namespace {

// Present -> typed getter -> stored; the shared body of MapReader::Read.
template <class T, class Get>
bool ReadPresent(MapReader& m, std::string_view key, Get get, T& out) {
  if (!m.Present(key)) return true;
  auto v = get();
  if (!v) return false;
  out = *v;
  return true;
}

}  // namespace

bool MapReader::Read(std::string_view key, bool& out) {
  return ReadPresent(
      *this, key, [&] { return Bool(key); }, out);
}
bool MapReader::Read(std::string_view key, std::string& out) {
  return ReadPresent(
      *this, key, [&] { return String(key); }, out);
}
bool MapReader::Read(std::string_view key, std::chrono::milliseconds& out) {
  return ReadPresent(
      *this, key, [&] { return Duration(key); }, out);
}
bool MapReader::Read(std::string_view key, std::optional<std::chrono::milliseconds>& out) {
  return ReadPresent(
      *this, key, [&] { return Duration(key); }, out);
}

}  // namespace sluice::config::internal
