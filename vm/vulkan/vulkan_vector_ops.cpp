#include "vm/vulkan/vulkan_vector_ops.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "isa/vector_rules.h"
#include "shaders/embedded_shaders.h"

namespace polymer::vk {
namespace {

constexpr std::uint32_t kGroupSize = 256;        // local_size_x of the 1-D shaders
constexpr std::uint32_t kReduceItems = 4;        // elements per lane in a reduction's first pass
constexpr std::uint32_t kReduceMaxGroups = 1024; // so the second pass is almost always the last
constexpr std::uint32_t kScanBlock = 256;        // elements per workgroup in scan_block.comp
constexpr std::uint32_t kMatmulTile = 16;
constexpr std::uint32_t kMaxSetsPerOp = 64;

enum class Kind { Binary, Ternary, Copy, Fill, Iota, Scale, Reduce, Scan, Matmul };

struct OpPlan {
    Kind kind;
    const char* reduction = nullptr;  // "sum", "min", "max", "dot" for Kind::Reduce
};

// Which shaders run the op. Whether it takes float or integer regions is its
// rule's (isa/vector_rules.h).
std::optional<OpPlan> plan_for(Op op) {
    const std::optional<VectorOp> v = as_vector_op(op);
    if (!v) return std::nullopt;
    switch (*v) {
    case VectorOp::Vadd: case VectorOp::Vsub: case VectorOp::Vmul: case VectorOp::Vdiv: case VectorOp::Vmin:
    case VectorOp::Vmax: case VectorOp::Vcmplt: case VectorOp::Vcmpeq: return OpPlan{Kind::Binary};
    case VectorOp::Vfma: case VectorOp::Vselect: return OpPlan{Kind::Ternary};
    case VectorOp::Vcopy: return OpPlan{Kind::Copy};
    case VectorOp::Vfill: case VectorOp::Vfillf: return OpPlan{Kind::Fill};
    case VectorOp::Viota: return OpPlan{Kind::Iota};
    case VectorOp::Vscale: return OpPlan{Kind::Scale};
    case VectorOp::Vsum: case VectorOp::Vsumi: return OpPlan{Kind::Reduce, "sum"};
    case VectorOp::Vredmin: case VectorOp::Vredmini: return OpPlan{Kind::Reduce, "min"};
    case VectorOp::Vredmax: case VectorOp::Vredmaxi: return OpPlan{Kind::Reduce, "max"};
    case VectorOp::Vdot: case VectorOp::Vdoti: return OpPlan{Kind::Reduce, "dot"};
    case VectorOp::Vscan: return OpPlan{Kind::Scan};
    case VectorOp::Vmatmul: return OpPlan{Kind::Matmul};
    }
    return std::nullopt;
}

// The shader-name suffix of a region type, or nullptr when no shader exists.
const char* type_suffix(ElemType t) {
    switch (t) {
    case ElemType::F32: return "f32";
    case ElemType::I32: return "i32";
    case ElemType::U32: return "u32";
    default: return nullptr;
    }
}

// The region whose type selects the shader: the input for reductions.
const RegionView& typed_region(const VectorOpArgs& args, Kind kind) {
    return kind == Kind::Reduce ? args.a : args.dst;
}

std::uint32_t div_up(std::uint64_t n, std::uint64_t d) { return static_cast<std::uint32_t>((n + d - 1) / d); }

std::uint32_t float_bits(double v) { return std::bit_cast<std::uint32_t>(static_cast<float>(v)); }

VectorOpResult empty_reduction(const char* reduction) {
    VectorOpResult r;
    std::string_view red = reduction;
    if (red == "min") {
        r.float_value = std::numeric_limits<double>::infinity();
        r.int_value = std::numeric_limits<std::int64_t>::max();
    } else if (red == "max") {
        r.float_value = -std::numeric_limits<double>::infinity();
        r.int_value = std::numeric_limits<std::int64_t>::min();
    }
    return r;
}

void barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src, VkPipelineStageFlags dst_stage,
             VkAccessFlags dst) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src;
    mb.dstAccessMask = dst;
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

}  // namespace

PreparedVectorOp::~PreparedVectorOp() {
    ops_.release_pool(pool_);
    for (VulkanBuffer& b : buffers_) ops_.release_buffer(std::move(b));
}

Result<VulkanBuffer*> PreparedVectorOp::make_buffer(std::uint64_t bytes) {
    auto b = ops_.acquire_buffer(bytes, ops_.device_local_ ? MemoryKind::DeviceLocal : MemoryKind::HostVisible);
    if (!b) return Error{b.error()};
    buffers_.push_back(std::move(b.value()));
    return &buffers_.back();
}

