// VulkanContext: one Vulkan instance, one logical device on a chosen physical
// device, its compute queue, and a reusable command buffer + fence for
// synchronous submits. Not thread-safe: one thread drives a context.
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "isa/result.h"
#include "vm/vulkan/device_handle.h"
#include "vm/vulkan/float_controls.h"
#include "vm/vulkan/vulkan_status.h"

namespace polymer::vk {

enum class DeviceType { Other, Integrated, Discrete, Virtual, Cpu };
const char* device_type_name(DeviceType t);  // "discrete", "integrated", "cpu", ...

struct DeviceInfo {
    std::uint32_t index = 0;          // position in vkEnumeratePhysicalDevices order
    std::string name;                 // "llvmpipe (LLVM 15.0.6, 256 bits)"
    DeviceType type = DeviceType::Other;
    std::uint64_t memory_bytes = 0;   // sum of the device-local heaps
    std::uint32_t api_version = 0;    // VK_MAKE_API_VERSION encoding
    std::string api_version_text() const;  // "1.3.230"
};

struct ContextOptions {
    // Load VK_LAYER_KHRONOS_validation and count its errors. Unset: on when
    // the environment has POLYMER_VK_VALIDATION=1.
    std::optional<bool> validation;
    std::uint32_t device_index = 0;
};

class VulkanContext {
public:
    static Result<std::unique_ptr<VulkanContext>> create(const ContextOptions& options = {});
    // Lists the physical devices through a short-lived instance.
    static Result<std::vector<DeviceInfo>> list_devices();

    ~VulkanContext();
    VulkanContext(const VulkanContext&) = delete;
    VulkanContext& operator=(const VulkanContext&) = delete;

    const DeviceInfo& device_info() const { return info_; }
    VkDevice device() const { return device_; }
    VkPhysicalDevice physical_device() const { return physical_; }
    const VkPhysicalDeviceLimits& limits() const { return limits_; }
    std::uint32_t queue_family() const { return queue_family_; }

    bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }
    // Validation messages of severity error (and warning) seen so far.
    std::uint32_t validation_errors() const { return validation_errors_.load(); }
    std::uint32_t validation_warnings() const { return validation_warnings_.load(); }
    // Sends a message through the debug-utils path, as the layer would; lets a
    // test prove that errors are counted. No effect without validation.
    void inject_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity, const char* text);

    // A memory type allowed by `type_bits` with all `required` flags,
    // preferring one that also has `preferred`.
    std::optional<std::uint32_t> find_memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                                                  VkMemoryPropertyFlags preferred = 0) const;

    // VK_EXT_external_memory_host, enabled on devices whose memory is the
    // host's (CPU and integrated): a buffer can then be bound to the host's
    // own memory, so a kernel works on a region in place, without copies.
    bool can_import_host_memory() const { return host_pointer_properties_ != nullptr; }
    VkDeviceSize host_import_alignment() const { return host_import_alignment_; }
    // The memory types a host pointer can be imported as (0 when it cannot).
    std::uint32_t host_pointer_memory_types(const void* pointer) const;

    // The float controls every pipeline asks for (vm/vulkan/float_controls.h).
    const FloatControls& float_controls() const { return float_controls_; }
    // Whether shaders may use float64 (the exact fma needs it; wide kernels too).
    bool shader_float64() const { return shader_float64_; }
    // Whether shaders may use int64 (wide kernels need it).
    bool shader_int64() const { return shader_int64_; }

    // Records commands with `record` into the context's command buffer,
    // submits them to the compute queue and blocks until they have finished.
    Status submit_and_wait(const std::function<void(VkCommandBuffer)>& record);

private:
    VulkanContext() = default;
    static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                           VkDebugUtilsMessageTypeFlagsEXT types,
                                                           const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                           void* self);

    // Destroyed by hand in ~VulkanContext, in reverse order of creation:
    VkInstance instance_ = VK_NULL_HANDLE;                  // owned
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;   // owned; only with validation
    VkDevice device_ = VK_NULL_HANDLE;                      // owned
    // Owned; reset explicitly in ~VulkanContext before the device goes:
    CommandPoolHandle command_pool_;                        // frees command_buffer_ with it
    FenceHandle fence_;
    // Not owned (belong to the instance / device / pool):
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    VkCommandBuffer command_buffer_ = VK_NULL_HANDLE;

    DeviceInfo info_;
    VkPhysicalDeviceLimits limits_{};
    VkPhysicalDeviceMemoryProperties memory_{};
    std::uint32_t queue_family_ = 0;
    PFN_vkGetMemoryHostPointerPropertiesEXT host_pointer_properties_ = nullptr;  // null: no host import
    VkDeviceSize host_import_alignment_ = 0;
    FloatControls float_controls_;
    bool shader_float64_ = false;
    bool shader_int64_ = false;
    std::atomic<std::uint32_t> validation_errors_{0};
    std::atomic<std::uint32_t> validation_warnings_{0};
};

}  // namespace polymer::vk
