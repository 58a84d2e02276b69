#include <pthread.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "cli/app.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/controller_config.h"
#include "cli/engine_parts.h"
#include "cli/process_secrets.h"
#include "cli/trust_config.h"
#include "core/bounded_cache.h"
#include "core/duration.h"
#include "core/strings.h"
#include "core/version.h"
#include "core/waiter.h"
#include "engine/change_set.h"
#include "engine/controller.h"
#include "engine/reconciler.h"
#include "ha/etcd_client.h"
#include "ha/ownership.h"
#include "net/http_client.h"
#include "record/refs.h"
#include "reports/audit_reader.h"
#include "reports/delivery.h"
#include "reports/status_view.h"
#include "server/http_server.h"
#include "server/metrics.h"

namespace sluice::cli {
namespace {

// Waits for SIGTERM/SIGINT on a dedicated thread. The first signal stops the
// loop after the pass in progress (applies finish and are recorded); a second
// one cancels running children, which are killed and recorded as interrupted.
class SignalWatcher {
 public:
  SignalWatcher(CancelToken& stop, CancelToken& cancel) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGUSR1);  // internal: wakes the watcher to exit
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, &stop, &cancel] {
      int count = 0;
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGUSR1) return;
        ++count;
        if (count == 1) {
          spdlog::info(
              "received signal {}: finishing the current pass, then exiting "
              "(send again to cancel running applies)",
              sig);
          stop.Cancel();
        } else {
          spdlog::warn("received signal {} again: cancelling running applies", sig);
          cancel.Cancel();
          return;
        }
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

}  // namespace

