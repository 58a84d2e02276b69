#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::crypto::wire {

// SSH wire encoding (RFC 4251 section 5): big-endian uint32 and
// length-prefixed strings. Internal to the crypto module.

inline void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

inline void PutString(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads from a byte string; every getter returns nullopt past the end.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::optional<uint32_t> U32() {
    if (data_.size() < 4) return std::nullopt;
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data_[i])); };
    uint32_t v = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    data_.remove_prefix(4);
    return v;
  }
  std::optional<std::string_view> String() {
    auto n = U32();
    if (!n || data_.size() < *n) return std::nullopt;
    std::string_view s = data_.substr(0, *n);
    data_.remove_prefix(*n);
    return s;
  }
  std::optional<std::string_view> Bytes(size_t n) {
    if (data_.size() < n) return std::nullopt;
    std::string_view s = data_.substr(0, n);
    data_.remove_prefix(n);
    return s;
  }
  std::string_view rest() const { return data_; }
  bool empty() const { return data_.empty(); }

 private:
  std::string_view data_;
};

}  // namespace sluice::crypto::wire
