#pragma once

#include <string_view>
#include <vector>

namespace sluice::cli {

// A file of templates/init/, compiled into the binary.
struct EmbeddedFile {
  std::string_view path;  // relative, e.g. "environments/prod/environment.yaml"
  std::string_view content;
};

// What `sluice init DIR` writes, in path order.
const std::vector<EmbeddedFile>& InitTemplates();

}  // namespace sluice::cli
