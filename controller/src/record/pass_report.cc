#include "record/pass_report.h"

namespace sluice::record {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kInSync:
      return "in-sync";
    case Outcome::kApplied:
      return "applied";
    case Outcome::kVerified:
      return "verified";
    case Outcome::kRolledBack:
      return "rolled-back";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kBlocked:
      return "blocked";
    case Outcome::kWaiting:
      return "waiting";
    case Outcome::kRemoved:
      return "removed";
    case Outcome::kError:
      return "error";
    case Outcome::kDrift:
      return "drift";
    case Outcome::kDriftResolved:
      return "drift-resolved";
  }
  return "error";
}

std::optional<Outcome> ParseOutcome(std::string_view name) {
  for (Outcome o : {Outcome::kInSync, Outcome::kApplied, Outcome::kVerified, Outcome::kRolledBack,
                    Outcome::kFailed, Outcome::kBlocked, Outcome::kWaiting, Outcome::kRemoved,
                    Outcome::kError, Outcome::kDrift, Outcome::kDriftResolved}) {
    if (OutcomeName(o) == name) return o;
  }
  return std::nullopt;
}

}  // namespace sluice::record
