#include "vm/vulkan/vulkan_context.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace polymer::vk {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";
// The built-in shaders are compiled for --target-env vulkan1.1.
constexpr std::uint32_t kApiVersion = VK_API_VERSION_1_1;

bool env_is(const char* name, std::string_view value) {
    const char* v = std::getenv(name);
    return v != nullptr && value == v;
}

// The error for "the loader found no driver", with the usual cause named.
Error no_device_error() {
    std::string msg = "no Vulkan device found";
    const char* icd = std::getenv("VK_ICD_FILENAMES");
    if (icd == nullptr) icd = std::getenv("VK_DRIVER_FILES");
    if (icd != nullptr)
        msg += std::string(" (VK_ICD_FILENAMES=") + icd + " hides the installed drivers?)";
    else
        msg += " (is a Vulkan driver installed? on a machine without a GPU: package mesa-vulkan-drivers)";
    return Error{msg};
}

bool layer_available(const char* layer) {
    std::uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> layers(count);
    vkEnumerateInstanceLayerProperties(&count, layers.data());
    for (const auto& l : layers)
        if (std::strcmp(l.layerName, layer) == 0) return true;
    return false;
}

DeviceType to_device_type(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return DeviceType::Integrated;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return DeviceType::Discrete;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return DeviceType::Virtual;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return DeviceType::Cpu;
    default: return DeviceType::Other;
    }
}