Result<VulkanBuffer*> PreparedVectorOp::upload(const RegionView& r) {
    const std::uint64_t bytes = r.length * elem_size(r.type);
    auto device = make_buffer(bytes);
    if (!device) return device;
    VulkanBuffer* host = device.value();
    if (ops_.device_local_) {
        auto staging = ops_.acquire_buffer(bytes, MemoryKind::HostVisible);
        if (!staging) return Error{staging.error()};
        buffers_.push_back(std::move(staging.value()));
        host = &buffers_.back();
        copies_in_.push_back({host->handle(), device.value()->handle(), bytes});
    }
    host->upload(r.data, bytes);
    bytes_uploaded_ += bytes;
    return device;
}

Status PreparedVectorOp::set_output(VulkanBuffer* device, std::uint64_t bytes, Output kind) {
    output_ = kind;
    result_bytes_ = bytes;
    host_result_ = device;
    if (!ops_.device_local_) return ok_status();
    auto staging = ops_.acquire_buffer(bytes, MemoryKind::HostVisible);
    if (!staging) return Error{staging.error()};
    buffers_.push_back(std::move(staging.value()));
    host_result_ = &buffers_.back();
    copies_out_.push_back({device->handle(), host_result_->handle(), bytes});
    return ok_status();
}

// Adds a dispatch of `shader` over groups_x x groups_y workgroups with
// `buffers` at bindings 0.. . groups_x past the device limit is split into
// several dispatches at record(), with push.group_base telling each its offset.
Status PreparedVectorOp::dispatch(const std::string& shader, std::initializer_list<VulkanBuffer*> buffers,
                                  PushConstants push, std::uint32_t groups_x, std::uint32_t groups_y) {
    auto words = shaders::find(shader);
    if (!words) return Error{"no built-in shader '" + shader + "'"};
    auto pipeline = ops_.pipelines_.get(*words, {static_cast<std::uint32_t>(buffers.size()), sizeof(PushConstants)});
    if (!pipeline) return Error{"shader '" + shader + "': " + pipeline.error()};
    const ComputePipeline* p = pipeline.value();

    VkDescriptorSetLayout layout = p->set_layout();
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    VkResult r = vkAllocateDescriptorSets(ops_.ctx_.device(), &ai, &set);
    if (r != VK_SUCCESS) return call_failed("vkAllocateDescriptorSets", r);

    std::vector<VkDescriptorBufferInfo> infos;
    for (VulkanBuffer* b : buffers) infos.push_back({b->handle(), 0, VK_WHOLE_SIZE});
    std::vector<VkWriteDescriptorSet> writes(infos.size());
    for (std::uint32_t i = 0; i < infos.size(); ++i) {
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = set;
        writes[i].dstBinding = i;
        writes[i].descriptorCount = 1;
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &infos[i];
    }
    vkUpdateDescriptorSets(ops_.ctx_.device(), static_cast<std::uint32_t>(writes.size()), writes.data(), 0, nullptr);
    steps_.push_back({p, set, push, groups_x, groups_y});
    return ok_status();
}

void PreparedVectorOp::record(VkCommandBuffer cmd, std::uint32_t max_x) const {
    for (const Copy& c : copies_in_) {
        VkBufferCopy region{0, 0, c.bytes};
        vkCmdCopyBuffer(cmd, c.from, c.to, 1, &region);
    }
    if (!copies_in_.empty())
        barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT);
    for (std::size_t i = 0; i < steps_.size(); ++i) {
        const Step& s = steps_[i];
        if (i > 0)
            barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline->pipeline());
        vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline->layout(), 0, 1, &s.set, 0, nullptr);
        for (std::uint32_t base = 0; base < s.groups_x; base += max_x) {
            PushConstants push = s.push;
            push.group_base = base;
            vkCmdPushConstants(cmd, s.pipeline->layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, &push);
            vkCmdDispatch(cmd, std::min(max_x, s.groups_x - base), s.groups_y, 1);
        }
    }
    if (copies_out_.empty()) {
        barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_HOST_READ_BIT);
        return;
    }
    barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_ACCESS_TRANSFER_READ_BIT);
    for (const Copy& c : copies_out_) {
        VkBufferCopy region{0, 0, c.bytes};
        vkCmdCopyBuffer(cmd, c.from, c.to, 1, &region);
    }
    barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
            VK_ACCESS_HOST_READ_BIT);
}

