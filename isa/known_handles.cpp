#include "isa/known_handles.h"

#include "isa/frame_analysis.h"
#include "isa/opcodes.h"

namespace polymer {

std::optional<std::uint32_t> KnownHandles::region(std::uint32_t operand) const {
    if (operand < kFirstHandleOperand) return operand;
    if (!is_handle_operand(operand) || region_[handle_register(operand)] == kUnknown) return std::nullopt;
    return static_cast<std::uint32_t>(region_[handle_register(operand)]);
}

void KnownHandles::after(const Module& m, Word w) {
    if (!is_valid_op(word_op(w))) return;
    const Op op = static_cast<Op>(word_op(w));
    if (has_effect(op, effect::Ctrl)) return forget();
    if (op == Op::Rgn) {  // rgn rA, region: rA := the handle of a region known or not
        const std::optional<std::uint32_t> g = region(word_b(w));
        if (word_a(w) < kIntRegisters)
            region_[word_a(w)] = g && *g < m.regions.size() ? static_cast<std::int16_t>(*g) : kUnknown;
        return;
    }
    for (const ResourceUse& u : resource_uses(m, w))
        if (u.write && u.resource.kind == Resource::Kind::IntReg && u.resource.index < kIntRegisters)
            region_[u.resource.index] = kUnknown;
}

}  // namespace polymer
