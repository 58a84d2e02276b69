#include "notify/repo_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "config/pin.h"
#include "config/repository_config.h"
#include "config/settings.h"
#include "core/strings.h"
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
                 ShortId(head_));
    return;
  }
  targets_ = TargetsOf(*settings);
}

std::vector<std::shared_ptr<const Target>> RepoNotifySink::TargetsOf(
    const config::RepoSettings& settings) {
  std::vector<std::shared_ptr<const Target>> targets;
  for (const config::NotifyRef& ref : settings.notify) {
    auto it = std::find_if(configured_.begin(), configured_.end(),
                           [&](const auto& t) { return t->id == ref.target; });
    if (it == configured_.end()) {
      spdlog::error(
          "notifications: sluice.yaml:{}: target '{}' is not a target of the controller's "
          "configuration (define notify: {{{}: {{...}}}} in --config, or see the error about its "
          "files at start); nothing is sent to it",
          ref.line, ref.target, ref.target);
      continue;
    }
    if (std::find(targets.begin(), targets.end(), *it) == targets.end()) targets.push_back(*it);
  }
  return targets;
}

void RepoNotifySink::UseSettingsInForce(SettingsInForce source) {
  std::lock_guard lock(mu_);
  in_force_ = std::move(source);
}

void RepoNotifySink::operator()(const record::Event& e) {
  if (!IsNotified(e.kind)) return;
  std::vector<std::shared_ptr<const Target>> targets;
  {
    std::lock_guard lock(mu_);
    if (in_force_) {
      auto head = ws_.Head();
      if (head.ok()) {
        auto& [at, cached] = env_targets_[e.env];
        if (at != *head) {
          auto settings = in_force_(e.env, *head);
          cached = settings ? TargetsOf(*settings) : std::vector<std::shared_ptr<const Target>>{};
          at = *head;
        }
        targets = cached;
      }
    } else {
      RefreshLocked();
      targets = targets_;
    }
  }
  if (targets.empty()) return;
  record::Event event = e;
  if (event.version.empty() && !event.commit.empty()) {
    std::string pin_path = config::PinPath(e.env, e.app);
    std::lock_guard lock(ws_.mutex());
    if (auto text = ws_.repo().ReadFile(e.commit, pin_path); text.ok()) {
      config::Diagnostics ignored;
      if (auto pin = config::ParsePin(*text, pin_path, ignored))
        event.version = pin->artifact.version;
    }
  }
  notifier_.Notify(event, targets, CommitUrl(forge_, ws_.url(), event.commit));
}

}  // namespace sluice::notify
