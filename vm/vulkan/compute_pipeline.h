// ComputePipeline: a compute shader made runnable: shader module, a descriptor
// set layout of N storage buffers (bindings 0..N-1), one push-constant range,
// and the pipeline. PipelineCache keeps them keyed by a hash of the SPIR-V so
// each shader is compiled by the driver once per context.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "vm/vulkan/device_handle.h"
#include "vm/vulkan/float_controls.h"
#include "vm/vulkan/vulkan_context.h"

namespace polymer::vk {

struct PipelineShape {
    std::uint32_t storage_buffers = 0;
    std::uint32_t push_constant_bytes = 0;
    bool operator==(const PipelineShape&) const = default;
};

class ComputePipeline {
public:
    static Result<std::unique_ptr<ComputePipeline>> create(VkDevice device, VkPipelineCache cache,
                                                           std::span<const std::uint32_t> spirv, PipelineShape shape);

    VkPipeline pipeline() const { return pipeline_.get(); }
    VkPipelineLayout layout() const { return layout_.get(); }
    VkDescriptorSetLayout set_layout() const { return set_layout_.get(); }
    const PipelineShape& shape() const { return shape_; }

private:
    ComputePipeline() = default;
    // All owned; destroyed in reverse order (pipeline first).
    ShaderModuleHandle module_;
    SetLayoutHandle set_layout_;
    PipelineLayoutHandle layout_;
    PipelineHandle pipeline_;
    PipelineShape shape_;
};

// 64-bit FNV-1a of the words: the cache key.
std::uint64_t spirv_hash(std::span<const std::uint32_t> spirv);

class PipelineCache {
public:
    explicit PipelineCache(const VulkanContext& ctx);
    // Seeds the driver's cache with `initial` (bytes from a cache file whose
    // header the caller has checked); the driver ignores data it rejects.
    PipelineCache(const VulkanContext& ctx, std::span<const std::byte> initial);

    // The driver's cache contents, to be written to a file.
    Result<std::vector<std::byte>> serialize() const;

    // The pipeline for this SPIR-V and shape, created on first use with the
    // context's float controls. The pointer stays valid as long as the cache.
    Result<ComputePipeline*> get(std::span<const std::uint32_t> spirv, PipelineShape shape);

    std::size_t size() const { return entries_.size(); }
    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }

private:
    struct Entry {
        std::vector<std::uint32_t> spirv;  // compared on a hit, so a hash collision cannot alias
        std::unique_ptr<ComputePipeline> pipeline;  // owned
    };
    VkDevice device_;
    FloatControls float_controls_;  // added to each module before it is created
    PipelineCacheHandle vk_cache_;  // owned; the driver's cache
    std::unordered_multimap<std::uint64_t, Entry> entries_;
    std::uint64_t hits_ = 0, misses_ = 0;
};

}  // namespace polymer::vk
