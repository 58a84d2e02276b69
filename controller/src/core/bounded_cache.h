#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace sluice {

// What a cache has done since it was made (for metrics).
struct CacheStats {
  uint64_t hits = 0;       // lookups answered from the cache
  uint64_t misses = 0;     // lookups the caller had to answer itself
  uint64_t evictions = 0;  // entries pushed out to stay within the bound
  size_t entries = 0;      // entries held now
};

// BoundedCache maps keys to values, holding at most `capacity` entries: a
// Put beyond the bound evicts the least recently used entry (a hit counts as
// a use). Capacity 0 holds nothing (every Get misses), which is how a cache
// is turned off.
//
// Values are copied in and out, so a caller never holds a reference into the
// cache. Thread-safe: every method takes one internal mutex (the value type's
// copy runs under it, so keep values small).
template <class K, class V, class Hash = std::hash<K>>
class BoundedCache {
 public:
  explicit BoundedCache(size_t capacity) : capacity_(capacity) {}
  BoundedCache(const BoundedCache&) = delete;
  BoundedCache& operator=(const BoundedCache&) = delete;

  // The value for `key`, counted as a hit; nullopt (a miss) when absent.
  std::optional<V> Get(const K& key) {
    return Get(key, [](const V&) { return true; });
  }

  // As Get, but an entry for which `fresh(value)` is false is erased and the
  // lookup counts as a miss (how a caller expires entries by time).
  template <class Fresh>
  std::optional<V> Get(const K& key, Fresh&& fresh) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    if (!fresh(it->second->second)) {
      order_.erase(it->second);
      index_.erase(it);
      ++stats_.misses;
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second);  // most recently used first
    ++stats_.hits;
    return it->second->second;
  }

  // Stores `value` for `key` (replacing an older value), evicting the least
  // recently used entries beyond the bound. Does nothing at capacity 0.
  void Put(const K& key, V value) {
    std::lock_guard lock(mu_);
    if (capacity_ == 0) return;
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    while (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++stats_.evictions;
    }
  }

  // Removes `key`; true if it was there.
  bool Erase(const K& key) {
    std::lock_guard lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  // Removes every entry (the counters stay).
  void Clear() {
    std::lock_guard lock(mu_);
    index_.clear();
    order_.clear();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return order_.size();
  }
  size_t capacity() const { return capacity_; }

  CacheStats Stats() const {
    std::lock_guard lock(mu_);
    CacheStats s = stats_;
    s.entries = order_.size();
    return s;
  }

 private:
  using Entry = std::pair<K, V>;

  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<K, typename std::list<Entry>::iterator, Hash> index_;
  CacheStats stats_;
};

}  // namespace sluice
