// Runs the built-in vector ops (vm/vector_op.h) on a Vulkan device with the
// embedded shaders: upload the operands, record every pass into one command
// buffer, submit, wait, download. f32, i32 and u32 regions only.
//
// Semantics as isa/opcodes.def. Where a GPU differs from the CPU loops:
// float sums, dots and scans accumulate in binary32 (in a tree order), so
// they match a binary64 reference within a tolerance, not bit for bit;
// integer sums and dots are exact 64-bit wrapping sums like the CPU's.
#pragma once

#include <memory>
#include <vector>

#include "vm/vector_op.h"
#include "vm/vulkan/compute_pipeline.h"
#include "vm/vulkan/vulkan_buffer.h"
#include "vm/vulkan/vulkan_context.h"

namespace polymer::vk {

// Mirrors the push-constant block of shaders/common.glsl.
struct PushConstants {
    std::uint32_t n = 0;
    std::uint32_t group_base = 0;
    std::uint32_t bits = 0;
    std::uint32_t rows = 0;
    std::uint32_t inner = 0;
    std::uint32_t cols = 0;
};
static_assert(sizeof(PushConstants) == 24);

class VulkanVectorOps {
public:
    // `ctx` must outlive this object.
    static Result<std::unique_ptr<VulkanVectorOps>> create(VulkanContext& ctx);
    ~VulkanVectorOps();

    // True when the op has a shader for its regions' types.
    static bool supports(const VectorOpArgs& args);

    // Runs an op that check_vector_op() accepted. Errors are device failures
    // (out of memory, lost device) or regions past 2^32 - 1 elements.
    Result<VectorOpResult> run(const VectorOpArgs& args);

    const PipelineCache& pipelines() const { return pipelines_; }

private:
    class Recording;
    explicit VulkanVectorOps(VulkanContext& ctx) : ctx_(ctx), pipelines_(ctx) {}

    // Buffers are reused across ops: an op takes idle ones that fit and gives
    // them back when it has finished.
    Result<VulkanBuffer> acquire_buffer(std::uint64_t bytes);
    void release_buffer(VulkanBuffer b);
    static constexpr std::uint64_t kMaxIdleBytes = 256ull << 20;

    VulkanContext& ctx_;             // not owned
    PipelineCache pipelines_;        // owned
    DescriptorPoolHandle pool_;      // owned; reset after every op
    std::vector<VulkanBuffer> idle_; // owned; idle buffers, oldest first
    std::uint64_t idle_bytes_ = 0;
};

}  // namespace polymer::vk
