#pragma once

// Helpers shared by the git module's tests.

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "git/repo.h"
#include "support/git_servers.h"
#include "support/temp_dir.h"

namespace sluice::git {

inline Person Bot() { return Person{"Sluice Bot", "sluice@example.com", {}}; }

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Sets an environment variable for the scope, restoring the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Unwraps a Result in a test, failing it with the Status otherwise.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                               \
  auto lhs##_result = (expr);                                         \
  ASSERT_TRUE(lhs##_result.ok()) << lhs##_result.status().ToString(); \
  auto lhs = std::move(*lhs##_result)

#define ASSERT_OK(expr)                    \
  do {                                     \
    ::sluice::Status s_ = (expr);          \
    ASSERT_TRUE(s_.ok()) << s_.ToString(); \
  } while (0)

}  // namespace sluice::git
