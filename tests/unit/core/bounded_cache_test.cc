#include "core/bounded_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace sluice {
namespace {

TEST(BoundedCacheTest, ReturnsWhatWasPutAndCountsHitsAndMisses) {
  BoundedCache<std::string, int> cache(4);
  EXPECT_FALSE(cache.Get("a").has_value());
  cache.Put("a", 1);
  cache.Put("b", 2);
  EXPECT_EQ(cache.Get("a"), 1);
  EXPECT_EQ(cache.Get("b"), 2);
  cache.Put("a", 10);  // replaces, does not add
  EXPECT_EQ(cache.Get("a"), 10);
  CacheStats s = cache.Stats();
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.evictions, 0u);
}

TEST(BoundedCacheTest, NeverHoldsMoreThanItsCapacity) {
  BoundedCache<int, int> cache(100);
  for (int i = 0; i < 1000; ++i) {
    cache.Put(i, i);
    ASSERT_LE(cache.size(), 100u);
  }
  EXPECT_EQ(cache.size(), 100u);
  EXPECT_EQ(cache.Stats().evictions, 900u);
  // The newest hundred are the ones kept.
  EXPECT_FALSE(cache.Get(899).has_value());
  EXPECT_EQ(cache.Get(900), 900);
  EXPECT_EQ(cache.Get(999), 999);
}

TEST(BoundedCacheTest, EvictsTheLeastRecentlyUsed) {
  BoundedCache<std::string, int> cache(2);
  cache.Put("old", 1);
  cache.Put("mid", 2);
  ASSERT_EQ(cache.Get("old"), 1);  // "old" is now the most recently used
  cache.Put("new", 3);             // pushes out "mid"
  EXPECT_EQ(cache.Get("old"), 1);
  EXPECT_FALSE(cache.Get("mid").has_value());
  EXPECT_EQ(cache.Get("new"), 3);
  EXPECT_EQ(cache.Stats().evictions, 1u);
}

TEST(BoundedCacheTest, StaleEntriesAreErasedAndCountAsMisses) {
  BoundedCache<std::string, int> cache(4);
  cache.Put("k", 5);
  EXPECT_FALSE(cache.Get("k", [](int v) { return v > 5; }).has_value());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Get("k").has_value());  // erased, not merely skipped
  CacheStats s = cache.Stats();
  EXPECT_EQ(s.hits, 0u);
  EXPECT_EQ(s.misses, 2u);
}

TEST(BoundedCacheTest, CapacityZeroHoldsNothing) {
  BoundedCache<std::string, int> cache(0);
  cache.Put("k", 1);
  EXPECT_FALSE(cache.Get("k").has_value());
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Stats().misses, 1u);
}

TEST(BoundedCacheTest, EraseAndClear) {
  BoundedCache<std::string, int> cache(4);
  cache.Put("a", 1);
  cache.Put("b", 2);
  EXPECT_TRUE(cache.Erase("a"));
  EXPECT_FALSE(cache.Erase("a"));
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.Get("b").has_value());
}

// Many threads putting and getting overlapping keys: the bound holds, the
// counters add up, and values are never torn (ASan/TSan builds check more).
TEST(BoundedCacheTest, ConcurrentUseKeepsTheBoundAndTheCounts) {
  constexpr int kThreads = 8;
  constexpr int kOps = 20000;
  BoundedCache<int, std::string> cache(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < kOps; ++i) {
        int key = (i * 7 + t) % 200;
        if (std::optional<std::string> v = cache.Get(key)) {
          ASSERT_EQ(*v, "value-" + std::to_string(key));
        } else {
          cache.Put(key, "value-" + std::to_string(key));
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CacheStats s = cache.Stats();
  EXPECT_EQ(s.hits + s.misses, static_cast<uint64_t>(kThreads) * kOps);
  EXPECT_LE(s.entries, 64u);
  EXPECT_GT(s.hits, 0u);
}

}  // namespace
}  // namespace sluice
