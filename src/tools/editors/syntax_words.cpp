#include "src/tools/editors/syntax_words.h"

#include <algorithm>

#include "assembler/assembler.h"
#include "isa/elem_type.h"
#include "isa/encoding.h"
#include "isa/opcodes.h"

namespace polymer::editors {

namespace {

// Reverse order puts "ld.i32" before "ld", so an alternation tried left to
// right never stops at a prefix.
void tidy(std::vector<std::string>& words) {
    std::sort(words.begin(), words.end(), std::greater<>());
    words.erase(std::unique(words.begin(), words.end()), words.end());
}

void add_registers(std::vector<std::string>& out, char prefix, unsigned count) {
    for (unsigned i = 0; i < count; ++i) out.push_back(prefix + std::to_string(i));
}

bool is_kernel_control(KEffect e) {
    switch (e) {
    case KEffect::Pure:
    case KEffect::Uniform:
    case KEffect::Length:
    case KEffect::Load:
    case KEffect::Store:
    case KEffect::Atomic: return false;
    case KEffect::If:
    case KEffect::Else:
    case KEffect::Loop:
    case KEffect::End:
    case KEffect::Break:
    case KEffect::Continue:
    case KEffect::Exit: return true;
    }
    return false;
}

}  // namespace

SyntaxWords syntax_words() {
    SyntaxWords w;
    for (Op op : kAllOps)
        (has_effect(op, effect::Ctrl) ? w.control : w.instructions).emplace_back(op_info(op).mnemonic);
    for (KOp op : kAllKOps)
        (is_kernel_control(kop_effect(op)) ? w.kernel_control : w.kernel_instructions)
            .emplace_back(kop_info(op).mnemonic);
    for (std::string_view d : directive_names()) w.directives.emplace_back(d);
    for (std::uint8_t t = 0; t < kElemTypeCount; ++t) w.types.emplace_back(elem_type_name(static_cast<ElemType>(t)));
    for (std::string_view k : kDeclarationWords) w.keywords.emplace_back(k);
    add_registers(w.registers, 'r', std::max(kIntRegisters, kKernelIntRegisters));
    add_registers(w.registers, 'f', std::max(kFloatRegisters, kKernelFloatRegisters));
    for (auto* list : {&w.instructions, &w.control, &w.kernel_instructions, &w.kernel_control, &w.directives, &w.types,
                       &w.keywords, &w.registers})
        tidy(*list);
    return w;
}

}  // namespace polymer::editors
