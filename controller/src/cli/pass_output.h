#pragma once

#include <ostream>
#include <string>

#include "engine/reconciler.h"

namespace sluice::cli {

// Prints a pass report as text lines or one JSON object.
void PrintPassReport(std::ostream& out, const record::PassReport& report,
                     const std::string& format);

}  // namespace sluice::cli
