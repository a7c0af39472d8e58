// VulkanBuffer: a storage buffer and the memory bound to it.
//
// HostVisible: host-visible and coherent, mapped for its whole life: right for
// lavapipe and integrated GPUs, where that memory is the device's own, and
// for the staging buffers of a discrete GPU. DeviceLocal: the device's own
// memory, not mapped; filled and read back with vkCmdCopyBuffer through a
// staging buffer (VulkanBackend does this on discrete devices).
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>

#include "vm/vulkan/device_handle.h"
#include "vm/vulkan/vulkan_context.h"

namespace polymer::vk {

enum class MemoryKind { HostVisible, DeviceLocal };

class VulkanBuffer {
public:
    // A buffer of at least `bytes` bytes (zero-sized requests get 4 bytes,
    // since Vulkan has no empty buffers).
    static Result<VulkanBuffer> create(const VulkanContext& ctx, VkDeviceSize bytes,
                                       MemoryKind kind = MemoryKind::HostVisible);

    VulkanBuffer(VulkanBuffer&&) noexcept = default;
    VulkanBuffer& operator=(VulkanBuffer&&) noexcept = default;
    ~VulkanBuffer() = default;  // memory_ unmaps implicitly when freed

    VkBuffer handle() const { return buffer_.get(); }
    VkDeviceSize size() const { return size_; }
    MemoryKind kind() const { return mapped_ ? MemoryKind::HostVisible : MemoryKind::DeviceLocal; }

    // Host copies in and out (HostVisible only); `bytes` must not exceed size().
    void upload(const void* src, std::size_t bytes);
    void download(void* dst, std::size_t bytes) const;
    // Bytes [offset, offset + bytes) of the buffer to the same bytes of `dst`.
    void download(void* dst, std::size_t offset, std::size_t bytes) const;
    // The mapping (HostVisible only), for a word the device reads while it runs.
    void* mapped() const { return mapped_; }

private:
    VulkanBuffer() = default;
    // Declared memory first so the buffer is destroyed before its memory.
    MemoryHandle memory_;         // owned
    BufferHandle buffer_;         // owned
    void* mapped_ = nullptr;      // into memory_, valid while it lives
    VkDeviceSize size_ = 0;
};

}  // namespace polymer::vk
