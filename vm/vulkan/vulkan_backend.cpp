#include "vm/vulkan/vulkan_backend.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "assembler/kernel_glsl.h"
#include "isa/kernel_status.h"
#include "vm/interrupt.h"

#include "vm/vulkan/pipeline_cache_file.h"

namespace polymer {
namespace {

constexpr std::uint32_t kLocalSize = 64;             // local_size_x of every kernel (the ABI)
constexpr std::uint32_t kPushHeaderWords = 5;        // base, end, count, budget, first
constexpr std::uint32_t kSetsPerPool = 256;
constexpr std::uint64_t kMaxIdleBytes = 256ull << 20;
constexpr std::size_t kMaxLoweredKernels = 1024;

bool overlaps(const std::byte* a0, const std::byte* a1, const std::byte* b0, const std::byte* b1) {
    return a0 < b1 && b0 < a1;
}

}  // namespace

Result<std::unique_ptr<VulkanBackend>> VulkanBackend::create(const VulkanBackendOptions& options) {
    std::unique_ptr<VulkanBackend> b(new VulkanBackend());
    if (auto s = b->init(options); !s) return Error{s.error()};
    return b;
}

vk::Status VulkanBackend::init(const VulkanBackendOptions& options) {
    vk::ContextOptions co;
    co.device_index = options.device_index;
    co.validation = options.validation;
    auto ctx = vk::VulkanContext::create(co);
    if (!ctx) return Error{ctx.error()};
    ctx_ = std::move(ctx.value());
    max_groups_ = ctx_->limits().maxComputeWorkGroupCount[0];
    if (options.max_groups_per_dispatch != 0) max_groups_ = std::min(max_groups_, options.max_groups_per_dispatch);
    device_local_ = options.device_local_buffers.value_or(ctx_->device_info().type == vk::DeviceType::Discrete);
    if (options.fail_submit_from) {
        fail_submit_from_ = *options.fail_submit_from;
    } else if (const char* from = std::getenv("POLYMER_VK_FAIL_SUBMIT")) {
        std::from_chars(from, from + std::strlen(from), fail_submit_from_);
    }
    auto ops = vk::VulkanVectorOps::create(*ctx_, device_local_);
    if (!ops) return Error{ops.error()};
    vector_ops_ = std::move(ops.value());

    if (options.pipeline_cache_enabled) {
        std::filesystem::path dir = options.pipeline_cache_dir.empty() ? default_cache_dir() : options.pipeline_cache_dir;
        if (!dir.empty()) cache_file_ = vk::pipeline_cache_path(*ctx_, dir);
    }
    kernel_spirv_ = options.kernel_spirv;
    if (!kernel_spirv_) {
        // The lowered SPIR-V is kept beside the driver's cache, when that is kept.
        std::filesystem::path spirv_dir = cache_file_.empty() ? std::filesystem::path() : cache_file_.parent_path();
        kernel_spirv_ = [spirv_dir](const Kernel& k) { return kernel_spirv(k, spirv_dir); };
    }
    std::optional<std::vector<std::byte>> initial;
    if (!cache_file_.empty()) initial = vk::load_pipeline_cache(*ctx_, cache_file_);
    cache_loaded_ = initial.has_value();
    pipelines_ = std::make_unique<vk::PipelineCache>(*ctx_, initial ? std::span<const std::byte>(*initial)
                                                                     : std::span<const std::byte>());

    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pi.queueFamilyIndex = ctx_->queue_family();
    VkCommandPool pool = VK_NULL_HANDLE;
    VkResult r = vkCreateCommandPool(ctx_->device(), &pi, nullptr, &pool);
    if (r != VK_SUCCESS) return vk::call_failed("vkCreateCommandPool", r);
    command_pool_ = vk::CommandPoolHandle(ctx_->device(), pool);
    vkGetDeviceQueue(ctx_->device(), ctx_->queue_family(), 0, &queue_);

    // Bound wherever a parameter has no storage: uniforms and zero-length
    // regions. Never written: the kernel's bounds check sees length 0.
    auto dummy = vk::VulkanBuffer::create(*ctx_, 4);
    if (!dummy) return Error{dummy.error()};
    dummy_ = std::make_unique<vk::VulkanBuffer>(std::move(dummy.value()));
    return vk::ok_status();
}

VulkanBackend::~VulkanBackend() {
    if (!ctx_) return;
    wait_all();
    if (!cache_file_.empty() && pipelines_) (void)save_pipeline_cache();
    // Everything below goes before the context (and its device).
    in_flight_.clear();
    idle_buffers_.clear();
    dummy_.reset();
    if (command_pool_) {
        for (auto& [cmd, fence] : idle_cmds_) vkFreeCommandBuffers(ctx_->device(), command_pool_.get(), 1, &cmd);
    }
    idle_cmds_.clear();
    fences_.clear();
    command_pool_.reset();
    descriptor_pools_.clear();
    pipelines_.reset();
    vector_ops_.reset();
    ctx_.reset();
}

vk::Status VulkanBackend::save_pipeline_cache() {
    if (cache_file_.empty()) return vk::ok_status();
    auto data = pipelines_->serialize();
    if (!data) return Error{data.error()};
    return vk::save_pipeline_cache(cache_file_, data.value());
}

bool VulkanBackend::can_run(const KernelLaunch& launch, std::string* reason) const {
    auto fail = [&](std::string why) {
        if (reason) *reason = std::move(why);
        return false;
    };
    if (!launch.kernel) return fail("kernel launch without a kernel");
    const Kernel& k = *launch.kernel;
    if (std::string too_many = push_slot_problem(k); !too_many.empty()) return fail(too_many);
    // Before lowering: a wide kernel's GLSL needs int64 and float64 to compile to words this device takes.
    if (k.wide && !(ctx_->shader_int64() && ctx_->shader_float64()))
        return fail("kernel '" + k.name + "' is wide (64-bit lanes), which needs shaderInt64 and shaderFloat64; device '" +
                    ctx_->device_info().name + "' lacks " +
                    (ctx_->shader_int64() ? "shaderFloat64" : ctx_->shader_float64() ? "shaderInt64" : "both"));
    const Result<SharedSpirv>& spirv = spirv_of(k);
    if (!spirv) return fail(spirv.error());
    if (!ctx_->shader_float64() && vk::uses_float64(*spirv.value()))
        return fail("kernel '" + k.name + "' uses ffma, whose exactly rounded form needs float64, which device '" +
                    ctx_->device_info().name + "' lacks; run it on the cpu backend");
    if (launch.args.size() != k.params.size())
        return fail("kernel '" + k.name + "' takes " + std::to_string(k.params.size()) + " arguments, launch has " +
                    std::to_string(launch.args.size()));
    if (launch.begin > launch.end || launch.end > launch.count || launch.count > kMaxLaunchCount)
        return fail("kernel '" + k.name + "': bad launch range");
    for (std::size_t p = 0; p < k.params.size(); ++p) {
        const KernelArg& a = launch.args[p];
        if (k.params[p].kind == ParamKind::Buffer && a.length > std::numeric_limits<std::uint32_t>::max())
            return fail("kernel '" + k.name + "': argument " + k.params[p].name + " has " + std::to_string(a.length) +
                        " elements; the Vulkan backend takes at most 2^32-1");
    }
    return true;
}

const Result<SharedSpirv>& VulkanBackend::spirv_of(const Kernel& k) const {
    auto it = lowered_.find(&k);
    if (it != lowered_.end() && it->second.kernel == k) return it->second.spirv;
    if (lowered_.size() >= kMaxLoweredKernels) lowered_.clear();  // a node sees modules come and go
    Result<SharedSpirv> spirv = kernel_spirv_(k);
    return lowered_.insert_or_assign(&k, Lowered{k, std::move(spirv)}).first->second.spirv;
}

void VulkanBackend::note_error(std::string message) {
    if (error_.empty()) error_ = std::move(message);
}

std::string VulkanBackend::take_error() { return std::exchange(error_, {}); }

void VulkanBackend::wait_for_hazards(const std::vector<Region>& regions) {
    // Oldest first, so copy-backs land in submission order.
    for (std::size_t i = 0; i < in_flight_.size();) {
        bool hazard = false;
        for (const Region& earlier : in_flight_[i].regions) {
            if (!earlier.written) continue;
            for (const Region& now : regions)
                if (overlaps(earlier.begin, earlier.end, now.begin, now.end)) hazard = true;
        }
        if (!hazard) {
            ++i;
            continue;
        }
        Ticket t = in_flight_[i].ticket;
        VectorOpResult r = finish(in_flight_[i]);
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(i));
        finished_.emplace(t, r);
    }
}

