#pragma once

// Adapter checkouts: the files of the commit being applied, less the other
// apps' pins, in a directory the adapter runs in.
//
// Each environment keeps one directory between applies, brought to the next
// commit and app by git::Repository::SyncTree: unchanged files stay, changed
// ones are rewritten in place, and anything the last adapter left or changed
// there means a whole export first. A fleet-wide change then writes a few
// files per apply instead of creating and deleting a whole tree (inode
// allocation was the largest cost of a first full pass; docs/performance.md).
// An environment applies one app at a time; a second checkout of the same
// environment at once gets a directory of its own, as does every checkout
// under runAs (the adapter's account owns its files there, so the next run
// must not inherit them), and those are removed after the run.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"
#include "git/repo.h"
#include "process/runner.h"
#include "record/workspace.h"

namespace sluice::engine {

class Checkouts {
 public:
  Checkouts(record::Workspace& ws, process::CommandRunner& runner) : ws_(ws), runner_(runner) {}

  // One prepared checkout; the directory is in use until it is destroyed.
  class Checkout {
   public:
    Checkout(const Checkout&) = delete;
    Checkout& operator=(const Checkout&) = delete;
    ~Checkout();
    const std::string& dir() const { return dir_; }

   private:
    friend class Checkouts;
    Checkout() = default;
    std::string dir_;
    bool reused_ = false;                // only what differed was written (the debug log)
    std::unique_lock<std::mutex> slot_;  // held: the environment's kept directory
  };

  // The files of `commit` for (env, app): everything but the other apps'
  // pins (environments/*/apps/*.yaml other than the app's own).
  Result<std::unique_ptr<Checkout>> Prepare(const std::string& env, const std::string& app,
                                            const std::string& commit);

 private:
  struct Slot {
    std::mutex busy;
    git::ExportManifest manifest;  // what the directory holds
  };

  record::Workspace& ws_;
  process::CommandRunner& runner_;
  std::mutex mu_;  // guards slots_ (not the slots themselves)
  std::map<std::string, std::unique_ptr<Slot>> slots_;
};

}  // namespace sluice::engine
