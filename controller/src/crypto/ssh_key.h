#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base64.h"
#include "core/result.h"

// OpenSSL's key type, kept out of the header's users.
struct evp_pkey_st;

namespace sluice::crypto {

// Shares an immutable OpenSSL EVP_PKEY (freed with EVP_PKEY_free).
using PkeyPtr = std::shared_ptr<evp_pkey_st>;

// An Ed25519 public key as OpenSSH writes it (`ssh-ed25519 AAAA... comment`).
// Copyable; the OpenSSL key inside is built once and shared (immutable, so
// safe to use from several threads).
class PublicKey {
 public:
  // The 32 raw key bytes.
  const std::array<uint8_t, 32>& raw() const { return raw_; }
  const std::string& comment() const { return comment_; }
  // The SSH wire blob: string "ssh-ed25519", string key.
  std::string Blob() const;
  // `ssh-ed25519 <base64 blob>[ comment]`.
  std::string ToOpenSsh() const;
  // SHA256:<base64> as `ssh-keygen -l` prints it.
  std::string Fingerprint() const;
  evp_pkey_st* pkey() const { return pkey_.get(); }

  bool operator==(const PublicKey& o) const { return raw_ == o.raw_; }

  // Builds from raw bytes; Internal if OpenSSL refuses them.
  static Result<PublicKey> FromRaw(const std::array<uint8_t, 32>& raw, std::string comment);

 private:
  std::array<uint8_t, 32> raw_{};
  std::string comment_;
  PkeyPtr pkey_;
};

// An unencrypted Ed25519 private key. Copyable (shares the OpenSSL key).
class PrivateKey {
 public:
  const PublicKey& public_key() const { return public_; }
  const std::array<uint8_t, 32>& seed() const { return seed_; }
  evp_pkey_st* pkey() const { return pkey_.get(); }

  // Builds from the 32-byte seed; Internal if OpenSSL refuses it.
  static Result<PrivateKey> FromSeed(const std::array<uint8_t, 32>& seed, std::string comment);
  // A new random key (OpenSSL's CSPRNG); Internal on failure.
  static Result<PrivateKey> Generate(std::string comment);

 private:
  std::array<uint8_t, 32> seed_{};
  PublicKey public_;
  PkeyPtr pkey_;
};

// Parses one `ssh-ed25519 AAAA... [comment]` line. InvalidArgument (saying
// what is wrong) for another key type, bad base64 or a malformed blob.
Result<PublicKey> ParsePublicKeyLine(std::string_view line);

// Parses a file of public key lines (authorized_keys style; blank lines and
// `#` comments skipped). InvalidArgument naming `origin`:<line> at the first
// bad line.
Result<std::vector<PublicKey>> ParsePublicKeys(std::string_view text, const std::string& origin);

// Parses an OpenSSH private key file (openssh-key-v1, as written by
// `ssh-keygen -t ed25519 -N ''`). InvalidArgument for another format, a
// passphrase-protected key ("decrypt it with ssh-keygen -p"), another key
// type or a corrupt file.
Result<PrivateKey> ParseOpenSshPrivateKey(std::string_view text);

// The openssh-key-v1 file for `key` (unencrypted), which ssh-keygen reads.
std::string FormatOpenSshPrivateKey(const PrivateKey& key);

// Base64, as the rest of Sluice writes it (core/base64.h).
using ::sluice::Base64Decode;
using ::sluice::Base64Encode;

}  // namespace sluice::crypto