std::vector<VulkanBackend::Region> VulkanBackend::regions_of(const VectorOpArgs& args) {
    std::vector<Region> regions;
    auto add = [&](const RegionView& r, bool written) {
        if (r.length == 0 || !r.data) return;
        auto* b = static_cast<const std::byte*>(r.data);
        regions.push_back({b, b + r.length * elem_size(r.type), written});
    };
    add(args.dst, true);
    add(args.a, false);
    add(args.b, false);
    add(args.c, false);
    return regions;
}

std::vector<VulkanBackend::Region> VulkanBackend::regions_of(const KernelLaunch& launch) {
    std::vector<Region> regions;
    if (!launch.kernel) return regions;
    const Kernel& k = *launch.kernel;
    for (std::size_t p = 0; p < k.params.size() && p < launch.args.size(); ++p) {
        const KernelArg& a = launch.args[p];
        if (k.params[p].kind != ParamKind::Buffer || a.length == 0 || !a.data) continue;
        auto* b = static_cast<const std::byte*>(a.data);
        regions.push_back({b, b + a.length * elem_size(a.type), k.params[p].access != Access::In});
    }
    return regions;
}

Ticket VulkanBackend::submit(const VectorOpArgs& args) {
    Ticket t = next_++;
    std::vector<Region> regions = regions_of(args);
    wait_for_hazards(regions);
    // Types without a shader (f64, i64, ...), and vfma on a device without
    // float64, which its exactly rounded shader needs (shaders/fma_exact.glsl).
    const bool fma_without_float64 = args.op == Op::Vfma && !ctx_->shader_float64();
    if (!vk::VulkanVectorOps::supports(args) || fma_without_float64) {
        finished_.emplace(t, run_vector_op_cpu(args));
        return t;
    }
    if (auto s = submit_vector_op(args, t, std::move(regions)); !s) {
        note_error(s.error());
        finished_.emplace(t, VectorOpResult{});
    }
    return t;
}

