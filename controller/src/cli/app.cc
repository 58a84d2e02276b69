#include "cli/app.h"

#include <iostream>

#include "core/version.h"

namespace sluice::cli {

int Main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::cout << "sluice " << Version() << "\n";
  return kExitOk;
}

}  // namespace sluice::cli
