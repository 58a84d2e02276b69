#include "support/engine_fixture.h"

#include <gtest/gtest.h>

#include <utility>

#include "core/time_format.h"

namespace sluice::testing {

TimePoint EngineFixture::DefaultStart() { return *ParseRfc3339("2026-11-24T09:00:00Z"); }

EngineFixture::EngineFixture(TimePoint start) : clock_(start), verifier_(http_, clock_) {}

std::unique_ptr<record::Workspace> EngineFixture::OpenWorkspace() {
  auto ws = record::Workspace::Open(tmp_.Sub("workdir"), bare_, "main");
  EXPECT_TRUE(ws.ok()) << ws.status().ToString();
  return ws.ok() ? std::move(*ws) : nullptr;
}

std::unique_ptr<engine::Reconciler> EngineFixture::MakeReconciler(
    record::Workspace& ws, engine::ReconcileOptions options) {
  return std::make_unique<engine::Reconciler>(ws, runner_, verifier_, http_, clock_, cancel_,
                                              std::move(options));
}

}  // namespace sluice::testing
