// RoutingBackend: one polymer::Backend in front of a VulkanBackend and a
// CpuBackend that sends each op to one of them and counts where it went.
//
//   Vulkan:  every op the device can run (a shader for its types, a kernel
//            with SPIR-V) goes to Vulkan, the rest to the CPU. Used for
//            `--backend vulkan` and for `auto` on a discrete or integrated GPU.
//   BySize:  `auto` when the only Vulkan device is a CPU device (lavapipe):
//            an op goes to Vulkan when it can run there and its size reaches
//            the threshold of its class (RoutingTable), else to the CPU.
//   Cpu:     everything on the CPU (`--backend cpu`, or no Vulkan at all).
//
// Sizes: elements for element-wise ops, reductions and scans; M x N x K
// multiply-adds for vmatmul; lanes for a kernel launch. Kernels are two
// classes: straight-line, and with a `loop` (see RouteClass).
//
// Tickets carry which backend issued them, and wait() goes there. Ordering
// across the two (each backend orders its own ops): before an op goes to the
// CPU, every Vulkan op in flight that writes memory the op touches is
// finished; before an op goes to Vulkan, every CPU ticket in flight whose
// memory overlaps the op's, one of them writing, is waited for (its result
// kept for its own wait). So an op always sees the writes of ops submitted
// before it, whichever backend ran them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vm/backend.h"

namespace polymer {

class VulkanBackend;

// A kernel's cost a lane is not known before it runs; whether its IR has a
// `loop` is the static hint that separates a few instructions a lane (where
// lavapipe's fixed cost never pays off) from many.
enum class RouteClass : std::uint8_t { Elementwise, Reduction, Scan, Matmul, Kernel, LoopKernel };
inline constexpr std::size_t kRouteClassCount = 6;
const char* route_class_name(RouteClass c);  // "element-wise", "reduction", ...

RouteClass route_class(Op op);  // of a vector op
RouteClass route_class(const Kernel& kernel);
std::uint64_t route_size(const VectorOpArgs& args);
std::uint64_t route_size(const KernelLaunch& launch);

// Per class, the smallest size that goes to lavapipe (kNever: none does).
struct RoutingTable {
    static constexpr std::uint64_t kNever = ~std::uint64_t{0};
    std::array<std::uint64_t, kRouteClassCount> vulkan_from{};
    std::uint64_t threshold(RouteClass c) const { return vulkan_from[static_cast<std::size_t>(c)]; }
};

// The crossovers measured with tests/vm/backend_routing_bench (docs/kernels.md).
RoutingTable lavapipe_routing_table();

enum class RouteMode : std::uint8_t { Vulkan, BySize, Cpu };

class RoutingBackend final : public Backend {
public:
    // `vk` may be null only with RouteMode::Cpu.
    RoutingBackend(std::unique_ptr<VulkanBackend> vk, RouteMode mode, RoutingTable table = {});
    ~RoutingBackend() override;

    // Called on the VM's thread, from submit, wait or wait_all, when the
    // Vulkan device failed an op (a pipeline or buffer it could not make, a
    // submit or fence it refused, a lost device) with the device's name and
    // its message: the op's results are garbage, so the run must stop, never
    // go on with zeros. Should not return (polymer-run prints the message and
    // exits 2); if it does, the op's results are undefined. Default: print
    // the message to stderr and exit(2).
    void on_failure(std::function<void(const std::string&)> handler) { on_failure_ = std::move(handler); }

