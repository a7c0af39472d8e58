// Picks the backend polymer-run runs long operations on (--backend, --device).
//   cpu:    CpuBackend.
//   vulkan: VulkanBackend on device N; no Vulkan is an error. Kernels the device
//           cannot run (can_run: no SPIR-V, too many parameters) go to the CPU.
//   auto:   a discrete or integrated GPU when device N is one, else the CPU
//           backend (lavapipe is slower than the CPU executor; see
//           docs/benchmarks.md), and the CPU when there is no Vulkan at all.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "isa/result.h"
#include "vm/backend.h"

namespace polymer {

enum class BackendKind : std::uint8_t { Auto, Vulkan, Cpu };

struct ChosenBackend {
    std::unique_ptr<Backend> backend;
    std::string description;  // "vulkan (llvmpipe ...)" or "cpu", for --stats
    // "kernels: 3 on vulkan, 1 on cpu" (for --stats).
    std::function<std::string()> stats;
};

Result<ChosenBackend> choose_backend(BackendKind kind, std::uint32_t device_index);

}  // namespace polymer
