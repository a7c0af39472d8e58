#include "vm/backend_router.h"

#include <cstdio>
#include <cstdlib>

#include "isa/encoding.h"
#include "isa/opcodes.h"
#include "isa/vector_rules.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {

const char* route_class_name(RouteClass c) {
    switch (c) {
    case RouteClass::Elementwise: return "element-wise";
    case RouteClass::Reduction: return "reduction";
    case RouteClass::Scan: return "scan";
    case RouteClass::Matmul: return "matmul";
    case RouteClass::Kernel: return "kernel";
    case RouteClass::LoopKernel: return "kernel with a loop";
    }
    return "?";
}

RouteClass route_class(Op op) {
    const std::optional<VectorOp> v = as_vector_op(op);
    if (!v) return RouteClass::Elementwise;
    switch (*v) {
    case VectorOp::Vadd: case VectorOp::Vsub: case VectorOp::Vmul: case VectorOp::Vdiv: case VectorOp::Vmin:
    case VectorOp::Vmax: case VectorOp::Vfma: case VectorOp::Vscale: case VectorOp::Vfill: case VectorOp::Vfillf:
    case VectorOp::Viota: case VectorOp::Vcopy: case VectorOp::Vcmplt: case VectorOp::Vcmpeq: case VectorOp::Vselect:
        return RouteClass::Elementwise;
    case VectorOp::Vsum: case VectorOp::Vsumi: case VectorOp::Vredmin: case VectorOp::Vredmax: case VectorOp::Vredmini:
    case VectorOp::Vredmaxi: case VectorOp::Vdot: case VectorOp::Vdoti:
        return RouteClass::Reduction;
    case VectorOp::Vscan: return RouteClass::Scan;
    case VectorOp::Vmatmul: return RouteClass::Matmul;
    }
    return RouteClass::Elementwise;
}

RouteClass route_class(const Kernel& kernel) {
    for (Word w : kernel.code)
        if (word_op(w) == static_cast<std::uint8_t>(KOp::Loop)) return RouteClass::LoopKernel;
    return RouteClass::Kernel;
}

std::uint64_t route_size(const VectorOpArgs& args) {
    switch (route_class(args.op)) {
    case RouteClass::Reduction: return args.a.length;
    case RouteClass::Matmul: {
        // M x N x K multiply-adds: dst has M x N elements.
        const std::uint64_t k = args.int_scalar > 0 ? static_cast<std::uint64_t>(args.int_scalar) : 0;
        std::uint64_t work = 0;
        return __builtin_mul_overflow(args.dst.length, k, &work) ? RoutingTable::kNever - 1 : work;
    }
    default: return args.dst.length;
    }
}

std::uint64_t route_size(const KernelLaunch& launch) { return launch.end - launch.begin; }

// Measured on the development VM (2 cores shared with other builds, lavapipe
// on LLVM 15, the CPU backend's block interpreter and thread pool) with
//   build/bin/backend_routing_bench
// (three runs; docs/kernels.md has the table). Lavapipe runs on the same
// cores as the CPU backend and pays a submit, a fence wait and copies in and
// out: the CPU's vector loops were 12x to 100x faster at every size up to 4M
// elements (and vmatmul up to 256^3), and straight-line kernels 11x or more.
// Only kernels with a loop gained: sample 13's matmul kernel (32 steps a
// lane) ran 1.2-2.3x faster on lavapipe from 4,096 lanes, 0.8-1.1x at 1,024.
RoutingTable lavapipe_routing_table() {
    RoutingTable t;
    t.vulkan_from.fill(RoutingTable::kNever);
    t.vulkan_from[static_cast<std::size_t>(RouteClass::LoopKernel)] = 4096;
    return t;
}

RoutingBackend::RoutingBackend(std::unique_ptr<VulkanBackend> vk, RouteMode mode, RoutingTable table)
    : vk_(std::move(vk)), cpu_(std::make_unique<CpuBackend>()), mode_(vk_ ? mode : RouteMode::Cpu), table_(table) {}

RoutingBackend::~RoutingBackend() {
    if (vk_) vk_->wait_all();  // no failure handler here: the run is over
    cpu_->wait_all();
}

void RoutingBackend::check_vulkan() {
    if (!vk_) return;
    std::string error = vk_->take_error();
    if (error.empty()) return;
    const std::string why = "Vulkan device '" + vk_->device().name + "': " + error;
    if (on_failure_) return on_failure_(why);
    std::fprintf(stderr, "error: %s\n", why.c_str());
    std::exit(2);
}

std::optional<BackendCapabilities> RoutingBackend::capabilities() const {
    if (!vk_ || mode_ == RouteMode::Cpu) return BackendCapabilities{false, host_memory(), "the CPU backend"};
    const vk::DeviceInfo& d = vk_->device();
    const bool gpu = d.type == vk::DeviceType::Discrete || d.type == vk::DeviceType::Integrated;
    const std::string where = "Vulkan device " + d.name + (gpu ? "" : " (a CPU device)") +
                              (mode_ == RouteMode::BySize ? " and the CPU backend" : "");
    return BackendCapabilities{gpu && mode_ == RouteMode::Vulkan, host_memory(), where};
}

