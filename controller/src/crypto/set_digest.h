#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

// OpenSSL's MAC context, kept out of the header's users.
struct evp_mac_ctx_st;

namespace sluice::crypto {

// An order-independent digest of a set of byte strings: the sum (mod 2^64)
// of each member's SipHash-2-4 under a key drawn at random when the digest
// is made. The sum can follow a change member by member (Add, Remove)
// without the rest of the set, and two sets of equal sum are equal but for
// a chance of 2^-64: the key never leaves this process, so whoever chooses
// the members (a pusher choosing ref names and values) cannot aim at a
// collision. Digests of one Keyed only compare with each other.
//
// Not thread-safe: one Keyed per user (OpenSSL's MAC context is reused).
class KeyedSetDigest {
 public:
  KeyedSetDigest();  // aborts only if OpenSSL has no SipHash or no randomness
  ~KeyedSetDigest();
  KeyedSetDigest(const KeyedSetDigest&) = delete;
  KeyedSetDigest& operator=(const KeyedSetDigest&) = delete;

  // The member's own hash, for Add/Remove below. Two views, hashed as their
  // concatenation with the first's length in front (so "ab"+"c" is not
  // "a"+"bc").
  uint64_t Member(std::string_view a, std::string_view b = {});

  static uint64_t Add(uint64_t sum, uint64_t member) { return sum + member; }
  static uint64_t Remove(uint64_t sum, uint64_t member) { return sum - member; }

 private:
  struct MacFree {
    void operator()(evp_mac_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_mac_ctx_st, MacFree> ctx_;
};

}  // namespace sluice::crypto