Runner AddControllerCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "controller", "Run the controller daemon: a reconcile pass every --interval until stopped");
  cmd->footer(
      "SIGTERM or SIGINT: finish the pass in progress, record it, exit 0. A second signal "
      "cancels running applies (recorded as interrupted and retried by the next start).\n"
      "With --listen it serves /healthz, /readyz, /metrics, /api/v1/status, a dashboard at / and "
      "webhooks at POST /hooks/github|gitlab|generic; a verified push to --branch starts a pass "
      "at once.\n"
      "Notifications: blocked, applied, verified, failed and rolled-back changes are posted to "
      "the targets sluice.yaml's notify: list names ({target: NAME}), as the config file's "
      "notify: defines them (URL and secret files), off the reconcile path, with retries; on "
      "stop, queued ones get up to 10s.\n"
      "Pull requests: with forge: in the config file, each pass posts a commit status "
      "sluice/<env> on the head of every open pull/merge request into --branch that changes "
      "environments/<env>/ (pending while a gate waits, failure when one blocks, success when "
      "every gate passes as if merged; forge.statuses: false turns it off); a pull_request "
      "(GitHub) or Merge Request Hook (GitLab) webhook starts a pass at once.\n"
      "Secrets come from the config file only (forge: {type, api, repo, tokenFile, statuses, "
      "dashboardUrl}, notify:, "
      "gitUsername, gitPasswordFile; or SLUICE_FORGE_TOKEN / SLUICE_GIT_* at start), never from "
      "the repository; they are removed from the process environment at start and never reach "
      "a child, a log or cache.git/config.\n"
      "Example:\n  sluice controller --repo git://git.example.com/environments --workdir "
      "/var/lib/sluice --interval 30s\n"
      "  sluice controller --repo https://git.example.com/environments.git --interval 10m \\\n"
      "      --listen 0.0.0.0:8080 --webhook-secret-file /etc/sluice/webhook-secret\n"
      "  sluice controller --config /etc/sluice/config.yaml\n"
      "Drift: every --drift-interval each in-sync Helm/Terraform pin is checked (helm status + "
      "get values; terraform init + plan -detailed-exitcode), at most --drift-checks-per-pass "
      "per pass and only after the pass's applies; a difference is recorded as a `drift` event "
      "and shown by `sluice status`, never applied over.\n"
      "Registry gate: a manifest the registry said exists is believed for --registry-cache-ttl "
      "(absent manifests and errors are asked again every pass); parsed scan reports are kept "
      "while their artifacts/ directory is unchanged.\n"
      "Config file keys: repo, branch, workdir, interval, parallelism, logLevel, listen, "
      "webhookSecretFile, driftInterval, driftChecksPerPass, registryCacheTtl, forge, notify, "
      "gitUsername, gitPasswordFile, etcd, leaseTtl, instanceId, etcdCacert, etcdCert, etcdKey, "
      "etcdUser, etcdPasswordFile, and\n"
      "trust: {bootstrap: COMMIT, signingKey: FILE, controllerKeys: FILE} (flags win). Replicas\n"
      "sign the record with their signing key and must list each other's public keys in\n"
      "controllerKeys.\n"
      "High availability: replicas started with the same --repo and --etcd share the "
      "environments through etcd leases, one owner each (sluice_env_owner in /metrics); each "
      "keeps its own --workdir and --instance-id. A replica that cannot prove its lease applies "
      "nothing and /readyz says why; an etcd unreachable at start is an error.\n"
      "  sluice controller --config /etc/sluice/config.yaml --etcd "
      "http://10.0.0.1:2379,http://10.0.0.2:2379 --instance-id sluice-0 --lease-ttl 15s");
  auto settings = std::make_shared<ControllerSettings>();
  auto config_path = std::make_shared<std::string>();
  auto interval_text = std::make_shared<std::string>("1m");
  auto drift_interval_text = std::make_shared<std::string>("10m");
  auto registry_cache_ttl_text = std::make_shared<std::string>("10m");
  AddCommonOptions(*cmd, settings->common, /*with_format=*/false);
  cmd->add_option("--interval", *interval_text,
                  "Time between passes (e.g. 30s, 1m); each wait gets up to 10% jitter")
      ->capture_default_str();
  cmd->add_option("--parallelism", settings->parallelism, "Environments reconciled at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--listen", settings->listen,
                  "Serve HTTP (health, metrics, status API, dashboard, webhooks) on HOST:PORT, "
                  "e.g. 127.0.0.1:8080 or :8080");
  cmd->add_option("--webhook-secret-file", settings->webhook_secret_file,
                  "File holding the shared secret that webhooks are verified with (GitHub "
                  "secret, GitLab token); without it the hook endpoints answer 403");
  cmd->add_option("--drift-interval", *drift_interval_text,
                  "How often each in-sync Helm/Terraform pin is checked for drift (e.g. 10m, 1h; "
                  "at least 1m); 0 turns drift checks off")
      ->capture_default_str();
  cmd->add_option("--drift-checks-per-pass", settings->drift_checks_per_pass,
                  "At most this many drift checks (helm/terraform runs) per pass; due pins wait "
                  "for the next pass")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--registry-cache-ttl", *registry_cache_ttl_text,
                  "How long a manifest the registry said exists is believed without asking "
                  "again (e.g. 10m, 1h; at most 24h); 0 asks the registry on every pass. Absent "
                  "manifests and errors are never cached")
      ->capture_default_str();
  cmd->add_option("--run-as", settings->run_as,
                  "Run adapters and custom gates as this unprivileged user (runAs; the "
                  "controller must run as root): they cannot read the controller's files or "
                  "memory");
  cmd->add_option("--config", *config_path, "A YAML file holding any of these flags");
  AddTrustOptions(*cmd, settings->common, /*with_signing_key=*/true);
  AddHaOptions(*cmd, settings->ha);
  return [cmd, settings, config_path, interval_text, drift_interval_text, registry_cache_ttl_text] {
    std::vector<std::string> explicit_flags;
    for (const char* f : {"--repo", "--branch", "--workdir", "--interval", "--parallelism",
                          "--log-level", "--listen", "--webhook-secret-file", "--drift-interval",
                          "--drift-checks-per-pass", "--registry-cache-ttl", "--run-as"}) {
      if (cmd->count(f) > 0) explicit_flags.emplace_back(f);
    }
    for (auto& f : GivenTrustFlags(*cmd)) explicit_flags.push_back(std::move(f));
    for (auto& f : GivenHaFlags(*cmd)) explicit_flags.push_back(std::move(f));
    auto interval = ParseDuration(*interval_text);
    if (!interval.ok() || interval->count() < 1000) {
      PrintError("--interval: " + (interval.ok() ? std::string("must be at least 1s")
                                                 : interval.status().message()));
      return kExitUsage;
    }
    settings->interval = *interval;
    auto drift_interval = ParseDriftInterval(*drift_interval_text);
    if (!drift_interval.ok()) {
      PrintError("--drift-interval: " + drift_interval.status().message());
      return kExitUsage;
    }
    settings->drift_interval = *drift_interval;
    auto registry_cache_ttl = ParseRegistryCacheTtl(*registry_cache_ttl_text);
    if (!registry_cache_ttl.ok()) {
      PrintError("--registry-cache-ttl: " + registry_cache_ttl.status().message());
      return kExitUsage;
    }
    settings->registry_cache_ttl = *registry_cache_ttl;
    if (!config_path->empty()) {
      std::ifstream f(*config_path);
      if (!f) {
        PrintError("cannot read --config " + *config_path);
        return kExitError;
      }
      std::stringstream ss;
      ss << f.rdbuf();
      if (Status s = LoadControllerConfig(*config_path, ss.str(), *settings, explicit_flags);
          !s.ok()) {
        PrintError(s.message());
        return kExitError;
      }
    }
    std::optional<server::ListenAddress> listen;
    if (!settings->listen.empty()) {
      auto parsed = server::ParseListenAddress(settings->listen);
      if (!parsed.ok()) {
        PrintError(parsed.status().message());
        return kExitUsage;
      }
      listen = *parsed;
    }
    std::string webhook_secret;
    if (!settings->webhook_secret_file.empty()) {
      auto secret = ReadWebhookSecret(settings->webhook_secret_file);
      if (!secret.ok()) {
        PrintError(secret.status().message());
        return kExitError;
      }
      webhook_secret = std::move(*secret);
      if (!listen) {
        PrintError("--webhook-secret-file needs --listen: webhooks arrive over HTTP");
        return kExitUsage;
      }
    }
    // High availability (SPEC section 8): checked before anything starts;
    // an etcd that cannot be reached is an error at start, never a silent
    // single-node fallback.
    auto etcd_options = MakeEtcdOptions(settings->ha);
    if (!etcd_options.ok()) {
      PrintError(etcd_options.status().message());
      return etcd_options.status().code() == Status::Code::kInvalidArgument ? kExitUsage
                                                                            : kExitError;
    }
    if (!settings->ha.instance_id.empty()) {
      if (Status s = ha::ValidateInstanceId(settings->ha.instance_id); !s.ok()) {
        PrintError(s.message());
        return kExitUsage;
      }
    }
    ConfigureLogging(settings->common.log_level);
    // Secrets (SPEC 1.3 rule 5): read once, here, from the controller's
    // configuration; the repository only names notification targets.
    auto secrets = LoadControllerSecrets(settings->secrets);
    if (!secrets.ok()) {
      PrintError(secrets.status().message());
      return kExitError;
    }
    if (!secrets->target_problems.empty()) {
      spdlog::error("notifications: {}", secrets->target_problems);
    }
    CancelToken stop, cancel;
    SignalWatcher signals(stop, cancel);

    if (Status s = CheckRecordCanBePushed(settings->common); !s.ok()) {
      PrintError(s.message());
      return kExitUsage;
    }
    // The lock first: it clears what a killed process left in the cache
    // before the workspace opens it.
    auto lock = WorkdirLock::Acquire(settings->common);
    if (!lock.ok()) return WorkspaceFailure(settings->common, lock.status());
    auto ws = OpenWorkspace(settings->common);
    if (!ws.ok()) return WorkspaceFailure(settings->common, ws.status());
    auto repository_user = ResolveRunAs(*settings);
    if (!repository_user.ok()) {
      PrintError(repository_user.status().message());
      return kExitError;
    }
    EngineParts parts(*repository_user);
    NotifyParts notify(parts, **ws, secrets->targets, secrets->forge);
    engine::ReconcileOptions ropts;
    ropts.forge = secrets->forge;
    ropts.forge_token = secrets->forge_token;
    ropts.parallelism = settings->parallelism;
    ropts.instance_id =
        settings->ha.instance_id.empty() ? engine::DefaultInstanceId() : settings->ha.instance_id;
    ropts.drift.interval = settings->drift_interval;
    ropts.drift.max_checks_per_pass = settings->drift_checks_per_pass;
    // A webhook that arrives during drift checks ends them: the pass it asks
    // for (maybe a rollback) must not wait behind helm or terraform.
    ropts.drift.should_yield = [&stop] { return stop.cancelled() || stop.wake_pending(); };
    ropts.on_event = notify.Observer();
    ropts.registry.cache_ttl = settings->registry_cache_ttl;
    ropts.trust.bootstrap = settings->trust_bootstrap;
    ClockWaiter waiter(parts.clock);
    // With --etcd: this replica's lease and its share of the environments.
    // The environments come from the last head this workdir fetched (none
    // on a fresh one) and follow each pass's head.
    net::CurlHttpClient etcd_http;
    std::unique_ptr<ha::EtcdClient> etcd;
    std::unique_ptr<ha::Ownership> ownership;
    if (*etcd_options) {
      std::vector<std::string> envs;
      if (auto head = (*ws)->Head(); head.ok()) envs = engine::ListEnvironments(**ws, *head).names;
      etcd = std::make_unique<ha::EtcdClient>(etcd_http, **etcd_options);
      ha::OwnershipOptions oo;
      oo.instance_id = ropts.instance_id;
      oo.lease_ttl = settings->ha.lease_ttl;
      oo.key_prefix = ha::KeyPrefixFor(settings->common.repo);
      oo.environments = std::move(envs);
      // An environment gained (a takeover, a new replica's share): a pass
      // at once rather than after the interval.
      oo.on_gain = [&stop] { stop.Wake(); };
      ownership = std::make_unique<ha::Ownership>(*etcd, parts.clock, waiter, std::move(oo));
      if (Status s = ownership->Start(); !s.ok()) {
        PrintError("--etcd: " + s.message());
        return kExitError;
      }
      const ha::OwnershipState st = ownership->State();
      spdlog::info(
          "high availability: instance {} with a {}s etcd lease under {} ({} live replicas); "
          "owns: {}",
          st.instance_id, settings->ha.lease_ttl.count(), ha::KeyPrefixFor(settings->common.repo),
          st.live_members, NamesOrNobody(st.owned));
      if (!st.not_ready_reason.empty()) spdlog::warn("etcd: {}", st.not_ready_reason);
      // The proof (one etcd read) before each change of an environment is
      // judged; the environment is held (not released to a joining
      // replica) until the pass is done with it.
      ropts.should_apply = [o = ownership.get()](const std::string& env) {
        std::string why;
        if (o->Admit(env, &why)) return true;
        if (o->Owns(env)) spdlog::warn("{}: not applied by this replica: {}", env, why);
        return false;
      };
      ropts.done_with_env = [o = ownership.get()](const std::string& env) { o->Done(env); };
      // An interrupted apply of another replica waits until that replica's
      // adapter could have ended (it may be alive, cut off from etcd).
      ropts.may_resume = [o = ownership.get()](const std::string& env,
                                               const std::string& started_by,
                                               std::chrono::milliseconds longest) {
        return o->MayResume(env, started_by, longest);
      };
      ropts.still_owner = [o = ownership.get()](const std::string& env, std::string* why) {
        ha::FenceResult f = o->Fence(env);
        if (!f.held && why) *why = f.reason;
        return f.held;
      };
      ropts.posts_statuses_for = [o = ownership.get()](const std::string& env) {
        return o->Owns(env);
      };
    }
    // One reconciler for the life of the daemon: its evidence caches are
    // shared by every pass.
    engine::Reconciler reconciler(**ws, parts.runner, parts.verifier, parts.http, parts.clock,
                                  cancel, ropts);
    // Notification targets follow the trust rule too: an unapproved edit of
    // sluice.yaml cannot silence (or add) the targets of a protected one.
    notify.sink.UseSettingsInForce([&reconciler](const std::string& env, const std::string& head) {
      return reconciler.PolicyFor(env, head).settings;
    });
    spdlog::info(
        "controller watching {} branch {} every {} (workdir {}); drift checks {}; registry "
        "answers cached {}",
        settings->common.repo, settings->common.branch, FormatDuration(settings->interval),
        (*ws)->workdir(),
        settings->drift_interval.count() == 0
            ? std::string("off")
            : "every " + FormatDuration(settings->drift_interval) + ", at most " +
                  std::to_string(settings->drift_checks_per_pass) + " per pass",
        settings->registry_cache_ttl.count() == 0
            ? std::string("never")
            : "for " + FormatDuration(settings->registry_cache_ttl));

    server::Metrics metrics{std::string(Version())};
    metrics.SetNotificationSource([&notify] { return notify.notifier.Snapshot(); });
    metrics.SetEvidenceCacheSource([&reconciler] {
      const engine::EvidenceCacheStats s = reconciler.EvidenceCaches();
      return server::Metrics::CacheSeries{{"registry", s.registry}, {"scan", s.scan}};
    });
    metrics.SetUntrustedSource([&ws] { return (*ws)->UntrustedCount(); });
    if (ownership) {
      metrics.SetOwnershipSource([o = ownership.get()] {
        ha::OwnershipState st = o->State();
        return server::OwnershipView{std::move(st.owner_of), st.lease_changes,
                                     std::move(st.not_ready_reason)};
      });
    }
    // Set by a verified webhook, taken by the pass it starts (or the pass it
    // coalesces into), so that a hook that finds nothing new says so.
    std::atomic<bool> woken_by_hook{false};
    std::unique_ptr<server::HttpServer> http;
    if (listen) {
      server::ServerOptions sopts;
      sopts.listen = *listen;
      sopts.webhook_secret = webhook_secret;
      sopts.branch = settings->common.branch;
      sopts.interval = settings->interval;
      record::Workspace& workspace = **ws;
      http = std::make_unique<server::HttpServer>(
          sopts, metrics,
          [&workspace, &parts, o = ownership.get(),
           forge = secrets->forge]() -> Result<std::string> {
            // The record as of the last pass's fetch; ComputeStatus takes the
            // workspace mutex, so this is safe beside a running pass.
            auto rows = reports::ComputeStatus(workspace, "", "", parts.clock.Now());
            if (!rows.ok()) return rows.status();
            // With --etcd, each row's owner as this replica's last look at
            // etcd saw it (every min(leaseTtl/3, 2s)); no request per GET.
            if (o != nullptr) reports::SetOwners(*rows, o->State().owner_of);
            // With a forge: each pin's commit links to its page there.
            if (forge) reports::SetCommitLinks(*rows, *forge);
            return reports::RenderStatusJson(*rows);
          },
          // Wake() is a flag, so a burst of hooks during a pass coalesces into
          // one extra pass right after it.
          [&stop, &woken_by_hook] {
            woken_by_hook = true;
            stop.Wake();
          },
          parts.clock);
      // Delivery charts (GET /delivery[/ENV]): the same computation as
      // `sluice audit --format html`, cached per (record tip, env).
      http->SetDeliverySource(
          [&workspace, cache = std::make_shared<BoundedCache<std::string, std::string>>(16)](
              const std::string& env) -> Result<std::string> {
            if (!env.empty() && !config::IsValidName(env)) {
              return Status::NotFound("no environment named like that");
            }
            std::string tip;
            {
              std::lock_guard lock(workspace.mutex());
              auto resolved = workspace.repo().ResolveRef(record::kNotesRef);
              if (resolved.ok()) tip = *resolved;
            }
            const std::string key = tip + "\n" + env;
            if (auto page = cache->Get(key)) return *page;
            reports::AuditOptions options;
            options.filter.env = env;
            auto report = reports::ReadAudit(workspace, options);
            if (!report.ok()) return report.status();
            std::string page = reports::RenderDeliveryHtml(
                *report, "Delivery: " + (env.empty() ? std::string("every environment") : env));
            cache->Put(key, page);
            return page;
          });
      if (Status s = http->Start(); !s.ok()) {
        PrintError(s.message());
        return kExitError;
      }
      if (webhook_secret.empty()) {
        spdlog::info("webhooks disabled: set --webhook-secret-file to accept them");
      }
    }

    engine::ControllerOptions copts;
    copts.interval = settings->interval;
    copts.instance_id = ropts.instance_id;
    copts.record = &reconciler.record_store();
    // /readyz turns false while records cannot be pushed (SPEC 7).
    record::Workspace& workspace = **ws;
    copts.on_pass = [&metrics, &workspace, o = ownership.get()](const record::PassReport& report,
                                                                std::chrono::duration<double> took,
                                                                TimePoint end) {
      metrics.ObservePass(report, took, end);
      metrics.SetRecordPushError(workspace.RecordPushError());
      if (o != nullptr && !report.head.empty()) {
        o->SetEnvironments(engine::ListEnvironments(workspace, report.head).names);
      }
    };
    copts.on_failed_pass = [&metrics, &workspace](const Status& error,
                                                  std::chrono::duration<double> took,
                                                  TimePoint end) {
      metrics.ObserveFailedPass(error, server::IsFetchError(error), took, end);
      metrics.SetRecordPushError(workspace.RecordPushError());
    };
    auto pass = [&reconciler, &woken_by_hook]() -> Result<record::PassReport> {
      const bool by_hook = woken_by_hook.exchange(false);
      Result<record::PassReport> report = reconciler.RunOnce();
      // The loop logs a pass only when something moved; a webhook's pass
      // that finds nothing gets one line, so the hook is seen to have worked.
      if (by_hook && report.ok() && report->unchanged && report->outcomes.empty()) {
        spdlog::info("webhook pass at {}: nothing to do (no new commit, no change pending)",
                     ShortId(report->head));
      }
      return report;
    };
    engine::Controller controller(pass, **ws, parts.clock, waiter, stop, std::move(copts));
    controller.Run();
    if (http) http->Stop();
    notify.notifier.Shutdown(kNotifyDrain);
    spdlog::info("controller stopped");
    return kExitOk;
  };
}

}  // namespace sluice::cli
