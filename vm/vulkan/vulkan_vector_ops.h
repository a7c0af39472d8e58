// Runs the built-in vector ops (vm/vector_op.h) on a Vulkan device with the
// embedded shaders. f32, i32 and u32 regions only.
//
// Asynchronous use (VulkanBackend): prepare() copies the operands into device
// buffers and builds every pass; the caller records them into its own command
// buffer (record), submits it with its own fence, and once the fence has
// signalled calls finish(), which copies the result into the destination
// region or reads the reduction. Each PreparedVectorOp owns its buffers and
// descriptor sets until it is destroyed, so several may be in flight at once.
// run() does all of that synchronously on the context's command buffer.
//
// Memory: with `device_local` (discrete GPUs) the op's buffers live in
// device-local memory; operands go in and the result comes out through
// host-visible staging buffers, copied inside the same command buffer.
// Otherwise (lavapipe, integrated GPUs) the buffers are host-visible and the
// shaders read what the host wrote into them.
//
// Semantics as isa/opcodes.def. Where a GPU differs from the CPU loops:
// float sums, dots and scans accumulate in binary32 (in a tree order), so
// they match a binary64 reference within a tolerance, not bit for bit;
// integer sums and dots are exact 64-bit wrapping sums like the CPU's.
#pragma once

#include <deque>
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

class VulkanVectorOps;

// One vector op between prepare() and finish(): its buffers, descriptor sets
// and passes. Destroy it only once its commands have completed (or were
// never submitted).
class PreparedVectorOp {
public:
    ~PreparedVectorOp();
    PreparedVectorOp(const PreparedVectorOp&) = delete;
    PreparedVectorOp& operator=(const PreparedVectorOp&) = delete;

    // False when there is nothing to run on the device (empty regions, K = 0):
    // finish() then gives the result at once.
    bool needs_device() const { return !steps_.empty(); }
    // Records the staging copies in, every pass with barriers between them,
    // the staging copies out, and a barrier that makes the result visible to
    // the host. `max_groups_x` is the device's workgroup-count limit.
    void record(VkCommandBuffer cmd, std::uint32_t max_groups_x) const;
    // Copies the result into the destination region (element-wise ops) or
    // returns the reduction. Call once, after the commands have completed.
    VectorOpResult finish();

    std::uint64_t bytes_uploaded() const { return bytes_uploaded_; }
    std::uint64_t bytes_downloaded() const { return bytes_downloaded_; }

private:
    friend class VulkanVectorOps;
    struct Step {
        const ComputePipeline* pipeline;
        VkDescriptorSet set;
        PushConstants push;
        std::uint32_t groups_x, groups_y;
    };
    struct Copy {
        VkBuffer from, to;
        VkDeviceSize bytes;
    };
    enum class Output { None, Region, IntReduction, WideIntReduction, UintReduction, FloatReduction };

    PreparedVectorOp(VulkanVectorOps& ops, VkDescriptorPool pool) : ops_(ops), pool_(pool) {}
    Result<VulkanBuffer*> make_buffer(std::uint64_t bytes);  // device-side (device-local or host-visible)
    Result<VulkanBuffer*> upload(const RegionView& r);
    // The host reads `device` after the commands: through a staging copy
    // when `device` is device-local.
    Status set_output(VulkanBuffer* device, std::uint64_t bytes, Output kind);
    Status dispatch(const std::string& shader, std::initializer_list<VulkanBuffer*> buffers, PushConstants push,
                    std::uint32_t groups_x, std::uint32_t groups_y = 1);

    VulkanVectorOps& ops_;              // not owned; outlives this
    VkDescriptorPool pool_;             // borrowed from ops_ for this op's life
    std::deque<VulkanBuffer> buffers_;  // owned; a deque keeps their addresses stable
    std::vector<Step> steps_;
    std::vector<Copy> copies_in_, copies_out_;
    VulkanBuffer* host_result_ = nullptr;  // the host-visible buffer finish() reads
    std::uint64_t result_bytes_ = 0;
    Output output_ = Output::None;
    RegionView dst_;
    VectorOpResult immediate_;  // the result when nothing runs on the device
    std::uint64_t bytes_uploaded_ = 0, bytes_downloaded_ = 0;
};

class VulkanVectorOps {
public:
    // `ctx` must outlive this object, and every PreparedVectorOp must be
    // destroyed before it.
    static Result<std::unique_ptr<VulkanVectorOps>> create(VulkanContext& ctx, bool device_local = false);
    ~VulkanVectorOps();

    // True when the op has a shader for its regions' types.
    static bool supports(const VectorOpArgs& args);

    // Builds an op that check_vector_op() and supports() accepted: its input
    // regions are copied now, so the host may change them once this returns.
    // Errors are device failures (out of memory, lost device) or regions past
    // 2^32 - 1 elements.
    Result<std::unique_ptr<PreparedVectorOp>> prepare(const VectorOpArgs& args);
    // prepare + submit on the context's command buffer + wait + finish.
    Result<VectorOpResult> run(const VectorOpArgs& args);

    const PipelineCache& pipelines() const { return pipelines_; }
    bool device_local() const { return device_local_; }
    // Device buffers made so far (idle ones are reused: repeated ops on
    // regions of the same sizes make none).
    std::uint64_t buffers_created() const { return buffers_created_; }

private:
    friend class PreparedVectorOp;
    VulkanVectorOps(VulkanContext& ctx, bool device_local)
        : ctx_(ctx), pipelines_(ctx), device_local_(device_local) {}

    // Buffers are reused across ops: an op takes idle ones that fit and gives
    // them back when it is destroyed.
    Result<VulkanBuffer> acquire_buffer(std::uint64_t bytes, MemoryKind kind);
    void release_buffer(VulkanBuffer b);
    Result<VkDescriptorPool> acquire_pool();
    static Status record_scan(PreparedVectorOp& rec, const std::string& t, VulkanBuffer* dst, VulkanBuffer* src,
                              std::uint32_t n);
    void release_pool(VkDescriptorPool pool);
    static constexpr std::uint64_t kMaxIdleBytes = 256ull << 20;

    VulkanContext& ctx_;                      // not owned
    PipelineCache pipelines_;                 // owned
    bool device_local_;
    std::vector<DescriptorPoolHandle> pools_; // owned; one per op in flight at the most
    std::vector<VkDescriptorPool> idle_pools_;  // into pools_, reset and free to take
    std::vector<VulkanBuffer> idle_;          // owned; idle buffers, oldest first
    std::uint64_t idle_bytes_ = 0;
    std::uint64_t buffers_created_ = 0;
};

}  // namespace polymer::vk
