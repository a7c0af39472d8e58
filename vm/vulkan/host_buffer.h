// HostBuffer: a storage buffer over memory the host already owns (a region's
// storage), through VK_EXT_external_memory_host. On lavapipe and integrated
// GPUs a kernel then reads and writes the region in place: no upload before
// the launch, no copy back after it.
//
// The import covers whole pages around [data, data + bytes) (the extension
// wants page-aligned pointers and sizes); the descriptor range is just the
// region, and the generated kernels bounds-check every access against the
// region's length, so the bytes around it are never touched.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>

#include "vm/vulkan/device_handle.h"
#include "vm/vulkan/vulkan_context.h"

namespace polymer::vk {

class HostBuffer {
public:
    // Fails (and the caller copies instead) when the device cannot import
    // host memory or `data` is not aligned as a storage-buffer offset must be.
    // `data` must stay valid until the buffer is gone.
    static Result<HostBuffer> import(const VulkanContext& ctx, void* data, std::size_t bytes);

    HostBuffer(HostBuffer&&) noexcept = default;
    HostBuffer& operator=(HostBuffer&&) noexcept = default;

    // For the descriptor: the region is [offset, offset + range) of handle().
    VkBuffer handle() const { return buffer_.get(); }
    VkDeviceSize offset() const { return offset_; }
    VkDeviceSize range() const { return range_; }

private:
    HostBuffer() = default;
    MemoryHandle memory_;  // declared first: the buffer goes before its memory
    BufferHandle buffer_;
    VkDeviceSize offset_ = 0;
    VkDeviceSize range_ = 0;
};

}  // namespace polymer::vk
