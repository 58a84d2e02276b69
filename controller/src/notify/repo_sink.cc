#include "notify/repo_sink.h"

#include <spdlog/spdlog.h>

#include "config/pin.h"
#include "config/repository_config.h"
#include "config/settings.h"
#include "notify/payload.h"

namespace sluice::notify {

void RepoNotifySink::RefreshLocked() {
  auto head = ws_.Head();
  if (!head.ok() || *head == head_) return;
  std::string text;
  {
    std::lock_guard lock(ws_.mutex());
    auto t = ws_.repo().ReadFile(*head, config::SettingsPath());
    if (!t.ok()) return;  // the pass reports a missing sluice.yaml itself
    text = std::move(*t);
  }
  head_ = *head;
  config::Diagnostics diags;
  auto settings = config::ParseRepoSettings(text, config::SettingsPath(), diags);
  if (!settings) {
    // The pass reports the problems; keep notifying the targets we had.
    spdlog::warn("notifications: sluice.yaml at {} does not parse; keeping the previous targets",
                 head_.substr(0, 12));
    return;
  }
  std::vector<std::shared_ptr<const Target>> targets;
  if (Status s = LoadTargets(settings->notify, targets); !s.ok()) {
    spdlog::error("notifications: {}", s.message());
  }
  targets_ = std::move(targets);
  forge_ = settings->forge;
}

void RepoNotifySink::operator()(const engine::Event& e) {
  if (!IsNotified(e.kind)) return;
  std::vector<std::shared_ptr<const Target>> targets;
  std::optional<config::ForgeSettings> forge;
  {
    std::lock_guard lock(mu_);
    RefreshLocked();
    targets = targets_;
    forge = forge_;
  }
  if (targets.empty()) return;
  engine::Event event = e;
  if (event.version.empty() && !event.commit.empty()) {
    std::string pin_path = config::PinPath(e.env, e.app);
    std::lock_guard lock(ws_.mutex());
    if (auto text = ws_.repo().ReadFile(e.commit, pin_path); text.ok()) {
      config::Diagnostics ignored;
      if (auto pin = config::ParsePin(*text, pin_path, ignored))
        event.version = pin->artifact.version;
    }
  }
  notifier_.Notify(event, targets, CommitUrl(forge, ws_.url(), event.commit));
}

}  // namespace sluice::notify
