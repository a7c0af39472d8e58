#include "vm/trap.h"

#include "isa/opcodes.h"
#include "vm/kernel_fault.h"

namespace polymer {

std::string_view trap_name(TrapKind kind) {
    switch (kind) {
    case TrapKind::DivisionByZero: return "division-by-zero";
    case TrapKind::OutOfBounds: return "out-of-bounds";
    case TrapKind::StackOverflow: return "stack-overflow";
    case TrapKind::StackUnderflow: return "stack-underflow";
    case TrapKind::CallDepth: return "call-depth";
    case TrapKind::BadAllocation: return "bad-allocation";
    case TrapKind::LengthMismatch: return "length-mismatch";
    case TrapKind::TypeMismatch: return "type-mismatch";
    case TrapKind::StepLimit: return "step-limit";
    case TrapKind::BadLaunch: return "bad-launch";
    case TrapKind::Unsupported: return "unsupported";
    case TrapKind::Interrupted: return "interrupted";
    case TrapKind::BadHandle: return "bad-handle";
    case TrapKind::BadArgument: return "bad-argument";
    case TrapKind::BadInput: return "bad-input";
    case TrapKind::Deadlock: return "deadlock";
    case TrapKind::BadProcedure: return "bad-procedure";
    case TrapKind::BadMessage: return "bad-message";
    case TrapKind::BadPlacement: return "bad-placement";
    case TrapKind::ProcedureLost: return "procedure-lost";
    }
    return "unknown-trap";
}

Trap kernel_trap(const Module& m, const Kernel& k, const KernelFault& f, std::uint32_t pc, std::uint32_t budget) {
    const TrapKind kind = f.kind == KernelFault::Kind::StepBudget    ? TrapKind::StepLimit
                          : f.kind == KernelFault::Kind::Interrupted ? TrapKind::Interrupted
                          : f.kind == KernelFault::Kind::DeviceLoopLimit ? TrapKind::Unsupported
                                                                     : TrapKind::OutOfBounds;
    return Trap{kind, pc, describe_kernel_fault(m, k, f, budget)};
}

const Procedure* proc_containing(const Module& m, std::uint32_t pc) {
    for (const Procedure& p : m.procs)
        if (pc >= p.start && std::uint64_t{pc} < std::uint64_t{p.start} + p.length) return &p;
    return nullptr;
}

std::string format_trap(const Module& m, const Trap& trap, std::string_view instruction) {
    std::string s = "trap: ";
    s += trap_name(trap.kind);
    if (const Procedure* p = proc_containing(m, trap.pc)) s += " in proc '" + p->name + "'";
    if (!trap.procedure.empty()) s += " (" + trap.procedure + ")";
    s += " at pc " + std::to_string(trap.pc);
    std::string where = trap.pc < m.lines.size() ? source_file_of(m, m.lines[trap.pc]) : m.source_file;
    if (trap.pc < m.lines.size() && m.lines[trap.pc].line != 0) {
        where += ":" + std::to_string(m.lines[trap.pc].line);
        if (m.lines[trap.pc].col != 0) where += ":" + std::to_string(m.lines[trap.pc].col);
    }
    if (!where.empty()) s += " (" + where + ")";
    if (!instruction.empty()) {
        // Listings pad the mnemonic into a column; one space reads better in a message.
        s += ": ";
        const std::size_t end = instruction.find(' ');
        const std::size_t next = instruction.find_first_not_of(' ', end);
        if (end == std::string_view::npos || next == std::string_view::npos) {
            s += instruction;
        } else {
            s += instruction.substr(0, end);
            s += ' ';
            s += instruction.substr(next);
        }
    } else if (trap.pc < m.code.size() && is_valid_op(word_op(m.code[trap.pc]))) {
        s += ": ";
        s += op_info(static_cast<Op>(word_op(m.code[trap.pc]))).mnemonic;
    }
    if (!trap.detail.empty()) s += ": " + trap.detail;
    return s;
}

}  // namespace polymer
