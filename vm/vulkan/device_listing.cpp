#include "vm/vulkan/device_listing.h"

#include <cstdio>

#include "vm/vulkan/vulkan_context.h"

namespace polymer {

std::string describe_vulkan_devices() {
    auto devices = vk::VulkanContext::list_devices();
    if (!devices) return "no Vulkan devices: " + devices.error() + "\n";
    if (devices.value().empty()) return "no Vulkan devices: the Vulkan loader found none\n";
    std::string out;
    for (const vk::DeviceInfo& d : devices.value()) {
        char memory[32];
        std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(d.memory_bytes) / (1ull << 30));
        out += std::to_string(d.index) + ": " + d.name + ", " + vk::device_type_name(d.type) + ", " + memory +
               ", Vulkan " + d.api_version_text() + ", backend vulkan\n";
    }
    return out;
}

}  // namespace polymer
