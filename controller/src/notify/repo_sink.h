#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "notify/notifier.h"
#include "notify/target.h"
#include "record/event.h"
#include "record/workspace.h"

namespace sluice::notify {

// RepoNotifySink is the reconciler's event observer (ReconcileOptions::
// on_event) in `sluice controller` and `sluice reconcile --once`. It sends
// every notified event to the targets that the `notify:` list of sluice.yaml
// at the head of the tracked branch names (`- { target: team }`) — re-read
// when the head moves — among `configured`, the targets of the controller's
// configuration (the repository names a target; only the configuration maps
// it to a URL and a secret, SPEC 1.3 rule 5). Links go to the commit on
// `forge` (the controller's) or the repository URL. A blocked event, which
// the record does not stamp with a version, gets the version of its pin. A
// name the configuration does not define is logged once per head; the
// targets found still receive notifications.
//
// Thread-safe (the reconciler calls it from several environments at once).
// Borrows `ws` and `notifier`, which must outlive it.
class RepoNotifySink {
 public:
  RepoNotifySink(record::Workspace& ws, Notifier& notifier,
                 std::vector<std::shared_ptr<const Target>> configured = {},
                 std::optional<config::ForgeSettings> forge = std::nullopt)
      : ws_(ws),
        notifier_(notifier),
        configured_(std::move(configured)),
        forge_(std::move(forge)) {}

  void operator()(const record::Event& e);

  // The sluice.yaml in force for an environment at a head (the trust rule,
  // SPEC 1.3: an unapproved edit cannot add or silence the targets of a
  // protected environment), or nullopt when there is none.
  using SettingsInForce = std::function<std::optional<config::RepoSettings>(
      const std::string& env, const std::string& head)>;
  // From now on, the targets of an event are those the sluice.yaml in force
  // for its environment names (the reconciler's PolicyFor); without it,
  // those of sluice.yaml at the head. Call before events flow.
  void UseSettingsInForce(SettingsInForce source);

 private:
  // Re-reads sluice.yaml when the head moved. Caller holds mu_.
  void RefreshLocked();
  // The targets `settings` names (unknown names logged once per head).
  std::vector<std::shared_ptr<const Target>> TargetsOf(const config::RepoSettings& settings);

  record::Workspace& ws_;
  Notifier& notifier_;
  std::mutex mu_;
  const std::vector<std::shared_ptr<const Target>> configured_;
  const std::optional<config::ForgeSettings> forge_;
  std::string head_;  // where targets_ were read
  std::vector<std::shared_ptr<const Target>> targets_;
  SettingsInForce in_force_;
  // env -> (head, targets) with in_force_.
  std::map<std::string, std::pair<std::string, std::vector<std::shared_ptr<const Target>>>>
      env_targets_;
};

}  // namespace sluice::notify
