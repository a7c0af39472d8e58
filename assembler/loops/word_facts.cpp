#include "assembler/loops/word_facts.h"

#include <bit>
#include <string>

#include "isa/formats.h"
#include "isa/frame_analysis.h"

namespace polymer::loops {

WordFacts word_facts(const Module& m, std::uint32_t pc) {
    WordFacts f;
    const Word w = m.code[pc];
    f.op = static_cast<Op>(word_op(w));
    const OpInfo& info = op_info(f.op);
    for (const ResourceUse& u : resource_uses(m, w)) {
        RegSet bit = 0;
        if (u.resource.kind == Resource::Kind::IntReg) bit = int_reg(u.resource.index);
        if (u.resource.kind == Resource::Kind::FloatReg) bit = float_reg(u.resource.index);
        if (u.read) f.reads |= bit;
        if (u.write) f.writes |= bit;
    }
    const FormatInfo& format = format_info(info.format);
    bool reads_register = false;
    for (std::size_t k = 0; k < format.count; ++k) {
        if (format.operands[k].kind == OperandKind::Label) f.target = word_field(w, format.operands[k].field);
        if (format.operands[k].kind == OperandKind::IntReg) reads_register = true;
    }
    if (info.effects & effect::Ctrl) {
        if (format.operands[0].kind == OperandKind::Proc) {
            f.reads = kAllRegs;  // a call: the callee may read anything
        } else if (f.target) {
            f.conditional = reads_register;
            f.falls_through = reads_register;
        } else {
            // ret: the caller may read any register; halt: --dump-registers,
            // the debugger and a trap report show them all.
            f.falls_through = false;
            f.reads = kAllRegs;
        }
    }
    return f;
}

std::vector<WordFacts> proc_facts(const Module& m, const Procedure& proc) {
    std::vector<WordFacts> facts;
    facts.reserve(proc.length);
    for (std::uint32_t i = 0; i < proc.length; ++i) facts.push_back(word_facts(m, proc.start + i));
    return facts;
}

std::vector<RegSet> live_in(const Procedure& proc, const std::vector<WordFacts>& facts) {
    std::vector<RegSet> in(proc.length, 0);
    auto live_at = [&](std::uint32_t pc) -> RegSet {
        return pc >= proc.start && pc < proc.start + proc.length ? in[pc - proc.start] : 0;
    };
    for (bool changed = true; changed;) {
        changed = false;
        for (std::uint32_t i = proc.length; i-- > 0;) {
            const WordFacts& f = facts[i];
            RegSet out = 0;
            if (f.falls_through) out |= live_at(proc.start + i + 1);
            if (f.target) out |= live_at(*f.target);
            const RegSet now = f.reads | (out & ~f.writes);
            if (now != in[i]) in[i] = now, changed = true;
        }
    }
    return in;
}

std::string reg_name(RegSet one) {
    const unsigned bit = static_cast<unsigned>(std::countr_zero(one));
    return (bit < 32 ? "r" : "f") + std::to_string(bit % 32);
}

}  // namespace polymer::loops
