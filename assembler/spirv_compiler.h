// GLSL compute shader text -> validated SPIR-V words, with the glslang library.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "isa/result.h"

namespace polymer {

// Compiles for Vulkan 1.0 / SPIR-V 1.0 and validates the result. The error is
// the first message glslang (or the validator) gave. Safe to call from any thread.
Result<std::vector<std::uint32_t>> compile_glsl_to_spirv(std::string_view glsl);

// SPIRV-Tools' validation for Vulkan 1.0: empty when the words are valid,
// else the validator's first message.
std::string spirv_problem(std::span<const std::uint32_t> words);

}  // namespace polymer
