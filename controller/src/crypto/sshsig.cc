#include "crypto/sshsig.h"

#include <openssl/evp.h>

#include <cctype>
#include <memory>

#include "crypto/wire.h"

namespace sluice::crypto {
namespace {

constexpr std::string_view kMagic = "SSHSIG";
constexpr uint32_t kVersion = 1;
constexpr std::string_view kHash = "sha512";
constexpr std::string_view kSigType = "ssh-ed25519";
constexpr std::string_view kBegin = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view kEnd = "-----END SSH SIGNATURE-----";

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// What Ed25519 signs (PROTOCOL.sshsig): the magic, namespace, reserved,
// hash algorithm and the SHA-512 of the message.
std::string SignedData(std::string_view ns, std::string_view message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(message.data(), message.size(), md, &n, EVP_sha512(), nullptr);
  std::string data(kMagic);
  wire::PutString(&data, ns);
  wire::PutString(&data, "");
  wire::PutString(&data, kHash);
  wire::PutString(&data, std::string_view(reinterpret_cast<const char*>(md), n));
  return data;
}

}  // namespace

Result<std::string> SshSigSign(const PrivateKey& key, std::string_view ns,
                               std::string_view message) {
  std::string data = SignedData(ns, message);
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      sig_len != sizeof sig) {
    return Status::Internal("OpenSSL could not make an Ed25519 signature");
  }
  std::string sig_blob;
  wire::PutString(&sig_blob, kSigType);
  wire::PutString(&sig_blob, std::string_view(reinterpret_cast<const char*>(sig), sig_len));
  std::string out(kMagic);
  wire::PutU32(&out, kVersion);
  wire::PutString(&out, key.public_key().Blob());
  wire::PutString(&out, ns);
  wire::PutString(&out, "");
  wire::PutString(&out, kHash);
  wire::PutString(&out, sig_blob);
  return out;
}

Result<size_t> SshSigVerify(std::string_view blob, std::string_view ns, std::string_view message,
                            const std::vector<PublicKey>& keys) {
  const auto bad = [](const std::string& what) {
    return Status::InvalidArgument("malformed SSH signature: " + what);
  };
  wire::Reader r(blob);
  auto magic = r.Bytes(kMagic.size());
  if (!magic || *magic != kMagic) return bad("no SSHSIG magic");
  auto version = r.U32();
  if (!version || *version != kVersion) return bad("unsupported version");
  auto pub_blob = r.String();
  auto sig_ns = r.String();
  auto reserved = r.String();
  auto hash = r.String();
  auto sig_blob = r.String();
  if (!pub_blob || !sig_ns || !reserved || !hash || !sig_blob || !r.empty()) {
    return bad("truncated or trailing data");
  }
  if (*sig_ns != ns) {
    return Status::InvalidArgument("signature is for namespace '" + std::string(*sig_ns) +
                                   "', not '" + std::string(ns) + "'");
  }
  if (*hash != kHash && *hash != "sha256") return bad("unknown hash " + std::string(*hash));
  wire::Reader s(*sig_blob);
  auto type = s.String();
  auto sig = s.String();
  if (!type || *type != kSigType || !sig || sig->size() != 64 || !s.empty()) {
    return bad("not an ssh-ed25519 signature");
  }
  size_t index = keys.size();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].Blob() == *pub_blob) {
      index = i;
      break;
    }
  }
  if (index == keys.size()) return Status::NotFound("signed by a key that is not listed");

  // SignedData with the blob's hash algorithm (ssh-keygen signs sha512).
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(message.data(), message.size(), md, &n, *hash == kHash ? EVP_sha512() : EVP_sha256(),
             nullptr);
  std::string data(kMagic);
  wire::PutString(&data, ns);
  wire::PutString(&data, *reserved);
  wire::PutString(&data, *hash);
  wire::PutString(&data, std::string_view(reinterpret_cast<const char*>(md), n));

  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, keys[index].pkey()) != 1) {
    return Status::Internal("OpenSSL could not start an Ed25519 verification");
  }
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Status::FailedPrecondition("signature does not match the signed content");
  }
  return index;
}

std::string ArmorSshSig(std::string_view blob) {
  std::string b64 = Base64Encode(blob);
  std::string out = std::string(kBegin) + "\n";
  for (size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  return out + std::string(kEnd) + "\n";
}

Result<std::string> DearmorSshSig(std::string_view text) {
  size_t b = text.find(kBegin);
  size_t e = text.find(kEnd);
  if (b == std::string_view::npos || e == std::string_view::npos || e < b) {
    return Status::InvalidArgument("not an armored SSH signature");
  }
  std::string b64;
  for (char c : text.substr(b + kBegin.size(), e - b - kBegin.size())) {
    if (!std::isspace(static_cast<unsigned char>(c))) b64 += c;
  }
  return Base64Decode(b64);
}

}  // namespace sluice::crypto