    std::string_view name() const override;
    Ticket submit(const VectorOpArgs& args) override;
    Ticket submit(const KernelLaunch& launch) override;
    VectorOpResult wait(Ticket ticket) override;
    void wait_all() override;
    // Ops routed to the CPU with nothing in flight there, as CpuBackend does.
    bool run_inline(const VectorOpArgs& args, VectorOpResult& result) override;
    bool run_inline(const KernelLaunch& launch, VectorOpResult& result) override;
    // A loop of launches that all route to the CPU: the CPU backend's rounds
    // (vm/launch_rounds.h); else declined.
    std::optional<RoundsResult> run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) override;
    // A GPU-class device only when launches go to it (RouteMode::Vulkan on a
    // discrete or integrated GPU); lavapipe is a CPU device.
    std::optional<BackendCapabilities> capabilities() const override;
    bool runs_on_host_cores(const KernelLaunch& launch) const override { return route(launch) == OnCpu; }
    bool folds_groups(const KernelLaunch& launch) const override;
    // Both backends' copies added up (the CPU's are zero).
    BackendStats stats() const override;
    // Residency: to both backends, each answering for what it keeps (neither
    // keeps anything elsewhere today, but a wrapper must not hide it).
    void bring_home(Region& r, std::uint64_t begin, std::uint64_t end, HomeAccess access) override;
    void forget_region(Region& r) override;
    std::vector<ResidentSlice> residency(const Region& r) const override;

    enum Target : std::uint8_t { OnVulkan = 0, OnCpu = 1 };
    struct Counts {
        std::uint64_t vector_ops[2] = {0, 0};  // indexed by Target
        std::uint64_t kernels[2] = {0, 0};
    };
    const Counts& counts() const { return counts_; }
    RouteMode mode() const { return mode_; }
    // Where a vector op or launch would go now (no side effects). `why`, when
    // given, gets the Vulkan backend's reason when it cannot run the launch.
    Target route(const VectorOpArgs& args) const;
    Target route(const KernelLaunch& launch, std::string* why = nullptr) const;

    // For --stats: "vector ops: 3 on vulkan, 2 on cpu; kernels: 1 on vulkan, 0 on cpu".
    std::string counts_text() const;
    // For --stats: "vulkan 12.0 MB up, 4.0 MB down; cpu 0 B (works on the regions in place)".
    std::string bytes_text() const;
    // For --stats under BySize: "lavapipe from: element-wise never, ..., kernel 4096".
    std::string table_text() const;
    // For --stats: why kernels went to the CPU that the Vulkan device cannot
    // run, one reason per kernel (the first seen; at most kMaxRefusals kernels).
    const std::map<std::string, std::string>& refusals() const { return refusals_; }
    static constexpr std::size_t kMaxRefusals = 16;

    VulkanBackend* vulkan() { return vk_.get(); }

private:
    static constexpr Ticket kCpuBit = Ticket{1} << 63;
    struct Span {  // host memory an op reads or writes
        const std::byte* begin;
        const std::byte* end;
        bool written;
    };
    struct CpuTicket {
        Ticket ticket;  // as CpuBackend gave it
        std::vector<Span> spans;
    };
    static std::vector<Span> spans_of(const VectorOpArgs& args);
    static std::vector<Span> spans_of(const KernelLaunch& launch);
    // Waits for the CPU tickets in flight that conflict with `spans`.
    void finish_cpu_conflicts(const std::vector<Span>& spans);
    Ticket submit_to_cpu(std::vector<Span> spans, Ticket t);
    // After every call into the Vulkan backend: hands its error, if any, to on_failure_.
    void check_vulkan();
    // Keeps the reason a launch's kernel cannot run on the Vulkan device.
    void note_refusal(const KernelLaunch& launch, std::string why);

    std::unique_ptr<VulkanBackend> vk_;
    std::unique_ptr<Backend> cpu_;
    RouteMode mode_;
    RoutingTable table_;
    Counts counts_;
    std::vector<CpuTicket> cpu_in_flight_;                     // not yet waited for
    std::unordered_map<Ticket, VectorOpResult> cpu_finished_;  // waited early, for a hazard
    std::function<void(const std::string&)> on_failure_;
    std::map<std::string, std::string> refusals_;  // kernel name -> why it is not on the Vulkan device
};

}  // namespace polymer
