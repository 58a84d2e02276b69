#include "crypto/set_digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sluice::crypto {

namespace {
[[noreturn]] void Fatal(const char* what) {
  // No key means no digest anyone may trust; every caller would only
  // compare wrongly. OpenSSL 3 always has SipHash and a seeded RNG.
  std::fprintf(stderr, "sluice: OpenSSL: %s\n", what);
  std::abort();
}
}  // namespace

void KeyedSetDigest::MacFree::operator()(evp_mac_ctx_st* ctx) const { EVP_MAC_CTX_free(ctx); }

KeyedSetDigest::KeyedSetDigest() {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  if (mac == nullptr) Fatal("no SIPHASH MAC");
  ctx_.reset(EVP_MAC_CTX_new(mac));
  EVP_MAC_free(mac);  // the context holds its own reference
  if (!ctx_) Fatal("cannot make a SIPHASH context");
  std::array<unsigned char, 16> key{};
  if (RAND_bytes(key.data(), key.size()) != 1) Fatal("no random bytes for a SipHash key");
  size_t out_size = 8;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &out_size),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx_.get(), key.data(), key.size(), params) != 1) Fatal("SIPHASH init");
  OPENSSL_cleanse(key.data(), key.size());
}

KeyedSetDigest::~KeyedSetDigest() = default;

uint64_t KeyedSetDigest::Member(std::string_view a, std::string_view b) {
  // A null key re-initialises with the key set above (EVP_MAC_init(3)).
  if (EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1) Fatal("SIPHASH re-init");
  const uint64_t a_size = a.size();
  unsigned char size_bytes[8];
  std::memcpy(size_bytes, &a_size, sizeof size_bytes);
  unsigned char out[8];
  size_t written = 0;
  if (EVP_MAC_update(ctx_.get(), size_bytes, sizeof size_bytes) != 1 ||
      EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(a.data()), a.size()) != 1 ||
      EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(b.data()), b.size()) != 1 ||
      EVP_MAC_final(ctx_.get(), out, &written, sizeof out) != 1 || written != sizeof out) {
    Fatal("SIPHASH");
  }
  uint64_t v;
  std::memcpy(&v, out, sizeof v);
  return v;
}

}  // namespace sluice::crypto
