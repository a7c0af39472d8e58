#include "vm/vulkan/vulkan_vector_ops.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <vector>

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
    bool float_only = false;          // the op is defined on float regions only
    bool int_only = false;            // ... on integer regions only
};

std::optional<OpPlan> plan_for(Op op) {
    switch (op) {
    case Op::Vadd: case Op::Vsub: case Op::Vmul: case Op::Vdiv: case Op::Vmin: case Op::Vmax:
    case Op::Vcmplt: case Op::Vcmpeq: return OpPlan{Kind::Binary};
    case Op::Vfma: case Op::Vselect: return OpPlan{Kind::Ternary};
    case Op::Vcopy: return OpPlan{Kind::Copy};
    case Op::Vfill: return OpPlan{Kind::Fill, nullptr, false, true};
    case Op::Vfillf: return OpPlan{Kind::Fill, nullptr, true, false};
    case Op::Viota: return OpPlan{Kind::Iota};
    case Op::Vscale: return OpPlan{Kind::Scale, nullptr, true, false};
    case Op::Vsum: return OpPlan{Kind::Reduce, "sum", true, false};
    case Op::Vsumi: return OpPlan{Kind::Reduce, "sum", false, true};
    case Op::Vredmin: return OpPlan{Kind::Reduce, "min", true, false};
    case Op::Vredmax: return OpPlan{Kind::Reduce, "max", true, false};
    case Op::Vredmini: return OpPlan{Kind::Reduce, "min", false, true};
    case Op::Vredmaxi: return OpPlan{Kind::Reduce, "max", false, true};
    case Op::Vdot: return OpPlan{Kind::Reduce, "dot", true, false};
    case Op::Vdoti: return OpPlan{Kind::Reduce, "dot", false, true};
    case Op::Vscan: return OpPlan{Kind::Scan};
    case Op::Vmatmul: return OpPlan{Kind::Matmul};
    default: return std::nullopt;
    }
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

struct Step {
    const ComputePipeline* pipeline;
    VkDescriptorSet set;
    PushConstants push;
    std::uint32_t groups_x, groups_y;
};

}  // namespace

// The buffers and dispatches of one op: everything that can fail (shader
// look-up, pipeline creation, allocation) happens while building it; the
// command buffer is recorded in one go at submit().
class VulkanVectorOps::Recording {
public:
    explicit Recording(VulkanVectorOps& ops) : ops_(ops) {}
    // Runs after the submit has been waited on (or never made), so the sets
    // and buffers are idle: the buffers go back to the op's pool.
    ~Recording() {
        vkResetDescriptorPool(ops_.ctx_.device(), ops_.pool_.get(), 0);
        for (VulkanBuffer& b : buffers_) ops_.release_buffer(std::move(b));
    }

    Result<VulkanBuffer*> make_buffer(std::uint64_t bytes) {
        auto b = ops_.acquire_buffer(bytes);
        if (!b) return Error{b.error()};
        buffers_.push_back(std::move(b.value()));
        return &buffers_.back();
    }

    Result<VulkanBuffer*> upload(const RegionView& r) {
        auto b = make_buffer(r.length * elem_size(r.type));
        if (b) b.value()->upload(r.data, r.length * elem_size(r.type));
        return b;
    }

    // Adds a dispatch of `shader` over groups_x x groups_y workgroups with
    // `buffers` at bindings 0.. . groups_x past the device limit is split
    // into several dispatches, with push.group_base telling each its offset.
    Status dispatch(const std::string& shader, std::initializer_list<VulkanBuffer*> buffers, PushConstants push,
                    std::uint32_t groups_x, std::uint32_t groups_y = 1) {
        auto words = shaders::find(shader);
        if (!words) return Error{"no built-in shader '" + shader + "'"};
        auto pipeline = ops_.pipelines_.get(*words, {static_cast<std::uint32_t>(buffers.size()), sizeof(PushConstants)});
        if (!pipeline) return Error{"shader '" + shader + "': " + pipeline.error()};
        const ComputePipeline* p = pipeline.value();

        VkDescriptorSetLayout layout = p->set_layout();
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = ops_.pool_.get();
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

    Status submit() {
        std::uint32_t max_x = ops_.ctx_.limits().maxComputeWorkGroupCount[0];
        return ops_.ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
            for (std::size_t i = 0; i < steps_.size(); ++i) {
                const Step& s = steps_[i];
                if (i > 0) barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
                vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline->pipeline());
                vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, s.pipeline->layout(), 0, 1, &s.set, 0, nullptr);
                for (std::uint32_t base = 0; base < s.groups_x; base += max_x) {
                    PushConstants push = s.push;
                    push.group_base = base;
                    vkCmdPushConstants(cmd, s.pipeline->layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, &push);
                    vkCmdDispatch(cmd, std::min(max_x, s.groups_x - base), s.groups_y, 1);
                }
            }
            barrier(cmd, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
        });
    }

