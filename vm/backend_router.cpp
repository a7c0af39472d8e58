#include "vm/backend_router.h"

#include <cstdio>

#include "isa/encoding.h"
#include "isa/opcodes.h"
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
    switch (op) {
    case Op::Vsum: case Op::Vsumi: case Op::Vredmin: case Op::Vredmax: case Op::Vredmini: case Op::Vredmaxi:
    case Op::Vdot: case Op::Vdoti:
        return RouteClass::Reduction;
    case Op::Vscan: return RouteClass::Scan;
    case Op::Vmatmul: return RouteClass::Matmul;
    default: return RouteClass::Elementwise;
    }
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

// Measured on the development VM (2 cores, lavapipe on LLVM 15) with
//   build/bin/backend_routing_bench
// (docs/kernels.md, "Choosing a backend", has its table). Lavapipe runs on
// the same cores as the CPU backend, so it wins only where its compiled,
// multi-threaded code beats the CPU loops by more than its fixed cost
// (a submit, a fence wait, copies in and out).
RoutingTable lavapipe_routing_table() {
    RoutingTable t;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Elementwise)] = RoutingTable::kNever;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Reduction)] = RoutingTable::kNever;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Scan)] = RoutingTable::kNever;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Matmul)] = RoutingTable::kNever;
    t.vulkan_from[static_cast<std::size_t>(RouteClass::Kernel)] = RoutingTable::kNever;
    // Sample 13's matmul kernel (a 32-step loop): lavapipe 1.1x faster at
    // 1,024 lanes, 1.5x from 16,384; the CPU 1.4x faster at 256.
    t.vulkan_from[static_cast<std::size_t>(RouteClass::LoopKernel)] = 1024;
    return t;
}

RoutingBackend::RoutingBackend(std::unique_ptr<VulkanBackend> vk, RouteMode mode, RoutingTable table)
    : vk_(std::move(vk)), cpu_(std::make_unique<CpuBackend>()), mode_(vk_ ? mode : RouteMode::Cpu), table_(table) {}

RoutingBackend::~RoutingBackend() { wait_all(); }

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

RoutingBackend::Target RoutingBackend::route(const KernelLaunch& launch) const {
    if (mode_ == RouteMode::Cpu || !vk_->can_run(launch)) return OnCpu;
    if (mode_ == RouteMode::Vulkan) return OnVulkan;
    return route_size(launch) >= table_.threshold(route_class(*launch.kernel)) ? OnVulkan : OnCpu;
}

Ticket RoutingBackend::submit(const VectorOpArgs& args) {
    const Target where = route(args);
    ++counts_.vector_ops[where];
    if (where == OnVulkan) return vk_->submit(args);
    if (vk_) vk_->finish_conflicting(args);
    return cpu_->submit(args) | kCpuBit;
}

Ticket RoutingBackend::submit(const KernelLaunch& launch) {
    const Target where = route(launch);
    ++counts_.kernels[where];
    if (where == OnVulkan) return vk_->submit(launch);
    if (vk_) vk_->finish_conflicting(launch);
    return cpu_->submit(launch) | kCpuBit;
}

VectorOpResult RoutingBackend::wait(Ticket ticket) {
    if (ticket & kCpuBit) return cpu_->wait(ticket & ~kCpuBit);
    return vk_ ? vk_->wait(ticket) : VectorOpResult{};
}

void RoutingBackend::wait_all() {
    if (vk_) vk_->wait_all();
    cpu_->wait_all();
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
    const char* how = vk_->uses_staging() ? "through staging buffers" : "into host-visible device memory";
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
