#include "vm/backend_chooser.h"

#include <utility>

#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

// Vector ops and runnable kernels on Vulkan, kernels Vulkan cannot run on the
// CPU. The machine waits for each op before the next instruction, so the two
// backends never have work in flight at once; wait_all drains both anyway.
class VulkanWithCpuFallback final : public Backend {
public:
    explicit VulkanWithCpuFallback(std::unique_ptr<VulkanBackend> vk) : vk_(std::move(vk)) {}
    std::string_view name() const override { return "vulkan"; }
    Ticket submit(const VectorOpArgs& args) override { return tag(vk_->submit(args), true); }
    Ticket submit(const KernelLaunch& launch) override {
        if (vk_->can_run(launch)) {
            ++on_vulkan_;
            return tag(vk_->submit(launch), true);
        }
        ++on_cpu_;
        return tag(cpu_.submit(launch), false);
    }
    VectorOpResult wait(Ticket t) override {
        return (t & kCpuBit) ? cpu_.wait(t & ~kCpuBit) : vk_->wait(t);
    }
    void wait_all() override {
        vk_->wait_all();
        cpu_.wait_all();
    }
    std::string stats() const {
        return "kernels: " + std::to_string(on_vulkan_) + " on vulkan, " + std::to_string(on_cpu_) + " on cpu";
    }

private:
    static constexpr Ticket kCpuBit = Ticket{1} << 63;
    static Ticket tag(Ticket t, bool vulkan) { return vulkan ? t : (t | kCpuBit); }
    std::unique_ptr<VulkanBackend> vk_;
    CpuBackend cpu_;
    std::uint64_t on_vulkan_ = 0, on_cpu_ = 0;
};

ChosenBackend cpu_backend(std::string why) {
    ChosenBackend c;
    c.backend = std::make_unique<CpuBackend>();
    c.description = why.empty() ? "cpu" : "cpu (" + why + ")";
    return c;
}

}  // namespace

Result<ChosenBackend> choose_backend(BackendKind kind, std::uint32_t device_index) {
    if (kind == BackendKind::Cpu) return cpu_backend("");
    VulkanBackendOptions o;
    o.device_index = device_index;
    auto vk = VulkanBackend::create(o);
    if (!vk.ok()) {
        if (kind == BackendKind::Vulkan) return Error{"cannot use the Vulkan backend: " + vk.error()};
        return cpu_backend("no usable Vulkan device");
    }
    const vk::DeviceType type = vk.value()->device().type;
    const std::string device_name = vk.value()->device().name;
    if (kind == BackendKind::Auto && type != vk::DeviceType::Discrete && type != vk::DeviceType::Integrated)
        return cpu_backend("device " + std::to_string(device_index) + " '" + device_name + "' is not a GPU");
    auto routed = std::make_unique<VulkanWithCpuFallback>(std::move(vk).value());
    ChosenBackend c;
    VulkanWithCpuFallback* r = routed.get();
    c.stats = [r] { return r->stats(); };
    c.backend = std::move(routed);
    c.description = "vulkan (" + device_name + ")";
    return c;
}

}  // namespace polymer