vk::Status VulkanBackend::submit_vector_op(const VectorOpArgs& args, Ticket ticket, std::vector<Region> regions) {
    auto prepared = vector_ops_->prepare(args);
    if (!prepared) return Error{prepared.error()};
    stats_.bytes_uploaded += prepared.value()->bytes_uploaded();
    if (!prepared.value()->needs_device()) {  // empty regions: nothing to run
        VectorOpResult r = prepared.value()->finish();
        finished_.emplace(ticket, r);
        return vk::ok_status();
    }
    InFlight op;
    op.ticket = ticket;
    op.regions = std::move(regions);
    op.vector_op = std::move(prepared.value());
    if (auto s = begin_commands(op); !s) return s;
    op.vector_op->record(op.cmd, ctx_->limits().maxComputeWorkGroupCount[0]);
    if (VkResult r = end_and_submit(op); r != VK_SUCCESS) {
        idle_cmds_.emplace_back(op.cmd, op.fence);
        return vk::call_failed("vkEndCommandBuffer / vkQueueSubmit", r);
    }
    return vk::ok_status();
}

VkResult VulkanBackend::end_and_submit(InFlight& op) {
    VkResult r = vkEndCommandBuffer(op.cmd);
    if (r != VK_SUCCESS) return r;
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &op.cmd;
    if (fail_submit_from_ != 0 && ++submits_ >= fail_submit_from_) return VK_ERROR_DEVICE_LOST;  // tests
    r = vkQueueSubmit(queue_, 1, &si, op.fence);
    if (r == VK_SUCCESS) in_flight_.push_back(std::move(op));
    return r;
}

