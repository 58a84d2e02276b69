#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/ssh_key.h"

namespace sluice::crypto {

// SSH signatures (OpenSSH PROTOCOL.sshsig) with Ed25519 keys and SHA-512,
// made and checked in-process with OpenSSL, so `ssh-keygen -Y verify -n NS`
// accepts what SshSigSign makes and SshSigVerify accepts what
// `ssh-keygen -Y sign -n NS` makes. Pure functions; thread-safe.

// The binary SSHSIG blob signing `message` in namespace `ns` (not armored).
// Internal if OpenSSL fails.
Result<std::string> SshSigSign(const PrivateKey& key, std::string_view ns,
                               std::string_view message);

// Checks a binary SSHSIG blob over `message` in namespace `ns` against
// `keys`. Returns the index in `keys` of the signer; InvalidArgument for a
// malformed blob or another namespace / algorithm, NotFound when the signer
// is not among `keys`, FailedPrecondition when the signature does not match.
Result<size_t> SshSigVerify(std::string_view blob, std::string_view ns, std::string_view message,
                            const std::vector<PublicKey>& keys);

// "-----BEGIN SSH SIGNATURE-----" armor, 70 columns, as ssh-keygen writes.
std::string ArmorSshSig(std::string_view blob);
// The blob inside an armored signature; InvalidArgument when not armored.
Result<std::string> DearmorSshSig(std::string_view text);

}  // namespace sluice::crypto
