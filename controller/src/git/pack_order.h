#pragma once

// PackOrder: where objects sit in a repository's pack files, so that a
// reader of many objects can visit them in the order git wrote them.
//
// Why it matters: git writes each delta family together, base first
// (pack-objects' write order), with chains up to 50 deep after a gc. libgit2
// resolves a delta by inflating its chain and keeps the bases in a 16 MiB
// cache per pack (GIT_PACK_CACHE_MEMORY_LIMIT, not configurable). Read in
// pack order, the next family member finds its bases there; read in any
// other order (a notes tree lists notes by commit id, which is random with
// respect to families) nearly every read inflates its whole chain again.
// Measured on the full-size benchmark repository (100,000 notes of 1.5 KB,
// bench/generate.sh): 12.2 s in notes-tree order, 1.3 s in pack order.
//
// libgit2 does not expose pack offsets, so PackOrder reads the pack indexes
// itself: objects/pack/pack-*.idx, version 2 (git's format since 1.5.2,
// gitformat-pack(5): magic, 256-entry fan-out, sorted object names, CRC32s,
// 31-bit offsets with an 8-byte table for larger ones). Only the order comes
// from there; every object is still read through libgit2.

#include <git2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::git {

class PackOrder {
 public:
  // Maps the index of every pack of the repository whose object directory is
  // `objects_dir`. A pack whose index cannot be read, or is not version 2,
  // is left out: its objects sort last, which costs time, never a wrong
  // answer. Never fails.
  static PackOrder Load(const std::string& objects_dir);

  PackOrder(PackOrder&&) noexcept;
  PackOrder& operator=(PackOrder&&) noexcept;
  ~PackOrder();

  // A sort key: objects earlier in a pack sort first, packs one after
  // another; an object in no mapped pack (loose, or behind an alternate)
  // gets UINT64_MAX.
  uint64_t Key(const git_oid& id) const;

  // Packs whose index was mapped.
  size_t packs() const;

 private:
  struct Index;
  PackOrder();
  std::vector<std::unique_ptr<Index>> indexes_;
};

}  // namespace sluice::git