vk::Status VulkanBackend::begin_commands(InFlight& op) {
    if (idle_cmds_.empty()) {
        VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
        ai.commandPool = command_pool_.get();
        ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
        ai.commandBufferCount = 1;
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        VkResult r = vkAllocateCommandBuffers(ctx_->device(), &ai, &cmd);
        if (r != VK_SUCCESS) return vk::call_failed("vkAllocateCommandBuffers", r);
        VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        VkFence fence = VK_NULL_HANDLE;
        r = vkCreateFence(ctx_->device(), &fi, nullptr, &fence);
        if (r != VK_SUCCESS) {
            vkFreeCommandBuffers(ctx_->device(), command_pool_.get(), 1, &cmd);
            return vk::call_failed("vkCreateFence", r);
        }
        fences_.emplace_back(ctx_->device(), fence);
        idle_cmds_.emplace_back(cmd, fence);
    }
    std::tie(op.cmd, op.fence) = idle_cmds_.back();
    idle_cmds_.pop_back();
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    VkResult r = vkBeginCommandBuffer(op.cmd, &bi);  // resets it (pool has the reset flag)
    if (r != VK_SUCCESS) {
        idle_cmds_.emplace_back(op.cmd, op.fence);
        op.cmd = VK_NULL_HANDLE;
        return vk::call_failed("vkBeginCommandBuffer", r);
    }
    return vk::ok_status();
}

Result<vk::VulkanBuffer> VulkanBackend::acquire_buffer(std::uint64_t bytes, vk::MemoryKind kind) {
    auto best = idle_buffers_.end();
    for (auto it = idle_buffers_.begin(); it != idle_buffers_.end(); ++it)
        if (it->kind() == kind && it->size() >= bytes && it->size() <= 2 * std::max<std::uint64_t>(bytes, 4) &&
            (best == idle_buffers_.end() || it->size() < best->size()))
            best = it;
    if (best == idle_buffers_.end()) return vk::VulkanBuffer::create(*ctx_, bytes, kind);
    vk::VulkanBuffer b = std::move(*best);
    idle_bytes_ -= b.size();
    idle_buffers_.erase(best);
    return b;
}

void VulkanBackend::release_buffer(vk::VulkanBuffer b) {
    if (b.size() > kMaxIdleBytes) return;
    while (!idle_buffers_.empty() && idle_bytes_ + b.size() > kMaxIdleBytes) {
        idle_bytes_ -= idle_buffers_.front().size();
        idle_buffers_.erase(idle_buffers_.begin());
    }
    idle_bytes_ += b.size();
    idle_buffers_.push_back(std::move(b));
}

Result<VkDescriptorSet> VulkanBackend::allocate_set(VkDescriptorSetLayout layout, VkDescriptorPool* from) {
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    for (auto& pool : descriptor_pools_) {
        ai.descriptorPool = pool.get();
        VkDescriptorSet set = VK_NULL_HANDLE;
        VkResult r = vkAllocateDescriptorSets(ctx_->device(), &ai, &set);
        if (r == VK_SUCCESS) {
            *from = pool.get();
            return set;
        }
        if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
            return vk::call_failed("vkAllocateDescriptorSets", r);
    }
    // Every pool is full (many launches in flight): add one.
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * (kMaxVulkanKernelParams + 1)};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pi.maxSets = kSetsPerPool;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkResult r = vkCreateDescriptorPool(ctx_->device(), &pi, nullptr, &pool);
    if (r != VK_SUCCESS) return vk::call_failed("vkCreateDescriptorPool", r);
    descriptor_pools_.emplace_back(ctx_->device(), pool);
    ai.descriptorPool = pool;
    VkDescriptorSet set = VK_NULL_HANDLE;
    r = vkAllocateDescriptorSets(ctx_->device(), &ai, &set);
    if (r != VK_SUCCESS) return vk::call_failed("vkAllocateDescriptorSets", r);
    *from = pool;
    return set;
}

