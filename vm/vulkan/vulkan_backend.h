// VulkanBackend: polymer::Backend on a Vulkan device. Vector ops go through
// VulkanVectorOps; kernel launches run the SPIR-V the kernel's verified IR
// lowers to (assembler/kernel_spirv.h: compiled once, cached by hash; never
// words from a module) under the kernel ABI of vm/kernel_launch.h.
//
// Ordering (what a program sees): one queue. A kernel launch copies every
// buffer argument into device buffers at submit, records one command buffer
// with its own fence, submits it and returns; wait() waits on the fence and
// copies out/inout buffers back into their regions. Before any submit, every
// earlier op still in flight that writes memory the new op touches (reads or
// writes) is waited for first, so a later op always sees an earlier op's
// writes and two writes land in submission order. A vector op goes the same
// way: its operands are copied in at submit, all its passes (and, on a
// discrete GPU, its staging copies) go into one command buffer with its own
// fence, and wait() copies the result into the destination region or hands
// back the reduction. Any number of tickets may be in flight. Ops on types
// without a shader (f64, i64, u8, mixed-type masks) run on the calling thread
// at submit; a router asks supports() first to send those to the CPU itself.
//
// Bytes moved (stats()): every copy between a region and a device buffer
// (a memcpy into mapped memory on lavapipe and integrated GPUs, through
// staging buffers on discrete ones).
//
// Errors: a device failure at submit or wait is kept and reported by
// take_error() (the op's results are then undefined: whoever runs the
// program must stop it); the VM asks can_run() before submitting a kernel.
//
// Faults: every launch binds a status buffer after its parameters
// (isa/kernel_status.h) in host-visible memory; the generated code records
// the lowest faulting lane there, and wait() reads it into the result's
// fault. While it waits, wait() polls the interrupt flag (vm/interrupt.h) and
// on Ctrl-C sets the status buffer's stop word, which every lane in a loop
// reads every kStopPollIterations iterations, so a long kernel ends promptly.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "assembler/kernel_spirv.h"
#include "vm/backend.h"
#include "vm/vulkan/compute_pipeline.h"
#include "vm/vulkan/host_buffer.h"
#include "vm/vulkan/vulkan_buffer.h"
#include "vm/vulkan/vulkan_context.h"
#include "vm/vulkan/vulkan_vector_ops.h"

namespace polymer {

struct VulkanBackendOptions {
    std::uint32_t device_index = 0;
    // Load the validation layers; unset: POLYMER_VK_VALIDATION=1 decides.
    std::optional<bool> validation;
    // Persist the driver's pipeline cache to
    // <dir>/pipeline-cache-<vendor>-<device>.bin. Empty dir: $XDG_CACHE_HOME/polymer,
    // else ~/.cache/polymer.
    bool pipeline_cache_enabled = true;
    std::filesystem::path pipeline_cache_dir;
    // Workgroups per dispatch; 0: the device's maxComputeWorkGroupCount[0].
    // Tests set it small to exercise the splitting of a launch.
    std::uint32_t max_groups_per_dispatch = 0;
    // Keep kernel buffers in device-local memory, filled and read back through
    // host-visible staging buffers. Unset: on for discrete GPUs only (an
    // integrated GPU or lavapipe reads host-visible memory as fast).
    std::optional<bool> device_local_buffers;
    // Where a kernel's SPIR-V comes from. Unset: lowered from the kernel's IR
    // (kernel_spirv(), kept under the pipeline cache dir when that is on).
    // Only tests set it, to run hand-written shaders.
    std::function<Result<SharedSpirv>(const Kernel&)> kernel_spirv;
    // Tests: from the Nth submit on (1 = the first), every submit fails with
    // VK_ERROR_DEVICE_LOST, as a lost device's do, so the error path can be
    // run without a device that fails. 0: never; unset: the environment
    // variable POLYMER_VK_FAIL_SUBMIT=N decides (so a test can do it to
    // polymer-run and polymer-node).
    std::optional<std::uint64_t> fail_submit_from;
};

// The most parameters a kernel may have on Vulkan: (128 - 20) / 4.
inline constexpr std::size_t kMaxVulkanKernelParams = 27;

// A kernel launch copies back (when its buffers are copies, not the regions
// in place) only what it may write: its lanes' elements of an
// element-indexed buffer, all of a broadcast one. Other elements of those
// buffers may be written by others while it runs (a cluster node's puts),
// as with the CPU backend, which writes its lanes in place.
class VulkanBackend final : public Backend {
public:
    static Result<std::unique_ptr<VulkanBackend>> create(const VulkanBackendOptions& options = {});
    ~VulkanBackend() override;

    std::string_view name() const override { return "vulkan"; }
    const vk::DeviceInfo& device() const { return ctx_->device_info(); }
    vk::VulkanContext& context() { return *ctx_; }

    // Whether this backend can run the launch; when not, `reason` (if given)
    // says why in one line ("kernel 'k' cannot be lowered to SPIR-V: ...").
    // The first call for a kernel lowers it.
    bool can_run(const KernelLaunch& launch, std::string* reason = nullptr) const;

    // Whether the vector op runs on the device (has a shader for its types).
    static bool supports(const VectorOpArgs& args) { return vk::VulkanVectorOps::supports(args); }

