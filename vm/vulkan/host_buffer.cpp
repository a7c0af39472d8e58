#include "vm/vulkan/host_buffer.h"

#include <bit>
#include <cstdint>

namespace polymer::vk {

Result<HostBuffer> HostBuffer::import(const VulkanContext& ctx, void* data, std::size_t bytes) {
    if (!ctx.can_import_host_memory()) return Error{"the device cannot import host memory"};
    const auto address = reinterpret_cast<std::uintptr_t>(data);
    const VkDeviceSize page = ctx.host_import_alignment();
    const VkDeviceSize offset_alignment = ctx.limits().minStorageBufferOffsetAlignment;
    if (data == nullptr || bytes == 0 || !std::has_single_bit(page) || address % offset_alignment != 0)
        return Error{"the region's storage is not aligned for a host import"};
    const std::uintptr_t first = address & ~(page - 1);
    const std::uintptr_t end = (address + bytes + page - 1) & ~(page - 1);
    void* base = reinterpret_cast<void*>(first);
    const std::uint32_t host_types = ctx.host_pointer_memory_types(base);
    if (host_types == 0) return Error{"vkGetMemoryHostPointerPropertiesEXT refused the region's storage"};

    HostBuffer b;
    b.offset_ = address - first;
    b.range_ = bytes;
    VkExternalMemoryBufferCreateInfo external{VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO};
    external.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.pNext = &external;
    bi.size = end - first;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkResult r = vkCreateBuffer(ctx.device(), &bi, nullptr, &buffer);
    if (r != VK_SUCCESS) return call_failed("vkCreateBuffer (host import)", r);
    b.buffer_ = BufferHandle(ctx.device(), buffer);

    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device(), buffer, &req);
    auto type = ctx.find_memory_type(req.memoryTypeBits & host_types, VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!type || req.size > bi.size) return Error{"no memory type can hold the imported region"};
    VkImportMemoryHostPointerInfoEXT import_info{VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT};
    import_info.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT;
    import_info.pHostPointer = base;
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.pNext = &import_info;
    ai.allocationSize = bi.size;
    ai.memoryTypeIndex = *type;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    r = vkAllocateMemory(ctx.device(), &ai, nullptr, &memory);
    if (r != VK_SUCCESS) return call_failed("vkAllocateMemory (host import)", r);
    b.memory_ = MemoryHandle(ctx.device(), memory);
    r = vkBindBufferMemory(ctx.device(), buffer, memory, 0);
    if (r != VK_SUCCESS) return call_failed("vkBindBufferMemory (host import)", r);
    return b;
}

}  // namespace polymer::vk