bool has_device_extension(VkPhysicalDevice pd, const char* name) {
    std::uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> exts(count);
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, exts.data());
    return std::any_of(exts.begin(), exts.end(),
                       [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

DeviceInfo describe(VkPhysicalDevice pd, std::uint32_t index) {
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(pd, &props);
    VkPhysicalDeviceMemoryProperties mem{};
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    DeviceInfo info;
    info.index = index;
    info.name = props.deviceName;
    info.type = to_device_type(props.deviceType);
    info.api_version = props.apiVersion;
    for (std::uint32_t h = 0; h < mem.memoryHeapCount; ++h)
        if (mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) info.memory_bytes += mem.memoryHeaps[h].size;
    return info;
}

// A plain instance (no layers) for listing devices, or the context's own.
Result<VkInstance> create_instance(bool validation) {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "polymer";
    app.pEngineName = "polymer";
    app.apiVersion = kApiVersion;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    if (validation) {
        if (!layer_available(kValidationLayer))
            return Error{std::string("Vulkan validation was asked for but ") + kValidationLayer +
                         " is not installed (package vulkan-validationlayers)"};
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = &kValidationLayer;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = &ext;
    }
    VkInstance instance = VK_NULL_HANDLE;
    VkResult r = vkCreateInstance(&ci, nullptr, &instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER) return no_device_error();
    if (r != VK_SUCCESS) return call_failed("vkCreateInstance", r);
    return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
    std::uint32_t count = 0;
    vkEnumeratePhysicalDevices(instance, &count, nullptr);
    std::vector<VkPhysicalDevice> devices(count);
    vkEnumeratePhysicalDevices(instance, &count, devices.data());
    devices.resize(count);
    return devices;
}

}  // namespace

const char* device_type_name(DeviceType t) {
    switch (t) {
    case DeviceType::Integrated: return "integrated";
    case DeviceType::Discrete: return "discrete";
    case DeviceType::Virtual: return "virtual";
    case DeviceType::Cpu: return "cpu";
    case DeviceType::Other: return "other";
    }
    return "other";
}

std::string DeviceInfo::api_version_text() const {
    return std::to_string(VK_API_VERSION_MAJOR(api_version)) + "." + std::to_string(VK_API_VERSION_MINOR(api_version)) +
           "." + std::to_string(VK_API_VERSION_PATCH(api_version));
}

Result<std::vector<DeviceInfo>> VulkanContext::list_devices() {
    auto instance = create_instance(false);
    if (!instance) return Error{instance.error()};
    std::vector<DeviceInfo> infos;
    auto devices = physical_devices(instance.value());
    for (std::uint32_t i = 0; i < devices.size(); ++i) infos.push_back(describe(devices[i], i));
    vkDestroyInstance(instance.value(), nullptr);
    if (infos.empty()) return no_device_error();
    return infos;
}

Result<std::unique_ptr<VulkanContext>> VulkanContext::create(const ContextOptions& options) {
    bool validation = options.validation.value_or(env_is("POLYMER_VK_VALIDATION", "1"));
    std::unique_ptr<VulkanContext> ctx(new VulkanContext());
    auto instance = create_instance(validation);
    if (!instance) return Error{instance.error()};
    ctx->instance_ = instance.value();

    if (validation) {
        auto create_messenger = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(ctx->instance_, "vkCreateDebugUtilsMessengerEXT"));
        if (create_messenger == nullptr) return Error{"Vulkan validation: vkCreateDebugUtilsMessengerEXT is missing"};
        VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
        mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
        mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
        mi.pfnUserCallback = &VulkanContext::on_debug_message;
        mi.pUserData = ctx.get();
        VkResult r = create_messenger(ctx->instance_, &mi, nullptr, &ctx->messenger_);
        if (r != VK_SUCCESS) return call_failed("vkCreateDebugUtilsMessengerEXT", r);
    }

    auto devices = physical_devices(ctx->instance_);
    if (devices.empty()) return no_device_error();
    if (options.device_index >= devices.size()) {
        std::string msg = "Vulkan device " + std::to_string(options.device_index) + " does not exist (" +
                          std::to_string(devices.size()) + " found:";
        for (std::uint32_t i = 0; i < devices.size(); ++i) msg += " " + std::to_string(i) + " = " + describe(devices[i], i).name;
        return Error{msg + ")"};
    }
    ctx->physical_ = devices[options.device_index];
    ctx->info_ = describe(ctx->physical_, options.device_index);
    if (ctx->info_.api_version < kApiVersion)
        return Error{"Vulkan device '" + ctx->info_.name + "' supports only Vulkan " + ctx->info_.api_version_text() +
                     "; Polymer needs 1.1"};
    VkPhysicalDeviceProperties props{};
    vkGetPhysicalDeviceProperties(ctx->physical_, &props);
    ctx->limits_ = props.limits;
    vkGetPhysicalDeviceMemoryProperties(ctx->physical_, &ctx->memory_);

    std::uint32_t family_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_, &family_count, nullptr);
    std::vector<VkQueueFamilyProperties> families(family_count);
    vkGetPhysicalDeviceQueueFamilyProperties(ctx->physical_, &family_count, families.data());
    std::optional<std::uint32_t> family;
    for (std::uint32_t i = 0; i < family_count && !family; ++i)
        if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = i;
    if (!family) return Error{"Vulkan device '" + ctx->info_.name + "' has no compute queue"};
    ctx->queue_family_ = *family;

    float priority = 1.0f;
    VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qi.queueFamilyIndex = *family;
    qi.queueCount = 1;
    qi.pQueuePriorities = &priority;
    VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    // Host memory import only where host memory is the device's own: on a
    // discrete GPU a kernel would read it across the bus, so staging stays.
    const char* host_import = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
    const bool shares_host_memory =
        ctx->info_.type == DeviceType::Cpu || ctx->info_.type == DeviceType::Integrated;
    const bool import = shares_host_memory && has_device_extension(ctx->physical_, host_import);
    std::vector<const char*> extensions;
    if (import) extensions.push_back(host_import);
    const char* float_controls = VK_KHR_SHADER_FLOAT_CONTROLS_EXTENSION_NAME;
    ctx->float_controls_ = query_float_controls(ctx->physical_, has_device_extension(ctx->physical_, float_controls));
    if (ctx->float_controls_.any()) extensions.push_back(float_controls);
    di.enabledExtensionCount = static_cast<std::uint32_t>(extensions.size());
    di.ppEnabledExtensionNames = extensions.data();
    // float64, where the device has it, for the exactly rounded fma of
    // kernels and vfma (shaders/fma_exact.glsl); int64 and float64 for wide
    // kernels (docs/kernels.md, "Wide kernels on Vulkan").
    VkPhysicalDeviceFeatures supported{}, enabled{};
    vkGetPhysicalDeviceFeatures(ctx->physical_, &supported);
    enabled.shaderFloat64 = supported.shaderFloat64;
    enabled.shaderInt64 = supported.shaderInt64;
    ctx->shader_float64_ = supported.shaderFloat64 == VK_TRUE;
    ctx->shader_int64_ = supported.shaderInt64 == VK_TRUE;
    di.pEnabledFeatures = &enabled;
    VkResult r = vkCreateDevice(ctx->physical_, &di, nullptr, &ctx->device_);
    if (r != VK_SUCCESS) return call_failed("vkCreateDevice", r);
    if (import) {
        VkPhysicalDeviceExternalMemoryHostPropertiesEXT host_props{
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
        VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
        props2.pNext = &host_props;
        vkGetPhysicalDeviceProperties2(ctx->physical_, &props2);
        ctx->host_import_alignment_ = host_props.minImportedHostPointerAlignment;
        ctx->host_pointer_properties_ = reinterpret_cast<PFN_vkGetMemoryHostPointerPropertiesEXT>(
            vkGetDeviceProcAddr(ctx->device_, "vkGetMemoryHostPointerPropertiesEXT"));
        if (ctx->host_import_alignment_ == 0) ctx->host_pointer_properties_ = nullptr;
    }
    vkGetDeviceQueue(ctx->device_, *family, 0, &ctx->queue_);

    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pi.queueFamilyIndex = *family;
    VkCommandPool pool = VK_NULL_HANDLE;
    r = vkCreateCommandPool(ctx->device_, &pi, nullptr, &pool);
    if (r != VK_SUCCESS) return call_failed("vkCreateCommandPool", r);
    ctx->command_pool_ = CommandPoolHandle(ctx->device_, pool);

    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    r = vkAllocateCommandBuffers(ctx->device_, &ai, &ctx->command_buffer_);
    if (r != VK_SUCCESS) return call_failed("vkAllocateCommandBuffers", r);

    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence = VK_NULL_HANDLE;
    r = vkCreateFence(ctx->device_, &fi, nullptr, &fence);
    if (r != VK_SUCCESS) return call_failed("vkCreateFence", r);
    ctx->fence_ = FenceHandle(ctx->device_, fence);
    return ctx;
}

