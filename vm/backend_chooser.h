// Picks the backend polymer-run runs long operations on (--backend, --device).
// Every choice is a RoutingBackend (vm/backend_router.h), so --stats can say
// where each op ran and how many bytes it moved:
//   cpu:    everything on the CPU backend.
//   vulkan: Vulkan device N; no Vulkan is an error. Ops the device cannot run
//           (no shader for the types, a kernel without SPIR-V) go to the CPU.
//   auto:   device N when it is a discrete or integrated GPU (as `vulkan`);
//           when it is a CPU device (lavapipe), each op goes to lavapipe or the
//           CPU backend by its class and size (lavapipe_routing_table); with no
//           Vulkan at all, the CPU, and `notice` says so.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "isa/result.h"
#include "vm/backend.h"
#include "vm/backend_router.h"

namespace polymer {

enum class BackendKind : std::uint8_t { Auto, Vulkan, Cpu };

struct ChosenBackend {
    std::unique_ptr<RoutingBackend> backend;
    // "vulkan (llvmpipe ...)", "auto (llvmpipe ...: by op size, else cpu)" or
    // "cpu (no usable Vulkan device)", for --stats.
    std::string description;
    // One line for stderr when auto had to fall back to the CPU because there
    // is no usable Vulkan device; empty otherwise.
    std::string notice;
};

// `pipeline_cache`: keep the driver's pipeline cache on disk
// (VulkanBackendOptions::pipeline_cache_enabled; a node's daemon does not).
Result<ChosenBackend> choose_backend(BackendKind kind, std::uint32_t device_index, bool pipeline_cache = true);

}  // namespace polymer
