// Float controls (VK_KHR_shader_float_controls): the IEEE-754 behaviour a
// shader asks the device for, so binary32 results match the CPU backend's.
// The CPU rounds to nearest even, keeps denormals and honours signed zeros,
// infinities and NaNs; a shader without these execution modes lets the
// driver flush denormals or assume no NaN (and fold x*0 to 0, or isnan() to
// false). Every pipeline asks for each mode the device supports; what the
// device cannot promise is listed in docs/kernels.md ("How close the
// backends agree").
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace polymer::vk {

struct FloatControls {
    bool rounding_rte = false;        // RoundingModeRTE for binary32
    bool signed_zero_inf_nan = false; // SignedZeroInfNanPreserve for binary32
    bool denorm_preserve = false;     // DenormPreserve for binary32
    bool any() const { return rounding_rte || signed_zero_inf_nan || denorm_preserve; }
    std::string describe() const;     // "round-to-nearest-even, signed zero/inf/nan, denormals preserved"
};

// What the device supports, when it has VK_KHR_shader_float_controls (or
// Vulkan 1.2); none otherwise. The extension must then be enabled on the
// device for the modes to be used.
FloatControls query_float_controls(VkPhysicalDevice device, bool has_extension);

// The SPIR-V with an OpExecutionMode per requested mode added to its entry
// point (and the capabilities and extension they need). Modes the module
// already declares are not repeated; a module it cannot parse comes back
// unchanged (vkCreateShaderModule then reports it).
std::vector<std::uint32_t> with_float_controls(std::span<const std::uint32_t> spirv, const FloatControls& controls);

// Whether the module declares the Float64 capability: kernels with ffma do
// (shaders/fma_exact.glsl), and run only where the device has shaderFloat64.
bool uses_float64(std::span<const std::uint32_t> spirv);

}  // namespace polymer::vk
