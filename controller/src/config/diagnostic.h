#pragma once

#include <string>
#include <vector>

namespace sluice::config {

// One problem found in a repository file, reported as "path:line: message".
// `line` is 1-based; 0 means the problem concerns the whole file (it is then
// printed as "path: message"). The message says what is wrong and what to do.
struct Diagnostic {
  std::string path;
  int line = 0;
  std::string message;

  std::string ToString() const;
  bool operator==(const Diagnostic&) const = default;
};

using Diagnostics = std::vector<Diagnostic>;

// Joins diagnostics one per line.
std::string FormatDiagnostics(const Diagnostics& diags);

}  // namespace sluice::config
