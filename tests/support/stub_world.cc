#include "support/stub_world.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace sluice::testing {

namespace fs = std::filesystem;

std::vector<Invocation> ReadInvocations(const std::string& log) {
  std::vector<Invocation> out;
  if (!fs::exists(log)) return out;
  std::string text = ReadFile(log);
  Invocation* cur = nullptr;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.rfind("== ", 0) == 0) {
      out.push_back({line.substr(3), "", {}, {}});
      cur = &out.back();
    } else if (line == "==") {
      cur = nullptr;
    } else if (cur != nullptr && line.rfind("arg:", 0) == 0) {
      cur->args.push_back(line.substr(4));
    } else if (cur != nullptr && line.rfind("cwd:", 0) == 0) {
      cur->cwd = line.substr(4);
    } else if (cur != nullptr && line.rfind("env:", 0) == 0) {
      size_t eq = line.find('=');
      cur->env[line.substr(4, eq - 4)] = line.substr(eq + 1);
    } else {
      ADD_FAILURE() << "unexpected stub log line: " << line;
    }
  }
  return out;
}

StubWorld::StubWorld(const std::map<std::string, std::string>& extra_env) {
  env_ = {{"PATH", std::string(SLUICE_STUBS_DIR) + ":/usr/bin:/bin"},
          {"HOME", state_.path()},
          {"SLUICE_STUB_LOG", log()},
          {"STUB_STATE_DIR", state_.path()}};
  for (const auto& [name, value] : extra_env) env_[name] = value;
}

void StubWorld::ClearLog() const { fs::remove(log()); }

}  // namespace sluice::testing