namespace {

// The element every element-wise and window buffer of `launch` is bound
// from: the lowest any lane can reach, down to a multiple of 256 elements,
// so a binding of any element size starts on a 256-byte boundary, the most
// minStorageBufferOffsetAlignment may ask (Vulkan's limits).
std::uint64_t first_bound_element(const KernelLaunch& launch) {
    std::int64_t reach = static_cast<std::int64_t>(launch.begin);
    for (const KernelParam& q : launch.kernel->params)
        if (q.kind == ParamKind::Buffer && q.indexing == Indexing::Window)
            reach = std::min(reach, static_cast<std::int64_t>(launch.begin) + q.window_lo);
    return reach <= 0 ? 0 : static_cast<std::uint64_t>(reach) & ~std::uint64_t{255};
}

struct BoundElements {
    std::uint64_t begin = 0, end = 0;
};

// The elements of buffer `a` the launch binds: [first, the lanes' reach) of
// an element-wise or window buffer (a launch checks those are at least
// `count` long), all of a broadcast one.
BoundElements bound_elements(const KernelParam& q, const KernelArg& a, const KernelLaunch& launch, std::uint64_t first) {
    if (q.indexing == Indexing::Broadcast) return {0, a.length};
    std::int64_t end = static_cast<std::int64_t>(launch.end);
    if (q.indexing == Indexing::Window) end += q.window_hi;
    const std::uint64_t hi = std::min<std::uint64_t>(a.length, end <= 0 ? 0 : static_cast<std::uint64_t>(end));
    const std::uint64_t lo = std::min(first, hi);
    return {lo, hi};
}

}  // namespace

Ticket VulkanBackend::submit(const KernelLaunch& launch) {
    Ticket t = next_++;
    std::string why;
    if (!can_run(launch, &why)) {
        note_error(std::move(why));
        finished_.emplace(t, VectorOpResult{});
        return t;
    }
    auto s = submit_kernel(launch, t);
    if (!s) {
        note_error(s.error());
        finished_.emplace(t, VectorOpResult{});
    }
    return t;
}

