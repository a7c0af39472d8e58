// The SPIR-V a kernel runs as on Vulkan: its verified IR lowered to GLSL
// (kernel_glsl.h) and compiled by glslang (spirv_compiler.h), never words
// read from a module (docs/module-format.md, "Only verified code runs").
//
// Compiling costs milliseconds a kernel, so each result is kept under the
// SHA-256 of what it was compiled from (the GLSL text and the compiler's
// version): in this process (up to a memory budget, oldest dropped first)
// and, given a directory, in a file <dir>/spirv/<sha256>.spv that later runs
// read back. A file whose own SHA-256 of its words does not match, or whose
// words SPIRV-Tools does not pass, is ignored and rewritten. Thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer {

using SpirvWords = std::vector<std::uint32_t>;
using SharedSpirv = std::shared_ptr<const SpirvWords>;

// The kernel's SPIR-V, validated by SPIRV-Tools when it was compiled. The
// error says why a verified kernel cannot run on Vulkan ("kernel 'k' cannot
// be lowered to SPIR-V: ...").
Result<SharedSpirv> kernel_spirv(const Kernel& k, const std::filesystem::path& cache_dir = {});

// Where the results came from, since the process started (for tests and
// the load-time figures in docs/module-format.md).
struct KernelSpirvStats {
    std::uint64_t compiled = 0;
    std::uint64_t memory_hits = 0;
    std::uint64_t disk_hits = 0;
};
KernelSpirvStats kernel_spirv_stats();

// Polymer's cache directory: $XDG_CACHE_HOME/polymer, else
// $HOME/.cache/polymer; empty when neither is set. The SPIR-V files go
// under it (spirv/), and the Vulkan driver's pipeline cache
// (vm/vulkan/pipeline_cache_file.h).
std::filesystem::path default_cache_dir();

}  // namespace polymer
