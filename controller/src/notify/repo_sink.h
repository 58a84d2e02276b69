#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/event.h"
#include "engine/workspace.h"
#include "notify/notifier.h"
#include "notify/target.h"

namespace sluice::notify {

// RepoNotifySink is the reconciler's event observer (ReconcileOptions::
// on_event) in `sluice controller` and `sluice reconcile --once`. It sends
// every notified event to the targets of the `notify:` list in sluice.yaml at
// the head of the tracked branch — re-read when the head moves — with a link
// to the commit when the forge or the repository URL allows one. A blocked
// event, which the record does not stamp with a version, gets the version of
// its pin. Target problems (a missing secret file) are logged once per head;
// the targets that loaded still receive notifications.
//
// Thread-safe (the reconciler calls it from several environments at once).
// Borrows `ws` and `notifier`, which must outlive it.
class RepoNotifySink {
 public:
  RepoNotifySink(engine::Workspace& ws, Notifier& notifier) : ws_(ws), notifier_(notifier) {}

  void operator()(const engine::Event& e);

 private:
  // Re-reads sluice.yaml when the head moved. Caller holds mu_.
  void RefreshLocked();

  engine::Workspace& ws_;
  Notifier& notifier_;
  std::mutex mu_;
  std::string head_;  // where targets_ were read
  std::vector<std::shared_ptr<const Target>> targets_;
  std::optional<config::ForgeSettings> forge_;
};

}  // namespace sluice::notify
