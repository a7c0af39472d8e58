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
    // The same for binary64, asked for in modules that use it (wide kernels,
    // the exact fma), where the correctly rounded fdiv and fsqrt of wide
    // kernels rely on round-to-nearest-even adds and multiplies.
    bool rounding_rte64 = false;
    bool signed_zero_inf_nan64 = false;
    bool denorm_preserve64 = false;
    bool any() const {
        return rounding_rte || signed_zero_inf_nan || denorm_preserve || rounding_rte64 || signed_zero_inf_nan64 ||
               denorm_preserve64;
    }
    // "round-to-nearest-even, signed zero/inf/nan kept; binary64: round-to-nearest-even, ..."
    std::string describe() const;
};

// What the device supports, when it has VK_KHR_shader_float_controls (or
// Vulkan 1.2); none otherwise. The extension must then be enabled on the
// device for the modes to be used.
FloatControls query_float_controls(VkPhysicalDevice device, bool has_extension);

// The SPIR-V with an OpExecutionMode per requested mode added to its entry
// point (and the capabilities and extension they need): the binary32 ones
// always, the binary64 ones when the module declares Float64. Modes the
// module already declares are not repeated; a module it cannot parse comes
// back unchanged (vkCreateShaderModule then reports it).
std::vector<std::uint32_t> with_float_controls(std::span<const std::uint32_t> spirv, const FloatControls& controls);

// Whether the module declares the Float64 capability: kernels with ffma do
// (shaders/fma_exact.glsl), and run only where the device has shaderFloat64.
bool uses_float64(std::span<const std::uint32_t> spirv);

}  // namespace polymer::vk