VectorOpResult PreparedVectorOp::finish() {
    VectorOpResult out = immediate_;
    if (!host_result_) return out;
    bytes_downloaded_ += result_bytes_;
    switch (output_) {
    case Output::None: break;
    case Output::Region: host_result_->download(dst_.data, result_bytes_); break;
    case Output::WideIntReduction: {
        std::uint32_t words[2];  // lo word first, as reduce.comp's uvec2
        host_result_->download(words, 8);
        out.int_value = static_cast<std::int64_t>((std::uint64_t{words[1]} << 32) | words[0]);
        break;
    }
    case Output::FloatReduction: {
        float f;
        host_result_->download(&f, 4);
        out.float_value = f;
        break;
    }
    case Output::IntReduction: {
        std::int32_t v;
        host_result_->download(&v, 4);
        out.int_value = v;
        break;
    }
    case Output::UintReduction: {
        std::uint32_t v;
        host_result_->download(&v, 4);
        out.int_value = v;
        break;
    }
    }
    host_result_ = nullptr;
    return out;
}

Result<std::unique_ptr<VulkanVectorOps>> VulkanVectorOps::create(VulkanContext& ctx, bool device_local) {
    return std::unique_ptr<VulkanVectorOps>(new VulkanVectorOps(ctx, device_local));
}

VulkanVectorOps::~VulkanVectorOps() = default;

Result<VkDescriptorPool> VulkanVectorOps::acquire_pool() {
    if (!idle_pools_.empty()) {
        VkDescriptorPool p = idle_pools_.back();
        idle_pools_.pop_back();
        return p;
    }
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kMaxSetsPerOp * 4};
    VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    ci.maxSets = kMaxSetsPerOp;
    ci.poolSizeCount = 1;
    ci.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkResult r = vkCreateDescriptorPool(ctx_.device(), &ci, nullptr, &pool);
    if (r != VK_SUCCESS) return call_failed("vkCreateDescriptorPool", r);
    pools_.emplace_back(ctx_.device(), pool);
    return pool;
}

void VulkanVectorOps::release_pool(VkDescriptorPool pool) {
    vkResetDescriptorPool(ctx_.device(), pool, 0);
    idle_pools_.push_back(pool);
}

Result<VulkanBuffer> VulkanVectorOps::acquire_buffer(std::uint64_t bytes, MemoryKind kind) {
    // The smallest idle buffer of the kind that fits, if it is not more than twice the size.
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it)
        if (it->kind() == kind && it->size() >= bytes && it->size() <= 2 * std::max<std::uint64_t>(bytes, 4) &&
            (best == idle_.end() || it->size() < best->size()))
            best = it;
    if (best == idle_.end()) {
        ++buffers_created_;
        return VulkanBuffer::create(ctx_, bytes, kind);
    }
    VulkanBuffer b = std::move(*best);
    idle_bytes_ -= b.size();
    idle_.erase(best);
    return b;
}

void VulkanVectorOps::release_buffer(VulkanBuffer b) {
    if (b.size() > kMaxIdleBytes) return;
    // Oldest first out when the pool is full.
    while (!idle_.empty() && idle_bytes_ + b.size() > kMaxIdleBytes) {
        idle_bytes_ -= idle_.front().size();
        idle_.erase(idle_.begin());
    }
    idle_bytes_ += b.size();
    idle_.push_back(std::move(b));
}

bool VulkanVectorOps::supports(const VectorOpArgs& args) {
    auto plan = plan_for(args.op);
    if (!plan) return false;
    ElemType t = typed_region(args, plan->kind).type;
    if (type_suffix(t) == nullptr) return false;
    const VectorKind kind = vector_rule(args.op).kind;
    if (kind == VectorKind::Float && t != ElemType::F32) return false;
    if (kind == VectorKind::Int && t == ElemType::F32) return false;
    // The shaders read and write one element type. The rule lets a region
    // outside its same-type group (a compare's mask, vselect's mask) have
    // another, which only the CPU loops handle.
    const RegionView* views[kVectorSlots] = {&args.dst, &args.a, &args.b, &args.c};
    const std::uint8_t regions = vector_region_slots(args.op);
    for (std::size_t slot = 0; slot < kVectorSlots; ++slot)
        if ((regions & slot_bit(slot)) && views[slot]->type != t) return false;
    return true;
}

