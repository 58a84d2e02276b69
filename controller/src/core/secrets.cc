#include "core/secrets.h"

#include <algorithm>
#include <mutex>

namespace sluice {
namespace {

struct Registry {
  std::mutex mu;
  std::vector<std::string> values;  // longest first, no duplicates
};

Registry& TheRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace

void RegisterSecret(std::string_view value) {
  // A secret read from a file may carry a trailing newline on one path and
  // not on another: register the bare value.
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
  if (value.size() < kMinRegisteredSecret) return;
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mu);
  if (std::find(r.values.begin(), r.values.end(), value) != r.values.end()) return;
  r.values.emplace_back(value);
  std::stable_sort(r.values.begin(), r.values.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::vector<std::string> RegisteredSecrets() {
  Registry& r = TheRegistry();
  std::lock_guard lock(r.mu);
  return r.values;
}

std::string RedactRegisteredSecrets(std::string text) {
  for (const std::string& secret : RegisteredSecrets()) {
    size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) {
      text.replace(pos, secret.size(), "***");
      pos += 3;
    }
  }
  return text;
}

}  // namespace sluice
