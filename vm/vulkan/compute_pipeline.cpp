#include "vm/vulkan/compute_pipeline.h"

#include <algorithm>
#include <vector>

namespace polymer::vk {

Result<std::unique_ptr<ComputePipeline>> ComputePipeline::create(VkDevice device, VkPipelineCache cache,
                                                                 std::span<const std::uint32_t> spirv,
                                                                 PipelineShape shape) {
    std::unique_ptr<ComputePipeline> p(new ComputePipeline());
    p->shape_ = shape;

    VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    mi.codeSize = spirv.size_bytes();
    mi.pCode = spirv.data();
    VkShaderModule module = VK_NULL_HANDLE;
    VkResult r = vkCreateShaderModule(device, &mi, nullptr, &module);
    if (r != VK_SUCCESS) return call_failed("vkCreateShaderModule", r);
    p->module_ = ShaderModuleHandle(device, module);

    std::vector<VkDescriptorSetLayoutBinding> bindings(shape.storage_buffers);
    for (std::uint32_t i = 0; i < shape.storage_buffers; ++i) {
        bindings[i].binding = i;
        bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[i].descriptorCount = 1;
        bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    li.bindingCount = shape.storage_buffers;
    li.pBindings = bindings.data();
    VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
    r = vkCreateDescriptorSetLayout(device, &li, nullptr, &set_layout);
    if (r != VK_SUCCESS) return call_failed("vkCreateDescriptorSetLayout", r);
    p->set_layout_ = SetLayoutHandle(device, set_layout);

    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, shape.push_constant_bytes};
    VkPipelineLayoutCreateInfo pli{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pli.setLayoutCount = 1;
    pli.pSetLayouts = &set_layout;
    pli.pushConstantRangeCount = shape.push_constant_bytes > 0 ? 1 : 0;
    pli.pPushConstantRanges = &range;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    r = vkCreatePipelineLayout(device, &pli, nullptr, &layout);
    if (r != VK_SUCCESS) return call_failed("vkCreatePipelineLayout", r);
    p->layout_ = PipelineLayoutHandle(device, layout);

    VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    ci.stage.module = module;
    ci.stage.pName = "main";
    ci.layout = layout;
    VkPipeline pipeline = VK_NULL_HANDLE;
    r = vkCreateComputePipelines(device, cache, 1, &ci, nullptr, &pipeline);
    if (r != VK_SUCCESS) return call_failed("vkCreateComputePipelines", r);
    p->pipeline_ = PipelineHandle(device, pipeline);
    return p;
}

std::uint64_t spirv_hash(std::span<const std::uint32_t> spirv) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::uint32_t w : spirv)
        for (int byte = 0; byte < 4; ++byte) {
            h ^= (w >> (8 * byte)) & 0xffu;
            h *= 0x100000001b3ull;
        }
    return h;
}

PipelineCache::PipelineCache(const VulkanContext& ctx) : PipelineCache(ctx, {}) {}

PipelineCache::PipelineCache(const VulkanContext& ctx, std::span<const std::byte> initial)
    : device_(ctx.device()), float_controls_(ctx.float_controls()) {
    VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    ci.initialDataSize = initial.size();
    ci.pInitialData = initial.empty() ? nullptr : initial.data();
    VkPipelineCache cache = VK_NULL_HANDLE;
    // Without a driver cache pipelines are still created, only slower.
    if (vkCreatePipelineCache(device_, &ci, nullptr, &cache) == VK_SUCCESS) vk_cache_ = PipelineCacheHandle(device_, cache);
}

Result<std::vector<std::byte>> PipelineCache::serialize() const {
    if (!vk_cache_) return std::vector<std::byte>{};
    std::size_t size = 0;
    VkResult r = vkGetPipelineCacheData(device_, vk_cache_.get(), &size, nullptr);
    if (r != VK_SUCCESS) return call_failed("vkGetPipelineCacheData", r);
    std::vector<std::byte> data(size);
    r = vkGetPipelineCacheData(device_, vk_cache_.get(), &size, data.data());
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) return call_failed("vkGetPipelineCacheData", r);
    data.resize(size);
    return data;
}

Result<ComputePipeline*> PipelineCache::get(std::span<const std::uint32_t> spirv, PipelineShape shape) {
    std::uint64_t key = spirv_hash(spirv);
    auto [first, last] = entries_.equal_range(key);
    for (auto it = first; it != last; ++it) {
        const Entry& e = it->second;
        if (e.pipeline->shape() == shape && std::equal(spirv.begin(), spirv.end(), e.spirv.begin(), e.spirv.end())) {
            ++hits_;
            return e.pipeline.get();
        }
    }
    ++misses_;
    auto made = ComputePipeline::create(device_, vk_cache_.get(), with_float_controls(spirv, float_controls_), shape);
    if (!made) return Error{made.error()};
    ComputePipeline* p = made.value().get();
    entries_.emplace(key, Entry{std::vector<std::uint32_t>(spirv.begin(), spirv.end()), std::move(made.value())});
    return p;
}

}  // namespace polymer::vk
