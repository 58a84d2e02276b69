#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// The process-wide set of secret values the controller holds (forge token,
// Git password, webhook and notification secrets, Slack webhook URLs), so
// that every place output leaves the process (adapter output in the record
// and logs, error messages) can redact them without knowing where they came
// from (SPEC 1.3 rule 5).
//
// RegisterSecret adds `value` (values shorter than kMinRegisteredSecret are
// ignored: redacting them would mangle ordinary text). Both functions are
// thread-safe; the set only grows for the life of the process.
inline constexpr size_t kMinRegisteredSecret = 4;
void RegisterSecret(std::string_view value);

// A copy of every registered secret, longest first.
std::vector<std::string> RegisteredSecrets();

// `text` with every registered secret replaced by "***". Pure apart from
// reading the set.
std::string RedactRegisteredSecrets(std::string text);

}  // namespace sluice
