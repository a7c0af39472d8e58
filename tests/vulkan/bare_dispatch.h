// A bare dispatch of a kernel's SPIR-V: buffers and descriptor set made
// beforehand, no copies, each repetition records one command buffer, submits
// it and waits on its fence. The floor a Vulkan kernel launch is measured
// against (n = 1) and the device's own speed for the kernel (large n). Shared
// by polymer_vulkan_bench and kernels_bench (tests/bench/kernels/).
#pragma once

#include <cstdint>
#include <span>

#include "isa/module.h"
#include "vm/vulkan/vulkan_context.h"

namespace polymer::test {

// Best of `reps` bare dispatches of `spirv` with `k`'s parameters over lanes
// [0, n), in microseconds, or a negative number when a Vulkan call fails.
// Every buffer parameter gets a device buffer of n elements; every uniform
// reads as 1.0f (bits 0x3f800000).
double bare_dispatch_us(vk::VulkanContext& ctx, const Kernel& k, std::span<const std::uint32_t> spirv,
                        std::uint64_t n, int reps);
// The same with the SPIR-V `k`'s IR lowers to (what VulkanBackend runs).
double bare_dispatch_us(vk::VulkanContext& ctx, const Kernel& k, std::uint64_t n, int reps);

}  // namespace polymer::test
