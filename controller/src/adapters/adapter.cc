#include "adapters/adapter.h"

#include "adapters/exec.h"

namespace sluice::adapters {

Result<Observed> Adapter::Observe(const ApplyRequest&) { return Observed::kUnknown; }

Result<std::unique_ptr<Adapter>> MakeAdapter(config::AdapterKind kind, CommandRunner& runner) {
  switch (kind) {
    case config::AdapterKind::kExec:
      return std::unique_ptr<Adapter>(std::make_unique<ExecAdapter>(runner));
    case config::AdapterKind::kHelm:
      return Status::NotFound(
          "the helm adapter is not available in this build yet (use adapter: exec for now)");
    case config::AdapterKind::kTerraform:
      return Status::NotFound(
          "the terraform adapter is not available in this build yet (use adapter: exec for now)");
  }
  return Status::InvalidArgument("unknown adapter kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace sluice::adapters