VulkanContext::~VulkanContext() {
    if (device_ != VK_NULL_HANDLE) {
        vkDeviceWaitIdle(device_);
        fence_.reset();
        command_pool_.reset();
        vkDestroyDevice(device_, nullptr);
    }
    if (messenger_ != VK_NULL_HANDLE) {
        auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy != nullptr) destroy(instance_, messenger_, nullptr);
    }
    if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

VKAPI_ATTR VkBool32 VKAPI_CALL VulkanContext::on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                               VkDebugUtilsMessageTypeFlagsEXT,
                                                               const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                               void* self) {
    auto* ctx = static_cast<VulkanContext*>(self);
    bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    (error ? ctx->validation_errors_ : ctx->validation_warnings_).fetch_add(1);
    std::fprintf(stderr, "vulkan validation %s: %s\n", error ? "error" : "warning",
                 data && data->pMessage ? data->pMessage : "(no message)");
    return VK_FALSE;  // never abort the call that triggered the message
}

void VulkanContext::inject_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity, const char* text) {
    if (messenger_ == VK_NULL_HANDLE) return;
    auto submit = reinterpret_cast<PFN_vkSubmitDebugUtilsMessageEXT>(
        vkGetInstanceProcAddr(instance_, "vkSubmitDebugUtilsMessageEXT"));
    if (submit == nullptr) return;
    VkDebugUtilsMessengerCallbackDataEXT data{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT};
    data.pMessage = text;
    submit(instance_, severity, VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT, &data);
}

std::optional<std::uint32_t> VulkanContext::find_memory_type(std::uint32_t type_bits, VkMemoryPropertyFlags required,
                                                             VkMemoryPropertyFlags preferred) const {
    std::optional<std::uint32_t> fallback;
    for (std::uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
        if (!(type_bits & (1u << i))) continue;
        VkMemoryPropertyFlags flags = memory_.memoryTypes[i].propertyFlags;
        if ((flags & required) != required) continue;
        if ((flags & preferred) == preferred) return i;
        if (!fallback) fallback = i;
    }
    return fallback;
}

Status VulkanContext::submit_and_wait(const std::function<void(VkCommandBuffer)>& record) {
    VkResult r = vkResetCommandBuffer(command_buffer_, 0);
    if (r != VK_SUCCESS) return call_failed("vkResetCommandBuffer", r);
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    r = vkBeginCommandBuffer(command_buffer_, &bi);
    if (r != VK_SUCCESS) return call_failed("vkBeginCommandBuffer", r);
    record(command_buffer_);
    r = vkEndCommandBuffer(command_buffer_);
    if (r != VK_SUCCESS) return call_failed("vkEndCommandBuffer", r);

    VkFence fence = fence_.get();
    r = vkResetFences(device_, 1, &fence);
    if (r != VK_SUCCESS) return call_failed("vkResetFences", r);
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &command_buffer_;
    r = vkQueueSubmit(queue_, 1, &si, fence);
    if (r != VK_SUCCESS) return call_failed("vkQueueSubmit", r);
    r = vkWaitForFences(device_, 1, &fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) return call_failed("vkWaitForFences", r);
    return ok_status();
}

std::uint32_t VulkanContext::host_pointer_memory_types(const void* pointer) const {
    if (host_pointer_properties_ == nullptr) return 0;
    VkMemoryHostPointerPropertiesEXT props{VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
    VkResult r = host_pointer_properties_(device_, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, pointer, &props);
    return r == VK_SUCCESS ? props.memoryTypeBits : 0;
}

}  // namespace polymer::vk