    Ticket submit(const VectorOpArgs& args) override;
    Ticket submit(const KernelLaunch& launch) override;
    VectorOpResult wait(Ticket ticket) override;
    void wait_all() override;
    BackendStats stats() const override { return stats_; }
    // Finishes (keeping results for wait) every op in flight that writes
    // memory the given op reads or writes: for a router that is about to run
    // that op on another backend.
    void finish_conflicting(const VectorOpArgs& args) {
        if (!in_flight_.empty()) wait_for_hazards(regions_of(args));
    }
    void finish_conflicting(const KernelLaunch& launch) {
        if (!in_flight_.empty()) wait_for_hazards(regions_of(launch));
    }
    // Tickets submitted and not yet finished on the device.
    std::size_t in_flight() const { return in_flight_.size(); }
    const vk::VulkanVectorOps& vector_ops() const { return *vector_ops_; }

    // The first device error since the last call (empty when none).
    std::string take_error();

    // Where the pipeline cache file lives (empty when persisting is off).
    const std::filesystem::path& pipeline_cache_file() const { return cache_file_; }
    // Writes the pipeline cache file now (also done by the destructor).
    vk::Status save_pipeline_cache();
    const vk::PipelineCache& kernel_pipelines() const { return *pipelines_; }
    // Whether kernel buffers live in device-local memory behind staging buffers.
    bool uses_staging() const { return device_local_; }
    // Whether the cache file existed and was accepted at create().
    bool pipeline_cache_loaded() const { return cache_loaded_; }

private:
    struct Region {  // a host byte range an op reads or writes
        const std::byte* begin;
        const std::byte* end;
        bool written;
    };
    struct Copyback {  // bytes [offset, offset + bytes) of the buffer to the same bytes of dst
        std::size_t buffer;  // index into InFlight::buffers
        void* dst;
        std::size_t offset;
        std::size_t bytes;
    };
    struct InFlight {
        Ticket ticket = 0;
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        VkFence fence = VK_NULL_HANDLE;
        VkDescriptorSet set = VK_NULL_HANDLE;
        VkDescriptorPool pool = VK_NULL_HANDLE;
        std::vector<vk::VulkanBuffer> buffers;
        std::vector<vk::HostBuffer> in_place;  // regions the kernel works on where they are
        std::vector<Copyback> copybacks;
        std::vector<Region> regions;
        std::unique_ptr<vk::PreparedVectorOp> vector_op;  // vector ops only
        std::optional<vk::VulkanBuffer> status;  // kernels: the launch's status buffer (isa/kernel_status.h)
        const std::atomic<bool>* cancel = nullptr;  // kernels: the launch's own stop request
    };

    // A kernel's SPIR-V, looked up once per kernel object: a launch costs a
    // comparison with the kernel seen before, not a lowering and a hash.
    struct Lowered {
        Kernel kernel;  // what the words were made from (a kernel freed and another made at its address differs)
        Result<SharedSpirv> spirv;
    };

    VulkanBackend() = default;
    const Result<SharedSpirv>& spirv_of(const Kernel& k) const;
    static std::vector<Region> regions_of(const VectorOpArgs& args);
    static std::vector<Region> regions_of(const KernelLaunch& launch);
    vk::Status init(const VulkanBackendOptions& options);
    vk::Status submit_kernel(const KernelLaunch& launch, Ticket ticket);
    vk::Status submit_vector_op(const VectorOpArgs& args, Ticket ticket, std::vector<Region> regions);
    // A command buffer (reset, recording) and an unsignalled fence of its own.
    vk::Status begin_commands(InFlight& op);
    // Ends op's command buffer and submits it with op's fence; on success op
    // moves into in_flight_, on failure it stays with the caller.
    VkResult end_and_submit(InFlight& op);
    void wait_for_hazards(const std::vector<Region>& regions);
    VectorOpResult finish(InFlight& op);  // waits on its fence, copies back, recycles
    void note_error(std::string message);
    Result<vk::VulkanBuffer> acquire_buffer(std::uint64_t bytes, vk::MemoryKind kind);
    void release_buffer(vk::VulkanBuffer b);
    Result<VkDescriptorSet> allocate_set(VkDescriptorSetLayout layout, VkDescriptorPool* from);

    std::unique_ptr<vk::VulkanContext> ctx_;
    std::unique_ptr<vk::VulkanVectorOps> vector_ops_;
    std::unique_ptr<vk::PipelineCache> pipelines_;  // kernels' pipelines
    std::function<Result<SharedSpirv>(const Kernel&)> kernel_spirv_;
    mutable std::unordered_map<const Kernel*, Lowered> lowered_;
    std::unique_ptr<vk::VulkanBuffer> dummy_;       // 4 bytes, for parameters without storage
    VkQueue queue_ = VK_NULL_HANDLE;
    vk::CommandPoolHandle command_pool_;
    std::vector<vk::DescriptorPoolHandle> descriptor_pools_;
    std::vector<std::pair<VkCommandBuffer, VkFence>> idle_cmds_;
    std::vector<vk::FenceHandle> fences_;  // every fence made, destroyed at the end
    std::vector<vk::VulkanBuffer> idle_buffers_;
    std::uint64_t idle_bytes_ = 0;
    std::deque<InFlight> in_flight_;       // submission order
    std::unordered_map<Ticket, VectorOpResult> finished_;  // done, not yet waited for
    Ticket next_ = 1;
    std::string error_;
    std::filesystem::path cache_file_;
    bool cache_loaded_ = false;
    std::uint32_t max_groups_ = 0;
    std::uint64_t submits_ = 0, fail_submit_from_ = 0;  // fail_submit_from (tests)
    bool device_local_ = false;  // buffers in device-local memory + staging
    BackendStats stats_;
};

}  // namespace polymer
