#include "cli/trust_config.h"

#include <algorithm>

namespace sluice::cli {

void AddTrustOptions(CLI::App& cmd, CommonOptions& opts, bool with_signing_key) {
  cmd.add_option("--controller-keys", opts.trust.controller_keys_file,
                 "A file of `ssh-ed25519 AAAA... comment` lines: the public keys of every "
                 "controller replica; record entries signed by none of them (nor by this "
                 "workdir's own key) are ignored and reported (trust.controllerKeys)");
  if (with_signing_key) {
    cmd.add_option("--signing-key", opts.trust.signing_key_file,
                   "The controller's OpenSSH ed25519 private key (unencrypted) that signs the "
                   "record (trust.signingKey); default: <workdir>/controller-key, generated on "
                   "first use");
  }
}

std::vector<std::string> GivenTrustFlags(const CLI::App& cmd) {
  std::vector<std::string> given;
  for (const char* f : {"--controller-keys", "--signing-key"}) {
    try {
      if (cmd.count(f) > 0) given.emplace_back(f);
    } catch (const CLI::Error&) {
      // Not an option of this command.
    }
  }
  return given;
}

Status LoadTrustConfig(const std::string& path, const YAML::Node& trust, CommonOptions& opts,
                       const std::vector<std::string>& explicit_flags) {
  auto given = [&](const std::string& flag) {
    return std::find(explicit_flags.begin(), explicit_flags.end(), flag) != explicit_flags.end();
  };
  const std::string at = path + ":" + std::to_string(trust.Mark().line + 1) + ": ";
  if (trust.IsNull()) return Status::Ok();
  if (!trust.IsMap()) {
    return Status::InvalidArgument(at + "trust must be a mapping (signingKey, controllerKeys)");
  }
  for (const auto& kv : trust) {
    std::string key = kv.first.as<std::string>("");
    std::string where = path + ":" + std::to_string(kv.first.Mark().line + 1) + ": ";
    if (key == "bootstrap") continue;  // the policy chain of custody reads it
    if (!kv.second.IsScalar()) {
      return Status::InvalidArgument(where + "trust." + key + " must be a file path");
    }
    if (key == "signingKey") {
      if (!given("--signing-key")) opts.trust.signing_key_file = kv.second.Scalar();
    } else if (key == "controllerKeys") {
      if (!given("--controller-keys")) opts.trust.controller_keys_file = kv.second.Scalar();
    } else {
      return Status::InvalidArgument(where + "unknown key 'trust." + key +
                                     "' (known: signingKey, controllerKeys, bootstrap)");
    }
  }
  return Status::Ok();
}

}  // namespace sluice::cli
