#pragma once

// PackOrder: where objects sit in a repository's pack files, so that a
// reader of many objects can visit them in the order git wrote them.
//
// Why it matters: git writes commits in history order, newest first (the
// order `git log` reads them), keeps each delta family together, and leaves
// chains up to 50 deep after a gc. libgit2 resolves a delta by inflating its
// chain and keeps the bases in a 16 MiB cache per pack
// (GIT_PACK_CACHE_MEMORY_LIMIT, not configurable). Read in an order close to
// the pack's, the next object finds its bases there; read in any other order
// (a notes tree lists notes by commit id, random with respect to both) nearly
// every read inflates its whole chain again. Measured on the full-size
// benchmark repository (100,000 notes of 1.5 KB, bench/generate.sh), reading
// every note blob:
//
//   order                                 its own pack   pack from git clone
//   notes tree (commit id)                     11.5 s              n/a
//   note blob's offset                          1.2 s              2.4 s
//   annotated commit's offset (used)            1.2 s              0.8 s
//   history, from a revwalk                     0.8 s + 0.6 s walk 0.9 s + 0.6 s
//
// (Its own pack was written by git fast-import, oldest commits first; a pack
// a clone or fetch receives, or `git gc` writes, is newest first.)
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