vk::Status VulkanBackend::submit_kernel(const KernelLaunch& launch, Ticket ticket) {
    const Kernel& k = *launch.kernel;
    const auto n = static_cast<std::uint32_t>(k.params.size());
    const std::vector<std::uint32_t> slots = push_slot_layout(k);  // can_run has seen them fit
    InFlight op;
    op.ticket = ticket;
    op.regions = regions_of(launch);
    op.cancel = launch.cancel;
    wait_for_hazards(op.regions);

    const Result<SharedSpirv>& spirv = spirv_of(k);  // can_run has seen it succeed
    if (!spirv) return Error{spirv.error()};
    // Bindings: the parameters, then the status buffer.
    auto pipe = pipelines_->get(*spirv.value(), vk::PipelineShape{n + 1, (kPushHeaderWords + slots.back()) * 4});
    if (!pipe) return Error{"kernel '" + k.name + "': " + pipe.error()};
    const vk::ComputePipeline& pipeline = *pipe.value();

    // On devices that share the host's memory the kernel works on the regions
    // in place (vk::HostBuffer); otherwise inputs are copied in now and
    // outputs copied back in wait(). Either way the regions stay untouched by
    // others until the ticket is waited for (vm/backend.h).
    std::vector<std::uint32_t> push(kPushHeaderWords + slots.back(), 0);
    std::vector<VkDescriptorBufferInfo> infos(n);
    struct Staged {  // with device-local buffers: staging -> device before, device -> staging after
        VkBuffer staging, device;
        VkDeviceSize bytes;
        bool copy_back;
    };
    std::vector<Staged> staged;
    const std::uint64_t first = first_bound_element(launch);
    push[4] = static_cast<std::uint32_t>(first);
    for (std::uint32_t p = 0; p < n; ++p) {
        const KernelArg& a = launch.args[p];
        infos[p] = VkDescriptorBufferInfo{dummy_->handle(), 0, VK_WHOLE_SIZE};
        std::uint32_t* slot = &push[kPushHeaderWords + slots[p]];
        if (k.params[p].kind == ParamKind::Uniform) {
            slot[0] = static_cast<std::uint32_t>(a.uniform);
            if (push_slots(k.params[p]) == 2) slot[1] = static_cast<std::uint32_t>(a.uniform >> 32);
            continue;
        }
        slot[0] = static_cast<std::uint32_t>(a.length);
        if (a.length == 0 || !a.data) {
            slot[0] = 0;
            continue;
        }
        // The elements the lanes can reach: all of a broadcast buffer, the
        // lanes' own (and their windows') of the others, from `first` on.
        // So a chunk over a slice of a large region (a cluster node's) binds
        // that slice, not the region.
        const BoundElements bound = bound_elements(k.params[p], a, launch, first);
        if (bound.begin == bound.end) continue;  // nothing it can reach: no lane touches it
        const std::size_t size = elem_size(a.type);
        auto* from = static_cast<std::uint8_t*>(a.data) + bound.begin * size;
        const std::size_t bytes = static_cast<std::size_t>(bound.end - bound.begin) * size;
        const bool written = k.params[p].access != Access::In;
        if (!device_local_) {
            if (auto in_place = vk::HostBuffer::import(*ctx_, from, bytes)) {
                infos[p] = VkDescriptorBufferInfo{in_place.value().handle(), in_place.value().offset(), bytes};
                op.in_place.push_back(std::move(in_place).value());
                continue;
            }
        }
        auto buf = acquire_buffer(bytes, vk::MemoryKind::HostVisible);
        if (!buf) {
            for (auto& b : op.buffers) release_buffer(std::move(b));
            return Error{buf.error()};
        }
        buf.value().upload(from, bytes);
        stats_.bytes_uploaded += bytes;
        infos[p].buffer = buf.value().handle();
        if (written) {
            // Back only what the launch may write: its lanes' elements of an
            // [i] buffer (the kernel memory contract), all of a broadcast one
            // (a window buffer is `in`: it is read, never copied back).
            // The rest stays as the caller has it, even written meanwhile (a
            // cluster node puts other lanes of a region a chunk is bound to).
            std::size_t lo = 0, hi = bytes;
            if (k.params[p].indexing == Indexing::Element) {
                lo = static_cast<std::size_t>(std::min(launch.begin, bound.end) - bound.begin) * size;
                hi = static_cast<std::size_t>(std::min(launch.end, bound.end) - bound.begin) * size;
            }
            op.copybacks.push_back({op.buffers.size(), from, lo, hi - lo});
        }
        op.buffers.push_back(std::move(buf.value()));
        if (!device_local_) continue;
        auto dev = acquire_buffer(bytes, vk::MemoryKind::DeviceLocal);
        if (!dev) {
            for (auto& b : op.buffers) release_buffer(std::move(b));
            return Error{dev.error()};
        }
        staged.push_back({infos[p].buffer, dev.value().handle(), bytes, written});
        infos[p].buffer = dev.value().handle();
        op.buffers.push_back(std::move(dev.value()));
    }
    auto status = acquire_buffer(kStatusWords * 4, vk::MemoryKind::HostVisible);
    if (!status) {
        for (auto& b : op.buffers) release_buffer(std::move(b));
        return Error{status.error()};
    }
    std::vector<std::uint32_t> initial(kStatusWords, 0);
    initial[0] = 0xFFFF'FFFFu;  // no lane has faulted
    status.value().upload(initial.data(), initial.size() * 4);
    const VkDescriptorBufferInfo status_info{status.value().handle(), 0, kStatusWords * 4};
    op.status = std::move(status.value());

    auto set = allocate_set(pipeline.set_layout(), &op.pool);
    if (!set) {
        for (auto& b : op.buffers) release_buffer(std::move(b));
        release_buffer(std::move(*op.status));
        return Error{set.error()};
    }
    op.set = set.value();
    // On a failure from here on, everything the op took goes back.
    auto give_back = [&](Error e) -> vk::Status {
        vkFreeDescriptorSets(ctx_->device(), op.pool, 1, &op.set);
        if (op.cmd != VK_NULL_HANDLE) idle_cmds_.emplace_back(op.cmd, op.fence);
        for (auto& b : op.buffers) release_buffer(std::move(b));
        release_buffer(std::move(*op.status));
        return e;
    };
    infos.push_back(status_info);
    std::vector<VkWriteDescriptorSet> writes(n + 1);
    for (std::uint32_t p = 0; p <= n; ++p) {
        writes[p] = VkWriteDescriptorSet{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[p].dstSet = op.set;
        writes[p].dstBinding = p;
        writes[p].descriptorCount = 1;
        writes[p].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[p].pBufferInfo = &infos[p];
    }
    vkUpdateDescriptorSets(ctx_->device(), n + 1, writes.data(), 0, nullptr);

    // A command buffer and fence of its own (recycled once waited for).
    if (auto s = begin_commands(op); !s) return give_back(Error{s.error()});
    auto barrier = [&](VkPipelineStageFlags src_stage, VkAccessFlags src, VkPipelineStageFlags dst_stage, VkAccessFlags dst) {
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = src;
        mb.dstAccessMask = dst;
        vkCmdPipelineBarrier(op.cmd, src_stage, dst_stage, 0, 1, &mb, 0, nullptr, 0, nullptr);
    };
    if (!staged.empty()) {
        for (const Staged& st : staged) {
            VkBufferCopy c{0, 0, st.bytes};
            vkCmdCopyBuffer(op.cmd, st.staging, st.device, 1, &c);
        }
        barrier(VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    }
    vkCmdBindPipeline(op.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.pipeline());
    vkCmdBindDescriptorSets(op.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout(), 0, 1, &op.set, 0, nullptr);
    push[1] = static_cast<std::uint32_t>(launch.end);
    push[2] = static_cast<std::uint32_t>(launch.count);
    push[3] = launch.max_iterations;
    const std::uint64_t max_lanes = std::uint64_t{max_groups_} * kLocalSize;
    for (std::uint64_t base = launch.begin; base < launch.end; base += max_lanes) {
        std::uint64_t lanes = std::min(max_lanes, launch.end - base);
        push[0] = static_cast<std::uint32_t>(base);
        vkCmdPushConstants(op.cmd, pipeline.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<std::uint32_t>(push.size() * 4), push.data());
        vkCmdDispatch(op.cmd, static_cast<std::uint32_t>((lanes + kLocalSize - 1) / kLocalSize), 1, 1);
    }
    // Shader writes visible to the host reads in wait() (through staging).
    if (device_local_) {
        barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                VK_ACCESS_TRANSFER_READ_BIT);
        for (const Staged& st : staged)
            if (st.copy_back) {
                VkBufferCopy c{0, 0, st.bytes};
                vkCmdCopyBuffer(op.cmd, st.device, st.staging, 1, &c);
            }
        barrier(VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_HOST_READ_BIT);  // the copies back, and the status buffer
    } else {
        barrier(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_HOST_READ_BIT);
    }
    if (VkResult r = end_and_submit(op); r != VK_SUCCESS)
        return give_back(vk::call_failed("vkEndCommandBuffer / vkQueueSubmit", r));
    return vk::ok_status();
}

namespace {

// The launch's fault from its status buffer (isa/kernel_status.h): the
// record of the lowest lane among those claimed.
KernelFault read_fault(const std::uint32_t* w) {
    if (w[1] != 0) return {KernelFault::Kind::Interrupted, 0, 0, 0, 0, 0};
    if (w[0] == 0xFFFF'FFFFu) return {};
    KernelFault f;
    const std::uint32_t claimed = std::min(w[2], kFaultRecords);
    for (std::uint32_t i = 0; i < claimed; ++i) {
        const std::uint32_t* r = w + kStatusHeaderWords + i * kFaultRecordWords;
        if (r[1] != 1 && r[1] != 2 && r[1] != 4) continue;  // 3 (interrupted) comes from the stop word
        KernelFault g{static_cast<KernelFault::Kind>(r[1]), r[0], r[2], r[3], static_cast<std::int32_t>(r[4]), r[5]};
        merge_fault(f, g);
    }
    return f;
}

}  // namespace

VectorOpResult VulkanBackend::finish(InFlight& op) {
    VectorOpResult result;
    // In slices, so that Ctrl-C reaches a long kernel through its status buffer.
    constexpr std::uint64_t kSliceNs = 20'000'000;
    VkResult r = VK_TIMEOUT;
    bool stop_sent = false;
    while ((r = vkWaitForFences(ctx_->device(), 1, &op.fence, VK_TRUE, kSliceNs)) == VK_TIMEOUT) {
        const bool cancelled = op.cancel != nullptr && op.cancel->load(std::memory_order_relaxed);
        if (!stop_sent && op.status && (interrupt_requested() || cancelled)) {
            std::atomic_ref<std::uint32_t>(static_cast<std::uint32_t*>(op.status->mapped())[1])
                .store(1, std::memory_order_relaxed);
            stop_sent = true;
        }
    }
    if (r != VK_SUCCESS) {
        note_error(vk::call_failed("vkWaitForFences", r).message);
    } else if (op.vector_op) {
        result = op.vector_op->finish();
        stats_.bytes_downloaded += op.vector_op->bytes_downloaded();
    } else {
        for (const Copyback& c : op.copybacks) {
            op.buffers[c.buffer].download(c.dst, c.offset, c.bytes);
            stats_.bytes_downloaded += c.bytes;
        }
        if (op.status) {
            std::vector<std::uint32_t> words(kStatusWords);
            op.status->download(words.data(), words.size() * 4);
            result.fault = read_fault(words.data());
            if (stop_sent) result.fault = {KernelFault::Kind::Interrupted, 0, 0, 0, 0, 0};

        }
    }
    if (op.status) release_buffer(std::move(*op.status));
    op.status.reset();
    vkResetFences(ctx_->device(), 1, &op.fence);
    if (op.set != VK_NULL_HANDLE) vkFreeDescriptorSets(ctx_->device(), op.pool, 1, &op.set);
    idle_cmds_.emplace_back(op.cmd, op.fence);
    for (auto& b : op.buffers) release_buffer(std::move(b));
    op.in_place.clear();  // after the fence: the device is done with the regions
    op.buffers.clear();
    op.copybacks.clear();
    op.vector_op.reset();  // its buffers and descriptor sets back to the vector ops' pools
    return result;
}

VectorOpResult VulkanBackend::wait(Ticket ticket) {
    if (auto it = finished_.find(ticket); it != finished_.end()) {
        VectorOpResult r = it->second;
        finished_.erase(it);
        return r;
    }
    for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it)
        if (it->ticket == ticket) {
            VectorOpResult r = finish(*it);
            in_flight_.erase(it);
            return r;
        }
    return {};
}

void VulkanBackend::wait_all() {
    for (InFlight& op : in_flight_) (void)finish(op);
    in_flight_.clear();
    finished_.clear();
}

}  // namespace polymer
