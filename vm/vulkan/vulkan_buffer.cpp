#include "vm/vulkan/vulkan_buffer.h"

#include <cassert>
#include <cstring>

namespace polymer::vk {

Result<VulkanBuffer> VulkanBuffer::create(const VulkanContext& ctx, VkDeviceSize bytes, MemoryKind kind) {
    VulkanBuffer b;
    b.size_ = bytes == 0 ? 4 : bytes;
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = b.size_;
    bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkResult r = vkCreateBuffer(ctx.device(), &bi, nullptr, &buffer);
    if (r != VK_SUCCESS) return call_failed("vkCreateBuffer", r);
    b.buffer_ = BufferHandle(ctx.device(), buffer);

    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx.device(), buffer, &req);
    const bool host = kind == MemoryKind::HostVisible;
    auto type = host ? ctx.find_memory_type(req.memoryTypeBits,
                                            VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                                            VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                     : ctx.find_memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!type)
        return Error{"Vulkan device '" + ctx.device_info().name + "' has no " +
                     (host ? "host-visible coherent" : "device-local") + " memory"};
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = *type;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    r = vkAllocateMemory(ctx.device(), &ai, nullptr, &memory);
    if (r != VK_SUCCESS) return call_failed("vkAllocateMemory (" + std::to_string(req.size) + " bytes)", r);
    b.memory_ = MemoryHandle(ctx.device(), memory);
    r = vkBindBufferMemory(ctx.device(), buffer, memory, 0);
    if (r != VK_SUCCESS) return call_failed("vkBindBufferMemory", r);
    if (!host) return b;
    r = vkMapMemory(ctx.device(), memory, 0, VK_WHOLE_SIZE, 0, &b.mapped_);
    if (r != VK_SUCCESS) return call_failed("vkMapMemory", r);
    return b;
}

void VulkanBuffer::upload(const void* src, std::size_t bytes) {
    assert(bytes <= size_ && mapped_);
    if (bytes != 0) std::memcpy(mapped_, src, bytes);
}

void VulkanBuffer::download(void* dst, std::size_t bytes) const { download(dst, 0, bytes); }

void VulkanBuffer::download(void* dst, std::size_t offset, std::size_t bytes) const {
    assert(offset <= size_ && bytes <= size_ - offset && mapped_);
    if (bytes != 0) std::memcpy(static_cast<std::byte*>(dst) + offset, static_cast<const std::byte*>(mapped_) + offset, bytes);
}

}  // namespace polymer::vk
