#include "vm/kernel_fault.h"

#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer {

void merge_fault(KernelFault& into, const KernelFault& f) {
    if (!f || into.kind == KernelFault::Kind::Interrupted) return;
    if (f.kind == KernelFault::Kind::Interrupted || !into || f.lane < into.lane) into = f;
}

std::string describe_kernel_fault(const Module& m, const Kernel& k, const KernelFault& f, std::uint32_t budget) {
    std::string s = "kernel " + k.name + ": ";
    if (f.kind == KernelFault::Kind::Interrupted) return s + "interrupted";
    s += "lane " + std::to_string(f.lane) + " ";
    if (f.kind == KernelFault::Kind::StepBudget) {
        s += "ran past " + std::to_string(budget) + " loop iterations";
    } else if (f.kind == KernelFault::Kind::DeviceLoopLimit) {
        s += "had its loop ended by the Vulkan device, which runs at most 65535 loop iterations per lane (lavapipe); "
             "run it with --backend cpu";
    } else {
        const std::string name = f.param < k.params.size() ? k.params[f.param].name : "?";
        const KOp op = f.pc < k.code.size() && is_valid_kop(word_op(k.code[f.pc])) ? static_cast<KOp>(word_op(k.code[f.pc]))
                                                                                    : KOp::Nop;
        const KEffect e = kop_effect(op);
        s += e == KEffect::Load ? "loaded " : e == KEffect::Atomic ? "added to " : "stored ";
        s += name + "[" + std::to_string(f.index) + "], ";
        const KernelParam* p = f.param < k.params.size() ? &k.params[f.param] : nullptr;
        if (p != nullptr && p->indexing == Indexing::Element)
            s += "not its own element " + name + "[" + std::to_string(f.lane) + "]";
        else if (p != nullptr && p->indexing == Indexing::Window && !in_window(*p, f.lane, f.index))
            s += "outside its window " + name + indexing_text(*p);
        else
            s += "outside " + name + " (length " + std::to_string(f.length) + ")";  // a window's too, past an end
    }
    if (f.pc < k.lines.size() && k.lines[f.pc].line != 0) {
        const std::string& file = source_file_of(m, k.lines[f.pc]);
        s += " (" + (file.empty() ? std::string("line ") : file + ":") + std::to_string(k.lines[f.pc].line) + ")";
    }
    return s;
}

}  // namespace polymer
