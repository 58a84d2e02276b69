#include "crypto/ssh_key.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cctype>
#include <cstring>

#include "crypto/wire.h"

namespace sluice::crypto {
namespace {

constexpr std::string_view kKeyType = "ssh-ed25519";
constexpr std::string_view kPrivateBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kPrivateEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kAuthMagic{"openssh-key-v1\0", 15};

PkeyPtr Share(EVP_PKEY* p) {
  return PkeyPtr(p, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The raw key of an `ssh-ed25519` wire blob.
Result<std::array<uint8_t, 32>> KeyFromBlob(std::string_view blob) {
  wire::Reader r(blob);
  auto type = r.String();
  if (!type) return Status::InvalidArgument("truncated public key blob");
  if (*type != kKeyType) {
    return Status::InvalidArgument("key type " + std::string(*type) +
                                   " is not supported (use ssh-ed25519)");
  }
  auto key = r.String();
  if (!key || key->size() != 32 || !r.empty()) {
    return Status::InvalidArgument("malformed ssh-ed25519 public key blob");
  }
  std::array<uint8_t, 32> raw{};
  std::memcpy(raw.data(), key->data(), 32);
  return raw;
}

}  // namespace

Result<PublicKey> PublicKey::FromRaw(const std::array<uint8_t, 32>& raw, std::string comment) {
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (p == nullptr) return Status::Internal("OpenSSL refused an Ed25519 public key");
  PublicKey k;
  k.raw_ = raw;
  k.comment_ = std::move(comment);
  k.pkey_ = Share(p);
  return k;
}

std::string PublicKey::Blob() const {
  std::string blob;
  wire::PutString(&blob, kKeyType);
  wire::PutString(&blob, std::string_view(reinterpret_cast<const char*>(raw_.data()), raw_.size()));
  return blob;
}

std::string PublicKey::ToOpenSsh() const {
  std::string line = std::string(kKeyType) + " " + Base64Encode(Blob());
  if (!comment_.empty()) line += " " + comment_;
  return line;
}

std::string PublicKey::Fingerprint() const {
  unsigned char md[32];
  unsigned int n = 0;
  std::string blob = Blob();
  EVP_Digest(blob.data(), blob.size(), md, &n, EVP_sha256(), nullptr);
  std::string b64 = Base64Encode(std::string_view(reinterpret_cast<const char*>(md), n));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

Result<PrivateKey> PrivateKey::FromSeed(const std::array<uint8_t, 32>& seed, std::string comment) {
  EVP_PKEY* p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (p == nullptr) return Status::Internal("OpenSSL refused an Ed25519 private key");
  PrivateKey k;
  k.seed_ = seed;
  k.pkey_ = Share(p);
  std::array<uint8_t, 32> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(p, pub.data(), &len) != 1 || len != 32) {
    return Status::Internal("OpenSSL could not derive an Ed25519 public key");
  }
  auto pk = PublicKey::FromRaw(pub, std::move(comment));
  if (!pk.ok()) return pk.status();
  k.public_ = std::move(*pk);
  return k;
}

Result<PrivateKey> PrivateKey::Generate(std::string comment) {
  std::array<uint8_t, 32> seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    return Status::Internal("OpenSSL could not generate random bytes for a key");
  }
  return FromSeed(seed, std::move(comment));
}

Result<PublicKey> ParsePublicKeyLine(std::string_view line) {
  line = Trim(line);
  size_t sp = line.find_first_of(" \t");
  std::string_view type = line.substr(0, sp);
  if (type != kKeyType) {
    return Status::InvalidArgument("'" + std::string(type.substr(0, 40)) +
                                   "' is not an ssh-ed25519 public key (expected "
                                   "'ssh-ed25519 AAAA... comment')");
  }
  if (sp == std::string_view::npos) return Status::InvalidArgument("ssh-ed25519 key without data");
  std::string_view rest = Trim(line.substr(sp));
  size_t sp2 = rest.find_first_of(" \t");
  std::string_view b64 = rest.substr(0, sp2);
  std::string comment(sp2 == std::string_view::npos ? "" : Trim(rest.substr(sp2)));
  auto blob = Base64Decode(b64);
  if (!blob.ok()) return Status::InvalidArgument("ssh-ed25519 key data is not valid base64");
  auto raw = KeyFromBlob(*blob);
  if (!raw.ok()) return raw.status();
  return PublicKey::FromRaw(*raw, std::move(comment));
}

Result<std::vector<PublicKey>> ParsePublicKeys(std::string_view text, const std::string& origin) {
  std::vector<PublicKey> keys;
  size_t pos = 0;
  int lineno = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = Trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++lineno;
    if (line.empty() || line.front() == '#') continue;
    auto key = ParsePublicKeyLine(line);
    if (!key.ok()) {
      return Status::InvalidArgument(origin + ":" + std::to_string(lineno) + ": " +
                                     key.status().message());
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

Result<PrivateKey> ParseOpenSshPrivateKey(std::string_view text) {
  text = Trim(text);
  if (text.substr(0, kPrivateBegin.size()) != kPrivateBegin) {
    if (text.find("BEGIN") != std::string_view::npos) {
      return Status::InvalidArgument(
          "not an OpenSSH private key (PEM/PKCS#8 keys are not supported; write one with "
          "ssh-keygen -t ed25519 -N '')");
    }
    return Status::InvalidArgument("not an OpenSSH private key (no '" + std::string(kPrivateBegin) +
                                   "' line)");
  }
  size_t end = text.find(kPrivateEnd);
  if (end == std::string_view::npos) {
    return Status::InvalidArgument("OpenSSH private key without its END line");
  }
  std::string b64;
  for (char c : text.substr(kPrivateBegin.size(), end - kPrivateBegin.size())) {
    if (!std::isspace(static_cast<unsigned char>(c))) b64 += c;
  }
  auto data = Base64Decode(b64);
  if (!data.ok()) return Status::InvalidArgument("OpenSSH private key is not valid base64");
  const auto corrupt = [] { return Status::InvalidArgument("corrupt OpenSSH private key"); };
  wire::Reader r(*data);
  auto magic = r.Bytes(kAuthMagic.size());
  if (!magic || *magic != kAuthMagic) return corrupt();
  auto cipher = r.String();
  auto kdf = r.String();
  auto kdf_options = r.String();
  auto count = r.U32();
  if (!cipher || !kdf || !kdf_options || !count) return corrupt();
  if (*cipher != "none" || *kdf != "none") {
    return Status::InvalidArgument(
        "the OpenSSH private key is passphrase-protected (cipher " + std::string(*cipher) +
        "); only unencrypted keys are supported: remove the passphrase with ssh-keygen -p, or "
        "write a key with ssh-keygen -t ed25519 -N ''");
  }
  if (*count != 1) return Status::InvalidArgument("the key file must hold exactly one key");
  auto pub_blob = r.String();
  auto priv = r.String();
  if (!pub_blob || !priv) return corrupt();
  auto pub = KeyFromBlob(*pub_blob);
  if (!pub.ok()) return pub.status();
  wire::Reader p(*priv);
  auto check1 = p.U32();
  auto check2 = p.U32();
  if (!check1 || !check2 || *check1 != *check2) return corrupt();
  auto type = p.String();
  if (!type || *type != kKeyType) {
    return Status::InvalidArgument("the private key is not ssh-ed25519");
  }
  auto pub2 = p.String();
  auto secret = p.String();  // seed (32) || public key (32)
  auto comment = p.String();
  if (!pub2 || !secret || !comment || pub2->size() != 32 || secret->size() != 64) return corrupt();
  std::array<uint8_t, 32> seed{};
  std::memcpy(seed.data(), secret->data(), 32);
  auto key = PrivateKey::FromSeed(seed, std::string(*comment));
  if (!key.ok()) return key.status();
  if (key->public_key().raw() != *pub || std::memcmp(pub2->data(), pub->data(), 32) != 0 ||
      std::memcmp(secret->data() + 32, pub->data(), 32) != 0) {
    return Status::InvalidArgument(
        "corrupt OpenSSH private key (public and private halves differ)");
  }
  return key;
}

std::string FormatOpenSshPrivateKey(const PrivateKey& key) {
  const PublicKey& pub = key.public_key();
  std::string_view raw_pub(reinterpret_cast<const char*>(pub.raw().data()), 32);
  std::string priv;
  uint32_t check = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&check), sizeof check);
  wire::PutU32(&priv, check);
  wire::PutU32(&priv, check);
  wire::PutString(&priv, kKeyType);
  wire::PutString(&priv, raw_pub);
  std::string secret(reinterpret_cast<const char*>(key.seed().data()), 32);
  secret.append(raw_pub);
  wire::PutString(&priv, secret);
  wire::PutString(&priv, pub.comment());
  for (char pad = 1; priv.size() % 8 != 0; ++pad) priv.push_back(pad);

  std::string data(kAuthMagic);
  wire::PutString(&data, "none");
  wire::PutString(&data, "none");
  wire::PutString(&data, "");
  wire::PutU32(&data, 1);
  wire::PutString(&data, pub.Blob());
  wire::PutString(&data, priv);
  std::string b64 = Base64Encode(data);
  std::string out = std::string(kPrivateBegin) + "\n";
  for (size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  out += std::string(kPrivateEnd) + "\n";
  return out;
}

}  // namespace sluice::crypto
