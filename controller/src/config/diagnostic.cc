#include "config/diagnostic.h"

namespace sluice::config {

std::string Diagnostic::ToString() const {
  if (line <= 0) return path + ": " + message;
  return path + ":" + std::to_string(line) + ": " + message;
}

std::string FormatDiagnostics(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) {
    out += d.ToString();
    out += '\n';
  }
  return out;
}

}  // namespace sluice::config
