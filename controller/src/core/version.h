#pragma once

#include <string_view>

namespace sluice {

// The product version, set by CMake from project(VERSION).
std::string_view Version();

}  // namespace sluice
