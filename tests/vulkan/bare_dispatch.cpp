#include "tests/vulkan/bare_dispatch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "assembler/kernel_spirv.h"
#include "vm/vulkan/compute_pipeline.h"
#include "vm/vulkan/device_handle.h"
#include "vm/vulkan/vulkan_buffer.h"

namespace polymer::test {

double bare_dispatch_us(vk::VulkanContext& ctx, const Kernel& k, std::uint64_t n, int reps) {
    auto spirv = kernel_spirv(k);
    if (!spirv) { std::fprintf(stderr, "error: %s\n", spirv.error().c_str()); return -1; }
    return bare_dispatch_us(ctx, k, *spirv.value(), n, reps);
}

double bare_dispatch_us(vk::VulkanContext& ctx, const Kernel& k, std::span<const std::uint32_t> spirv,
                        std::uint64_t n, int reps) {
    const auto params = static_cast<std::uint32_t>(k.params.size());
    vk::PipelineCache cache(ctx);
    auto pipe = cache.get(spirv, vk::PipelineShape{params, (5 + params) * 4});
    if (!pipe) { std::fprintf(stderr, "error: %s\n", pipe.error().c_str()); return -1; }
    // One buffer per parameter (a uniform's binding gets one too, unused).
    std::vector<vk::VulkanBuffer> buffers;
    for (std::uint32_t i = 0; i < params; ++i) {
        auto b = vk::VulkanBuffer::create(ctx, 4 * n);
        if (!b) return -1;
        buffers.push_back(std::move(b).value());
    }
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(1u, params)};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.maxSets = 1;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    VkDescriptorPool pool_raw = VK_NULL_HANDLE;
    if (vkCreateDescriptorPool(ctx.device(), &pi, nullptr, &pool_raw) != VK_SUCCESS) return -1;
    vk::DescriptorPoolHandle pool(ctx.device(), pool_raw);
    VkDescriptorSetLayout layout = pipe.value()->set_layout();
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_raw;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (vkAllocateDescriptorSets(ctx.device(), &ai, &set) != VK_SUCCESS) return -1;
    std::vector<VkDescriptorBufferInfo> infos(params);
    std::vector<VkWriteDescriptorSet> writes(params);
    for (std::uint32_t i = 0; i < params; ++i) {
        infos[i] = {buffers[i].handle(), 0, VK_WHOLE_SIZE};
        writes[i] = VkWriteDescriptorSet{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    vkUpdateDescriptorSets(ctx.device(), params, writes.data(), 0, nullptr);
    // Push constants (docs/kernels.md): base, end, count, pad, one slot per parameter.
    const auto n32 = static_cast<std::uint32_t>(n);
    std::vector<std::uint32_t> push = {0, n32, n32, 0};
    for (const KernelParam& p : k.params) push.push_back(p.kind == ParamKind::Uniform ? 0x3f800000u : n32);
    const vk::ComputePipeline& p = *pipe.value();
    const std::uint32_t max_groups = ctx.limits().maxComputeWorkGroupCount[0];
    double best = 1e300;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto status = ctx.submit_and_wait([&](VkCommandBuffer cmd) {
            vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline());
            vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout(), 0, 1, &set, 0, nullptr);
            for (std::uint64_t base = 0; base < n; base += std::uint64_t{max_groups} * 64) {
                push[0] = static_cast<std::uint32_t>(base);
                vkCmdPushConstants(cmd, p.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                   static_cast<std::uint32_t>(push.size() * 4), push.data());
                const std::uint64_t groups = std::min<std::uint64_t>(max_groups, (n - base + 63) / 64);
                vkCmdDispatch(cmd, static_cast<std::uint32_t>(groups), 1, 1);
            }
        });
        if (!status) return -1;
        best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

}  // namespace polymer::test
