#include "cluster/node_setup.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <thread>

#include "cluster/chunk_runner.h"
#include "cluster/log.h"
#include "cluster/throughput_probe.h"
#include "isa/encoding.h"
#include "isa/opcodes.h"
#include "vm/backend.h"
#include "vm/backend_chooser.h"
#include "vm/cpu_kernels/cpu_thread_pool.h"
#include "vm/vulkan/vulkan_backend.h"
#include "vm/vulkan/vulkan_context.h"

namespace polymer::cluster {

namespace {

std::vector<DeviceDesc> list_vulkan_devices() {
    std::vector<DeviceDesc> out;
    auto devices = vk::VulkanContext::list_devices();
    if (!devices) {
        log(LogLevel::Info, "no Vulkan devices: ", devices.error());
        return out;
    }
    for (const vk::DeviceInfo& d : devices.value())
        out.push_back(DeviceDesc{d.name, vk::device_type_name(d.type), d.memory_bytes});
    return out;
}

}  // namespace

unsigned usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

std::string host_name() {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return host;
}

Result<NodeConfig> node_config(const NodeSetup& setup) {
    NodeConfig config;
    config.threads = setup.threads != 0 ? setup.threads : usable_cores();
    // CPU: a backend per pool thread, chunks in parallel on the pool. Vulkan: one
    // device for the node; chunks take turns on it (the backend is not
    // thread-safe), each checked with can_run first.
    std::shared_ptr<VulkanBackend> vulkan;
    if (setup.vulkan) {
        VulkanBackendOptions vo;
        vo.pipeline_cache_enabled = false;
        auto created = VulkanBackend::create(vo);
        if (!created) return Error{"--backend vulkan: " + created.error()};
        vulkan = std::move(created).value();
        log(LogLevel::Info, "kernel chunks run on Vulkan device '", vulkan->device().name, "'");
        auto turn = std::make_shared<std::mutex>();
        config.execute = [vulkan, turn](const PreparedChunk& chunk) -> Result<ChunkResult> {
            std::lock_guard lock(*turn);
            std::string why;
            if (!vulkan->can_run(chunk.launch, &why)) return Error{why};
            ChunkResult r = run_chunk(chunk, *vulkan);
            if (std::string e = vulkan->take_error(); !e.empty()) return Error{"Vulkan: " + e};
            return r;
        };
        // A procedure spawned here runs on a device of its own on the same
        // GPU (a backend is one thread's), as polymer-run --backend vulkan
        // would: ops the device cannot run go to the CPU.
        config.procedure_backend = []() -> std::unique_ptr<Backend> {
            Result<ChosenBackend> chosen = choose_backend(BackendKind::Vulkan, 0, /*pipeline_cache=*/false);
            if (!chosen) {
                log(LogLevel::Warn, "a procedure's vector ops and kernels run on the CPU: ", chosen.error());
                return std::make_unique<CpuBackend>();
            }
            log(LogLevel::Info, "a procedure's vector ops and kernels run on ", chosen.value().description);
            return std::move(chosen.value().backend);
        };
    } else {
        // One pool of cores - 1 workers for the whole node: each chunk thread
        // has its own backend (tickets, decode cache) but they share the
        // workers, so --threads 4 on 8 cores runs 8 threads at a time, not 32.
        auto pool = std::make_shared<CpuThreadPool>(usable_cores() - 1);
        config.execute = [pool](const PreparedChunk& chunk) -> Result<ChunkResult> {
            thread_local CpuBackend cpu(CpuBackendOptions{.shared_pool = pool});  // lives as long as the thread
            return run_chunk(chunk, cpu);
        };
        // Straight-line kernels over few lanes cost microseconds at most: run
        // them on the io thread. Anything with a loop could run for ever and
        // must not hold up heartbeats and other peers.
        config.runs_inline = [](const PreparedChunk& chunk) {
            constexpr std::uint64_t kInlineWork = 1 << 14;  // lanes x kernel instructions
            const std::uint64_t lanes = chunk.launch.end - chunk.launch.begin;
            const auto& code = chunk.launch.kernel->code;
            if (lanes * code.size() > kInlineWork) return false;
            const auto loop = static_cast<std::uint8_t>(KOp::Loop);  // one word per instruction
            return std::none_of(code.begin(), code.end(), [loop](Word w) { return word_op(w) == loop; });
        };
    }
    config.caps.name = setup.name.empty() ? host_name() : setup.name;
    config.caps.backend = vulkan ? "vulkan" : "cpu";
    config.caps.cores = usable_cores();
    config.caps.memory_bytes =
        static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    config.caps.max_memory = setup.max_memory;
    // The figure a home node sizes this node's first claims by (docs/cluster.md).
    if (setup.fake_throughput > 0) {
        log(LogLevel::Warn, "--fake-throughput: advertising ", setup.fake_throughput, " elements/s (test only)");
        config.caps.throughput = setup.fake_throughput;
    } else if (setup.probe_throughput) {
        config.caps.throughput = measure_saxpy_throughput();
    }
    if (setup.probe_vulkan) config.caps.devices = list_vulkan_devices();
    if (!setup.fake_device_type.empty()) {
        log(LogLevel::Warn, "--fake-device-type: advertising a fake '", setup.fake_device_type, "' device (test only)");
        config.caps.devices.push_back(
            DeviceDesc{"fake " + setup.fake_device_type + " device (test only)", setup.fake_device_type, 0});
    }
    return config;
}

}  // namespace polymer::cluster