// Records the inclusive scan of n elements of src into dst: block scans, a
// recursive scan of the block totals, then the block offsets added.
Status VulkanVectorOps::record_scan(PreparedVectorOp& rec, const std::string& t, VulkanBuffer* dst, VulkanBuffer* src,
                                    std::uint32_t n) {
    std::uint32_t blocks = div_up(n, kScanBlock);
    auto sums = rec.make_buffer(std::uint64_t{blocks} * 4);
    if (!sums) return Error{sums.error()};
    if (auto s = rec.dispatch("scan_block_" + t, {dst, src, sums.value()}, {n}, blocks); !s) return s;
    if (blocks == 1) return ok_status();
    auto scanned = rec.make_buffer(std::uint64_t{blocks} * 4);
    if (!scanned) return Error{scanned.error()};
    if (auto s = record_scan(rec, t, scanned.value(), sums.value(), blocks); !s) return s;
    return rec.dispatch("scan_add_" + t, {dst, scanned.value()}, {n}, blocks);
}

Result<VectorOpResult> VulkanVectorOps::run(const VectorOpArgs& args) {
    auto prepared = prepare(args);
    if (!prepared) return Error{prepared.error()};
    PreparedVectorOp& op = *prepared.value();
    if (op.needs_device()) {
        const std::uint32_t max_x = ctx_.limits().maxComputeWorkGroupCount[0];
        if (auto s = ctx_.submit_and_wait([&](VkCommandBuffer cmd) { op.record(cmd, max_x); }); !s)
            return Error{s.error()};
    }
    return op.finish();
}

