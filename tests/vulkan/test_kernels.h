// Test helpers: hand-written ABI kernels (tests/vulkan/kernels/*.comp, compiled
// at build time) as Kernel objects, and launches over std::vectors.
#pragma once

#include <string>
#include <vector>

#include "assembler/kernel_spirv.h"
#include "isa/module.h"
#include "vm/kernel_launch.h"

namespace polymer::test {

// The kernel `name` with `params` and no IR: a backend made with
// hand_written_spirv runs it as kernels/<name>.spv.
Kernel load_kernel(const std::string& name, std::vector<KernelParam> params);

// For VulkanBackendOptions::kernel_spirv: the words of kernels/<k.name>.spv,
// or an error naming the kernel when there is no such file.
Result<SharedSpirv> hand_written_spirv(const Kernel& k);

KernelParam buffer_param(const char* name, Access access, ElemType type, Indexing indexing = Indexing::Element);
KernelParam uniform_param(const char* name, ElemType type);

template <class T>
KernelArg buffer_arg(std::vector<T>& v, ElemType type) {
    KernelArg a;
    a.data = v.empty() ? nullptr : v.data();
    a.length = v.size();
    a.type = type;
    return a;
}
KernelArg uniform_arg(std::uint32_t bits);

}  // namespace polymer::test
