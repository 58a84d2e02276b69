#include "engine/checkouts.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <system_error>

#include "config/repository_config.h"
#include "core/strings.h"

namespace sluice::engine {
namespace fs = std::filesystem;

Checkouts::Checkout::~Checkout() {
  if (slot_.owns_lock()) return;  // the environment's directory stays for the next apply
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

Result<std::unique_ptr<Checkouts::Checkout>> Checkouts::Prepare(const std::string& env,
                                                                const std::string& app,
                                                                const std::string& commit) {
  auto skip = [&](std::string_view path, bool is_directory) {
    return !is_directory && config::IsOtherAppsPin(path, env, app);
  };
  std::unique_ptr<Checkout> c(new Checkout());
  std::error_code ec;
  fs::create_directories(ws_.ScratchDir(), ec);
  const std::optional<process::RunAs> user = runner_.RepositoryCodeUser();

  Slot* slot = nullptr;
  if (!user) {
    std::lock_guard lock(mu_);
    std::unique_ptr<Slot>& s = slots_[env];
    if (!s) s = std::make_unique<Slot>();
    slot = s.get();
  }
  if (slot != nullptr) c->slot_ = std::unique_lock<std::mutex>(slot->busy, std::try_to_lock);

  if (c->slot_.owns_lock()) {
    c->dir_ = fs::absolute(ws_.ScratchDir() + "/" + env + ".env", ec).string();
    Status s;
    const auto start = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(ws_.mutex());
      s = ws_.repo().SyncTree(commit, c->dir_, skip, &slot->manifest, &c->reused_);
    }
    if (!s.ok()) {
      slot->manifest.entries.clear();
      return s;
    }
    spdlog::debug("{}/{}: checkout of {} {} in {} ms", env, app, ShortId(commit),
                  c->reused_ ? "updated in place" : "exported whole",
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count());
    return c;
  }

  // A directory of its own, removed after the run.
  c->dir_ =
      fs::absolute(ws_.ScratchDir() + "/" + env + "-" + app + "-" + ShortId(commit), ec).string();
  fs::remove_all(c->dir_, ec);
  Status s;
  {
    std::lock_guard lock(ws_.mutex());
    s = ws_.repo().ExportTree(commit, c->dir_, skip);
  }
  if (!s.ok()) return s;  // ~Checkout removes what was written
  if (user) {
    // runAs: the adapter runs as its own account and owns its checkout.
    SLUICE_RETURN_IF_ERROR(process::HandOverTree(c->dir_, ws_.workdir(), *user));
  }
  return c;
}

}  // namespace sluice::engine
