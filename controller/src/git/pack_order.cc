#include "git/pack_order.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace sluice::git {
namespace {

constexpr unsigned char kMagic[4] = {0xff, 't', 'O', 'c'};
constexpr size_t kHeader = 8;            // magic, version
constexpr size_t kFanout = 256 * 4;      // cumulative counts by first byte
constexpr size_t kName = GIT_OID_RAWSZ;  // 20: libgit2 1.5 reads SHA-1 repositories only
constexpr size_t kTrailer = 2 * kName;   // pack checksum, index checksum

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t Be64(const unsigned char* p) { return (uint64_t{Be32(p)} << 32) | Be32(p + 4); }

}  // namespace

// One mapped .idx file.
struct PackOrder::Index {
  const unsigned char* data = nullptr;
  size_t size = 0;
  uint32_t count = 0;

  Index() = default;
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;
  ~Index() {
    if (data != nullptr) munmap(const_cast<unsigned char*>(data), size);
  }

  const unsigned char* fanout() const { return data + kHeader; }
  const unsigned char* names() const { return fanout() + kFanout; }
  const unsigned char* offsets() const { return names() + size_t{count} * (kName + 4); }
  const unsigned char* large() const { return offsets() + size_t{count} * 4; }

  // Maps `path` and checks the layout; nullptr when it is not a readable
  // version-2 index.
  static std::unique_ptr<Index> Map(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return nullptr;
    struct stat st {};
    void* mapped = MAP_FAILED;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<size_t>(st.st_size) >= kHeader + kFanout + kTrailer) {
      mapped = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    }
    ::close(fd);
    if (mapped == MAP_FAILED) return nullptr;
    auto index = std::make_unique<Index>();
    index->data = static_cast<const unsigned char*>(mapped);
    index->size = static_cast<size_t>(st.st_size);
    if (std::memcmp(index->data, kMagic, sizeof kMagic) != 0 || Be32(index->data + 4) != 2) {
      return nullptr;
    }
    index->count = Be32(index->fanout() + 255 * 4);
    // Names, CRCs and offsets must fit before the trailer; large offsets
    // are bounds-checked where they are read.
    size_t needed = kHeader + kFanout + size_t{index->count} * (kName + 4 + 4) + kTrailer;
    if (needed > index->size) return nullptr;
    return index;
  }

  // The object's offset in its pack, or nullopt-like UINT64_MAX when absent.
  uint64_t Offset(const git_oid& id) const {
    const unsigned char first = id.id[0];
    uint32_t lo = first == 0 ? 0 : Be32(fanout() + (first - 1) * 4);
    uint32_t hi = Be32(fanout() + first * 4);
    if (hi > count || lo > hi) return UINT64_MAX;  // a corrupt fan-out
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      int cmp = std::memcmp(names() + size_t{mid} * kName, id.id, kName);
      if (cmp == 0) {
        uint32_t off = Be32(offsets() + size_t{mid} * 4);
        if ((off & 0x80000000u) == 0) return off;
        const unsigned char* entry = large() + size_t{off & 0x7fffffffu} * 8;
        if (entry + 8 > data + size - kTrailer) return UINT64_MAX;
        return Be64(entry);
      }
      if (cmp < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return UINT64_MAX;
  }
};

PackOrder::PackOrder() = default;
PackOrder::PackOrder(PackOrder&&) noexcept = default;
PackOrder& PackOrder::operator=(PackOrder&&) noexcept = default;
PackOrder::~PackOrder() = default;

PackOrder PackOrder::Load(const std::string& objects_dir) {
  PackOrder order;
  std::error_code ec;
  std::vector<fs::path> idx_files;
  for (fs::directory_iterator it(fs::path(objects_dir) / "pack", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() == ".idx") idx_files.push_back(it->path());
  }
  std::sort(idx_files.begin(), idx_files.end());  // the same keys on every run
  for (const auto& path : idx_files) {
    if (auto index = Index::Map(path)) order.indexes_.push_back(std::move(index));
  }
  return order;
}

uint64_t PackOrder::Key(const git_oid& id) const {
  // Packs are far below 2^48 bytes; the pack's number goes above that.
  constexpr int kPackShift = 48;
  const size_t packs = std::min<size_t>(indexes_.size(), (size_t{1} << (64 - kPackShift)) - 1);
  for (size_t i = 0; i < packs; ++i) {
    uint64_t offset = indexes_[i]->Offset(id);
    if (offset != UINT64_MAX && offset < (uint64_t{1} << kPackShift)) {
      return (uint64_t{i} << kPackShift) | offset;
    }
  }
  return UINT64_MAX;
}

size_t PackOrder::packs() const { return indexes_.size(); }

}  // namespace sluice::git
