#pragma once

#include <chrono>
#include <optional>

#include "core/clock.h"
#include "net/http_client.h"
#include "notify/notifier.h"
#include "notify/repo_sink.h"
#include "process/runner.h"
#include "record/store.h"
#include "record/workspace.h"
#include "verify/verifier.h"

namespace sluice::cli {

// The real implementations behind the engine's seams, built once per
// command that runs passes (`reconcile`, `controller`). Not copyable: the
// verifier borrows the client and the clock.
struct EngineParts {
  // `run_as`: the account adapters and custom gates run as (runAs), or the
  // controller's own.
  explicit EngineParts(std::optional<process::RunAs> run_as = std::nullopt)
      : runner(std::move(run_as)) {}
  process::BoostCommandRunner runner;
  net::CurlHttpClient http;
  SystemClock clock;
  verify::CheckVerifier verifier{http, clock};
};

// How long a stopping command keeps delivering queued notifications.
inline constexpr std::chrono::seconds kNotifyDrain{10};

// Notifications for a command that runs passes: the notifier (its delivery
// thread starts here) and the sink that reads `notify:` from sluice.yaml and
// sends to those of `targets` (the controller's configuration) it names.
// Pass Observer() as ReconcileOptions::on_event; call notifier.Shutdown
// before the command returns. Borrows `parts` and `ws`.
struct NotifyParts {
  NotifyParts(EngineParts& parts, record::Workspace& ws,
              std::vector<std::shared_ptr<const notify::Target>> targets = {},
              std::optional<config::ForgeSettings> forge = std::nullopt)
      : waiter(parts.clock),
        notifier(parts.http, parts.clock, waiter),
        sink(ws, notifier, std::move(targets), std::move(forge)) {
    notifier.Start();
  }
  record::EventObserver Observer() {
    return [this](const record::Event& e) { sink(e); };
  }

  ClockWaiter waiter;
  notify::Notifier notifier;
  notify::RepoNotifySink sink;
};

}  // namespace sluice::cli
