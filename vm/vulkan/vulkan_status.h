// Error helpers for the Vulkan backend: every failing Vulkan call becomes a
// one-line polymer::Error naming the call and the VkResult.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <string_view>
#include <variant>

#include "isa/result.h"

namespace polymer::vk {

// Result of an operation that yields nothing but may fail.
using Status = Result<std::monostate>;
inline Status ok_status() { return std::monostate{}; }

// "VK_ERROR_OUT_OF_DEVICE_MEMORY", or "VkResult -13" for codes not listed.
std::string result_name(VkResult r);

// "vkCreateBuffer failed: VK_ERROR_OUT_OF_DEVICE_MEMORY"
inline Error call_failed(std::string_view call, VkResult r) {
    return Error{std::string(call) + " failed: " + result_name(r)};
}

}  // namespace polymer::vk