std::string_view RoutingBackend::name() const {
    switch (mode_) {
    case RouteMode::Vulkan: return "vulkan";
    case RouteMode::BySize: return "auto";
    case RouteMode::Cpu: return "cpu";
    }
    return "cpu";
}

RoutingBackend::Target RoutingBackend::route(const VectorOpArgs& args) const {
    if (mode_ == RouteMode::Cpu || !VulkanBackend::supports(args)) return OnCpu;
    if (mode_ == RouteMode::Vulkan) return OnVulkan;
    return route_size(args) >= table_.threshold(route_class(args.op)) ? OnVulkan : OnCpu;
}

RoutingBackend::Target RoutingBackend::route(const KernelLaunch& launch, std::string* why) const {
    if (mode_ == RouteMode::Cpu) return OnCpu;
    // By size first: whether the device can run the kernel means lowering it
    // to SPIR-V (reading it from the cache dir, or compiling it: ms), which
    // a launch the table keeps on the CPU never needs.
    if (mode_ == RouteMode::BySize && launch.kernel != nullptr &&
        route_size(launch) < table_.threshold(route_class(*launch.kernel)))
        return OnCpu;
    return vk_->can_run(launch, why) ? OnVulkan : OnCpu;
}

std::vector<RoutingBackend::Span> RoutingBackend::spans_of(const VectorOpArgs& args) {
    std::vector<Span> spans;
    auto add = [&](const RegionView& r, bool written) {
        if (r.length == 0 || !r.data) return;
        auto* b = static_cast<const std::byte*>(r.data);
        spans.push_back({b, b + r.length * elem_size(r.type), written});
    };
    add(args.dst, true);
    add(args.a, false);
    add(args.b, false);
    add(args.c, false);
    return spans;
}

std::vector<RoutingBackend::Span> RoutingBackend::spans_of(const KernelLaunch& launch) {
    std::vector<Span> spans;
    if (!launch.kernel) return spans;
    const Kernel& k = *launch.kernel;
    for (std::size_t p = 0; p < k.params.size() && p < launch.args.size(); ++p) {
        const KernelArg& a = launch.args[p];
        if (k.params[p].kind != ParamKind::Buffer || a.length == 0 || !a.data) continue;
        auto* b = static_cast<const std::byte*>(a.data);
        spans.push_back({b, b + a.length * elem_size(a.type), k.params[p].access != Access::In});
    }
    return spans;
}

void RoutingBackend::finish_cpu_conflicts(const std::vector<Span>& spans) {
    auto conflicts = [&](const CpuTicket& t) {
        for (const Span& x : t.spans)
            for (const Span& y : spans)
                if ((x.written || y.written) && x.begin < y.end && y.begin < x.end) return true;
        return false;
    };
    for (std::size_t i = 0; i < cpu_in_flight_.size();) {
        if (!conflicts(cpu_in_flight_[i])) {
            ++i;
            continue;
        }
        const Ticket t = cpu_in_flight_[i].ticket;
        cpu_finished_.emplace(t, cpu_->wait(t));
        cpu_in_flight_.erase(cpu_in_flight_.begin() + static_cast<std::ptrdiff_t>(i));
    }
}

Ticket RoutingBackend::submit_to_cpu(std::vector<Span> spans, Ticket t) {
    cpu_in_flight_.push_back({t, std::move(spans)});
    return t | kCpuBit;
}

Ticket RoutingBackend::submit(const VectorOpArgs& args) {
    const Target where = route(args);
    ++counts_.vector_ops[where];
    if (where == OnVulkan) {
        if (!cpu_in_flight_.empty()) finish_cpu_conflicts(spans_of(args));
        const Ticket t = vk_->submit(args);
        check_vulkan();
        return t;
    }
    if (!vk_) return cpu_->submit(args) | kCpuBit;
    vk_->finish_conflicting(args);
    check_vulkan();
    return submit_to_cpu(spans_of(args), cpu_->submit(args));
}

void RoutingBackend::note_refusal(const KernelLaunch& launch, std::string why) {
    if (why.empty() || launch.kernel == nullptr || refusals_.size() >= kMaxRefusals) return;
    refusals_.emplace(launch.kernel->name, std::move(why));
}

Ticket RoutingBackend::submit(const KernelLaunch& launch) {
    std::string why;
    const Target where = route(launch, &why);
    ++counts_.kernels[where];
    note_refusal(launch, std::move(why));
    if (where == OnVulkan) {
        if (!cpu_in_flight_.empty()) finish_cpu_conflicts(spans_of(launch));
        const Ticket t = vk_->submit(launch);
        check_vulkan();
        return t;
    }
    if (!vk_) return cpu_->submit(launch) | kCpuBit;
    vk_->finish_conflicting(launch);
    check_vulkan();
    return submit_to_cpu(spans_of(launch), cpu_->submit(launch));
}

bool RoutingBackend::run_inline(const VectorOpArgs& args, VectorOpResult& result) {
    if (route(args) != OnCpu || !cpu_in_flight_.empty()) return false;
    if (vk_) vk_->finish_conflicting(args);
    check_vulkan();
    if (!cpu_->run_inline(args, result)) return false;
    ++counts_.vector_ops[OnCpu];
    return true;
}