Result<std::unique_ptr<PreparedVectorOp>> VulkanVectorOps::prepare(const VectorOpArgs& args) {
    std::string mnemonic(op_info(args.op).mnemonic);
    auto plan = plan_for(args.op);
    if (!plan) return Error{"vector op '" + mnemonic + "' has no Vulkan shader"};
    const RegionView& typed = typed_region(args, plan->kind);
    if (!supports(args))
        return Error{"vector op '" + mnemonic + "' on " + std::string(elem_type_name(typed.type)) +
                     " regions has no Vulkan shader"};
    for (const RegionView* r : {&args.dst, &args.a, &args.b, &args.c})
        if (r->length > std::numeric_limits<std::uint32_t>::max())
            return Error{"vector op '" + mnemonic + "': regions past 2^32 - 1 elements do not fit one Vulkan dispatch"};

    const std::string t = type_suffix(typed.type);
    const std::uint32_t max_groups = ctx_.limits().maxComputeWorkGroupCount[0];
    auto groups_for = [&](std::uint32_t n) { return std::clamp<std::uint32_t>(div_up(n, kGroupSize), 1, max_groups); };
    const auto n = static_cast<std::uint32_t>(typed.length);
    auto pool = acquire_pool();
    if (!pool) return Error{pool.error()};
    std::unique_ptr<PreparedVectorOp> op(new PreparedVectorOp(*this, pool.value()));
    PreparedVectorOp& rec = *op;
    rec.dst_ = args.dst;
    using Output = PreparedVectorOp::Output;

#define TRY_BUFFER(var, expr)                      \
    auto var##_made = (expr);                      \
    if (!var##_made) return Error{var##_made.error()}; \
    VulkanBuffer* var = var##_made.value();
#define TRY(expr) \
    if (auto status_ = (expr); !status_) return Error{status_.error()};

    switch (plan->kind) {
    case Kind::Binary:
    case Kind::Ternary:
    case Kind::Copy:
    case Kind::Scale: {
        if (n == 0) return op;
        TRY_BUFFER(dst, rec.make_buffer(std::uint64_t{n} * 4));
        TRY_BUFFER(a, rec.upload(args.a));
        PushConstants push{n};
        if (plan->kind == Kind::Binary) {
            TRY_BUFFER(b, rec.upload(args.b));
            TRY(rec.dispatch(mnemonic + "_" + t, {dst, a, b}, push, groups_for(n)));
        } else if (plan->kind == Kind::Ternary) {
            TRY_BUFFER(b, rec.upload(args.b));
            TRY_BUFFER(c, rec.upload(args.c));
            TRY(rec.dispatch(mnemonic + "_" + t, {dst, a, b, c}, push, groups_for(n)));
        } else if (plan->kind == Kind::Copy) {
            TRY(rec.dispatch("vcopy_x32", {dst, a}, push, groups_for(n)));
        } else {
            push.bits = float_bits(args.float_scalar);
            TRY(rec.dispatch("vscale_f32", {dst, a}, push, groups_for(n)));
        }
        TRY(rec.set_output(dst, std::uint64_t{n} * 4, Output::Region));
        break;
    }
    case Kind::Fill:
    case Kind::Iota: {
        if (n == 0) return op;
        TRY_BUFFER(dst, rec.make_buffer(std::uint64_t{n} * 4));
        PushConstants push{n};
        if (plan->kind == Kind::Iota) {
            TRY(rec.dispatch("viota_" + t, {dst}, push, groups_for(n)));
        } else {
            // vfill stores the low 32 bits of the integer (wrapping).
            push.bits = args.op == Op::Vfillf ? float_bits(args.float_scalar)
                                              : static_cast<std::uint32_t>(args.int_scalar);
            TRY(rec.dispatch("vfill_x32", {dst}, push, groups_for(n)));
        }
        TRY(rec.set_output(dst, std::uint64_t{n} * 4, Output::Region));
        break;
    }
    case Kind::Scan: {
        if (n == 0) return op;
        TRY_BUFFER(dst, rec.make_buffer(std::uint64_t{n} * 4));
        TRY_BUFFER(src, rec.upload(args.a));
        TRY(record_scan(rec, t, dst, src, n));
        TRY(rec.set_output(dst, std::uint64_t{n} * 4, Output::Region));
        break;
    }
    case Kind::Matmul: {
        if (args.dst.length == 0) return op;
        if (args.int_scalar <= 0) {  // K = 0: every dot product is empty
            std::memset(args.dst.data, 0, args.dst.length * 4);
            return op;
        }
        const auto inner = static_cast<std::uint32_t>(args.int_scalar);
        const auto rows = static_cast<std::uint32_t>(args.a.length / inner);
        const auto cols = static_cast<std::uint32_t>(args.b.length / inner);
        std::uint32_t gx = div_up(cols, kMatmulTile), gy = div_up(rows, kMatmulTile);
        if (gx > max_groups || gy > ctx_.limits().maxComputeWorkGroupCount[1])
            return Error{"vmatmul of " + std::to_string(rows) + " x " + std::to_string(cols) +
                         " is too large for one Vulkan dispatch"};
        TRY_BUFFER(dst, rec.make_buffer(args.dst.length * 4));
        TRY_BUFFER(a, rec.upload(args.a));
        TRY_BUFFER(b, rec.upload(args.b));
        PushConstants push{static_cast<std::uint32_t>(args.dst.length)};
        push.rows = rows;
        push.inner = inner;
        push.cols = cols;
        TRY(rec.dispatch("vmatmul_" + t, {dst, a, b}, push, gx, gy));
        TRY(rec.set_output(dst, args.dst.length * 4, Output::Region));
        break;
    }
    case Kind::Reduce: {
        const std::string red = plan->reduction;
        const bool is_float_type = typed.type == ElemType::F32;
        if (n == 0) {
            rec.immediate_ = empty_reduction(plan->reduction);
            return op;
        }
        const bool wide = !is_float_type && (red == "sum" || red == "dot");  // 64-bit partials
        const std::uint64_t acc_bytes = wide ? 8 : 4;
        TRY_BUFFER(a, rec.upload(args.a));
        std::uint32_t groups = std::clamp<std::uint32_t>(div_up(n, kGroupSize * kReduceItems), 1, kReduceMaxGroups);
        TRY_BUFFER(partials, rec.make_buffer(groups * acc_bytes));
        if (red == "dot") {
            TRY_BUFFER(b, rec.upload(args.b));
            TRY(rec.dispatch("reduce_dot_first_" + t, {partials, a, b}, {n}, groups));
        } else {
            TRY(rec.dispatch("reduce_" + red + "_first_" + t, {partials, a}, {n}, groups));
        }
        const std::string next = "reduce_" + (red == "dot" ? std::string("sum") : red) + "_next_" + t;
        for (std::uint32_t count = groups; count > 1; count = groups) {
            groups = std::clamp<std::uint32_t>(div_up(count, kGroupSize * kReduceItems), 1, kReduceMaxGroups);
            TRY_BUFFER(folded, rec.make_buffer(groups * acc_bytes));
            TRY(rec.dispatch(next, {folded, partials}, {count}, groups));
            partials = folded;
        }
        const Output kind = wide                            ? Output::WideIntReduction
                            : is_float_type                 ? Output::FloatReduction
                            : typed.type == ElemType::I32   ? Output::IntReduction
                                                            : Output::UintReduction;
        TRY(rec.set_output(partials, acc_bytes, kind));
        break;
    }
    }
#undef TRY_BUFFER
#undef TRY
    return op;
}

}  // namespace polymer::vk