private:
    static void barrier(VkCommandBuffer cmd, VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
        VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
        mb.dstAccessMask = dst_access;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, dst_stage, 0, 1, &mb, 0, nullptr, 0, nullptr);
    }

    VulkanVectorOps& ops_;
    std::deque<VulkanBuffer> buffers_;  // owned; a deque keeps their addresses stable
    std::vector<Step> steps_;
};

Result<std::unique_ptr<VulkanVectorOps>> VulkanVectorOps::create(VulkanContext& ctx) {
    std::unique_ptr<VulkanVectorOps> ops(new VulkanVectorOps(ctx));
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kMaxSetsPerOp * 4};
    VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    ci.maxSets = kMaxSetsPerOp;
    ci.poolSizeCount = 1;
    ci.pPoolSizes = &size;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VkResult r = vkCreateDescriptorPool(ctx.device(), &ci, nullptr, &pool);
    if (r != VK_SUCCESS) return call_failed("vkCreateDescriptorPool", r);
    ops->pool_ = DescriptorPoolHandle(ctx.device(), pool);
    return ops;
}

VulkanVectorOps::~VulkanVectorOps() = default;

Result<VulkanBuffer> VulkanVectorOps::acquire_buffer(std::uint64_t bytes) {
    // The smallest idle buffer that fits, if it is not more than twice the size.
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it)
        if (it->size() >= bytes && it->size() <= 2 * std::max<std::uint64_t>(bytes, 4) &&
            (best == idle_.end() || it->size() < best->size()))
            best = it;
    if (best == idle_.end()) return VulkanBuffer::create(ctx_, bytes);
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
    if (plan->float_only && t != ElemType::F32) return false;
    if (plan->int_only && t == ElemType::F32) return false;
    return true;
}

namespace {

// Records the inclusive scan of n elements of src into dst: block scans, a
// recursive scan of the block totals, then the block offsets added.
template <class Rec>
Status record_scan(Rec& rec, const std::string& t, VulkanBuffer* dst, VulkanBuffer* src, std::uint32_t n) {
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

}  // namespace

Result<VectorOpResult> VulkanVectorOps::run(const VectorOpArgs& args) {
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
    Recording rec(*this);
    VulkanBuffer* result = nullptr;  // downloaded into args.dst after the submit

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
        if (n == 0) return VectorOpResult{};
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
        result = dst;
        break;
    }
    case Kind::Fill:
    case Kind::Iota: {
        if (n == 0) return VectorOpResult{};
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
        result = dst;
        break;
    }
    case Kind::Scan: {
        if (n == 0) return VectorOpResult{};
        TRY_BUFFER(dst, rec.make_buffer(std::uint64_t{n} * 4));
        TRY_BUFFER(src, rec.upload(args.a));
        TRY(record_scan(rec, t, dst, src, n));
        result = dst;
        break;
    }
    case Kind::Matmul: {
        if (args.dst.length == 0) return VectorOpResult{};
        if (args.int_scalar <= 0) {  // K = 0: every dot product is empty
            std::memset(args.dst.data, 0, args.dst.length * 4);
            return VectorOpResult{};
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
        result = dst;
        break;
    }
    case Kind::Reduce: {
        const std::string red = plan->reduction;
        const bool is_float_type = typed.type == ElemType::F32;
        if (n == 0) return empty_reduction(plan->reduction);
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
        TRY(rec.submit());
        VectorOpResult out;
        if (wide) {
            std::uint64_t sum = 0;  // lo word first, as reduce.comp's uvec2
            std::uint32_t words[2];
            partials->download(words, 8);
            sum = (std::uint64_t{words[1]} << 32) | words[0];
            out.int_value = static_cast<std::int64_t>(sum);
        } else if (is_float_type) {
            float f;
            partials->download(&f, 4);
            out.float_value = f;
        } else if (typed.type == ElemType::I32) {
            std::int32_t v;
            partials->download(&v, 4);
            out.int_value = v;
        } else {
            std::uint32_t v;
            partials->download(&v, 4);
            out.int_value = v;
        }
        return out;
    }
    }
#undef TRY_BUFFER
#undef TRY

    if (auto s = rec.submit(); !s) return Error{s.error()};
    result->download(args.dst.data, args.dst.length * 4);
    return VectorOpResult{};
}

}  // namespace polymer::vk