bool RoutingBackend::folds_groups(const KernelLaunch& launch) const {
    return route(launch) == OnCpu && cpu_->folds_groups(launch);
}

bool RoutingBackend::run_inline(const KernelLaunch& launch, VectorOpResult& result) {
    std::string why;
    if (route(launch, &why) != OnCpu || !cpu_in_flight_.empty()) return false;
    if (vk_) vk_->finish_conflicting(launch);
    check_vulkan();
    if (!cpu_->run_inline(launch, result)) return false;
    ++counts_.kernels[OnCpu];
    note_refusal(launch, std::move(why));
    return true;
}

std::optional<RoundsResult> RoutingBackend::run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) {
    for (const KernelLaunch& l : body)
        if (route(l) != OnCpu) return std::nullopt;
    for (const KernelLaunch& l : body) {
        if (vk_) vk_->finish_conflicting(l);
        check_vulkan();
        if (!cpu_in_flight_.empty()) finish_cpu_conflicts(spans_of(l));
    }
    const std::optional<RoundsResult> r = cpu_->run_rounds(body, rounds);
    if (r) counts_.kernels[OnCpu] += r->launches_run(body.size(), rounds);
    return r;
}

VectorOpResult RoutingBackend::wait(Ticket ticket) {
    if (!(ticket & kCpuBit)) {
        if (!vk_) return {};
        const VectorOpResult r = vk_->wait(ticket);
        check_vulkan();
        return r;
    }
    const Ticket t = ticket & ~kCpuBit;
    if (auto it = cpu_finished_.find(t); it != cpu_finished_.end()) {
        const VectorOpResult r = it->second;
        cpu_finished_.erase(it);
        return r;
    }
    std::erase_if(cpu_in_flight_, [t](const CpuTicket& c) { return c.ticket == t; });
    return cpu_->wait(t);
}

void RoutingBackend::wait_all() {
    if (vk_) vk_->wait_all();
    cpu_->wait_all();
    cpu_in_flight_.clear();
    cpu_finished_.clear();
    check_vulkan();
}

void RoutingBackend::bring_home(Region& r, std::uint64_t begin, std::uint64_t end, HomeAccess access) {
    if (vk_) vk_->bring_home(r, begin, end, access), check_vulkan();
    cpu_->bring_home(r, begin, end, access);
}

void RoutingBackend::forget_region(Region& r) {
    if (vk_) vk_->forget_region(r);
    cpu_->forget_region(r);
}

std::vector<ResidentSlice> RoutingBackend::residency(const Region& r) const {
    std::vector<ResidentSlice> slices = cpu_->residency(r);
    if (vk_)
        for (ResidentSlice& s : vk_->residency(r)) slices.push_back(std::move(s));
    return slices;
}

BackendStats RoutingBackend::stats() const {
    BackendStats s = cpu_->stats();
    if (vk_) {
        const BackendStats v = vk_->stats();
        s.bytes_uploaded += v.bytes_uploaded;
        s.bytes_downloaded += v.bytes_downloaded;
    }
    return s;
}

std::string RoutingBackend::counts_text() const {
    auto n = [](std::uint64_t v) { return std::to_string(v); };
    return "vector ops: " + n(counts_.vector_ops[OnVulkan]) + " on vulkan, " + n(counts_.vector_ops[OnCpu]) +
           " on cpu; kernels: " + n(counts_.kernels[OnVulkan]) + " on vulkan, " + n(counts_.kernels[OnCpu]) + " on cpu";
}

namespace {

std::string bytes(std::uint64_t b) {
    char text[32];
    if (b < 1024) std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(b));
    else if (b < (1u << 20)) std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(b) / 1024);
    else std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(b) / (1 << 20));
    return text;
}

}  // namespace

std::string RoutingBackend::bytes_text() const {
    const BackendStats c = cpu_->stats();
    std::string cpu_part = c.bytes_uploaded == 0 && c.bytes_downloaded == 0
                               ? "cpu 0 B (works on the regions in place)"
                               : "cpu " + bytes(c.bytes_uploaded) + " up, " + bytes(c.bytes_downloaded) + " down";
    if (!vk_) return cpu_part;
    const BackendStats v = vk_->stats();
    const char* how = vk_->uses_staging()                           ? "through staging buffers"
                      : vk_->context().can_import_host_memory() ? "kernels on the regions in place, vector ops copied"
                                                                  : "into host-visible device memory";
    return "vulkan " + bytes(v.bytes_uploaded) + " up, " + bytes(v.bytes_downloaded) + " down (" + how + "); " +
           cpu_part;
}

std::string RoutingBackend::table_text() const {
    std::string text;
    for (std::size_t c = 0; c < kRouteClassCount; ++c) {
        if (!text.empty()) text += ", ";
        text += route_class_name(static_cast<RouteClass>(c));
        const std::uint64_t from = table_.vulkan_from[c];
        text += from == RoutingTable::kNever ? " never" : " from " + std::to_string(from);
    }
    return text;
}

}  // namespace polymer
