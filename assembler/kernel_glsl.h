// Kernel IR -> GLSL 450 compute shader text, following the kernel ABI in
// docs/kernels.md: buffer parameter p at set 0, binding p; a push-constant
// block with base/end/count/budget and the parameters' 32-bit slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer {

// The push-constant block holds 20 bytes of launch data and the parameters'
// 4-byte slots in the 128 bytes Vulkan guarantees: (128 - 20) / 4.
inline constexpr std::size_t kMaxKernelPushSlots = 27;

// The slots parameter p takes: a buffer's length in elements or an i32/f32
// uniform's bits take one, an i64/f64 uniform (wide kernels) two, low word
// first.
constexpr std::uint32_t push_slots(const KernelParam& p) {
    return p.kind == ParamKind::Uniform && elem_size(p.type) == 8 ? 2 : 1;
}

// Each parameter's first slot, in parameter order, then the total: the one
// place the layout is computed (the GLSL reads it, the Vulkan backend fills it).
std::vector<std::uint32_t> push_slot_layout(const Kernel& k);

// The slots the kernel's parameters take in all.
std::size_t push_slot_count(const Kernel& k);

// Empty, or why the kernel's parameters do not fit the push constants
// ("kernel 'k' has 29 parameters taking 29 push-constant slots; ...").
std::string push_slot_problem(const Kernel& k);

// Whether `op` has a wide (binary64, int64) template: those without one
// (ffma, fpow, fsin, fcos, fexp, flog) have no binary64 form in GLSL/Vulkan.
bool has_wide_lowering(KOp op);

// Readable GLSL for one kernel; structured control flow maps one-to-one.
// Deterministic: the same kernel always gives the same text.
std::string kernel_to_glsl(const Kernel& k);

}  // namespace polymer
