#include "vm/backend_chooser.h"

#include <utility>

#include "vm/vulkan/vulkan_backend.h"

namespace polymer {

Result<ChosenBackend> choose_backend(BackendKind kind, std::uint32_t device_index, bool pipeline_cache) {
    ChosenBackend c;
    if (kind == BackendKind::Cpu) {
        c.backend = std::make_unique<RoutingBackend>(nullptr, RouteMode::Cpu);
        c.description = "cpu";
        return c;
    }
    VulkanBackendOptions o;
    o.device_index = device_index;
    o.pipeline_cache_enabled = pipeline_cache;
    auto vk = VulkanBackend::create(o);
    if (!vk.ok()) {
        if (kind == BackendKind::Vulkan) return Error{"cannot use the Vulkan backend: " + vk.error()};
        c.backend = std::make_unique<RoutingBackend>(nullptr, RouteMode::Cpu);
        c.description = "cpu (no usable Vulkan device)";
        c.notice = "no usable Vulkan device (" + vk.error() + "); running on the CPU backend";
        return c;
    }
    const vk::DeviceType type = vk.value()->device().type;
    const std::string device_name = vk.value()->device().name;
    const bool gpu = type == vk::DeviceType::Discrete || type == vk::DeviceType::Integrated;
    if (kind == BackendKind::Vulkan || gpu) {
        c.backend = std::make_unique<RoutingBackend>(std::move(vk).value(), RouteMode::Vulkan);
        c.description = "vulkan (" + device_name + ")";
        return c;
    }
    c.backend = std::make_unique<RoutingBackend>(std::move(vk).value(), RouteMode::BySize, lavapipe_routing_table());
    c.description = "auto (" + device_name + " by op size, else cpu)";
    return c;
}

}  // namespace polymer
