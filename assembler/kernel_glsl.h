// Kernel IR -> GLSL 450 compute shader text, following the kernel ABI in
// docs/kernels.md: buffer parameter p at set 0, binding p; a push-constant
// block with base/end/count and one 32-bit slot per parameter.
#pragma once

#include <cstddef>
#include <string>

#include "isa/module.h"

namespace polymer {

// The push-constant block holds 16 bytes of launch data and one 4-byte slot
// per parameter in the 128 bytes Vulkan guarantees: (128 - 16) / 4.
inline constexpr std::size_t kMaxKernelParamsOnVulkan = 28;

// Readable GLSL for one kernel; structured control flow maps one-to-one.
// Deterministic: the same kernel always gives the same text.
std::string kernel_to_glsl(const Kernel& k);

}  // namespace polymer
