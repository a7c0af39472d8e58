// Every row of the opcode table, run in every execution mode against
// in-order. The programs are generated from the table itself (each
// operand from its format), so a new opcode is covered the day its row is
// added, and the test fails if no program can be made for it.
//
// Each opcode runs twice: with ordinary operand values, and with edge values
// that make the ones that can trap trap (a zero divisor, an index of -1, an
// empty launch). Frames, ooo and spec run with the interpreter hand-off on
// (the default) and off (every instruction through the ROB), on a ROB of 64
// entries and of 2.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "isa/opcodes.h"
#include "isa/verifier.h"
#include "mode_runner.h"

namespace polymer {
namespace {

// Regions of every element type, four per type (the most a vector op names),
// of 4 elements each, so that vmatmul with K = 2 fits (2x2 * 2x2).
const char* const kTypes[] = {"f64", "i32", "f32", "i64", "u32", "u8"};

std::string region_name(std::string_view type, int k) { return "g_" + std::string(type) + "_" + std::to_string(k); }

std::string prologue() {
    std::string s;
    for (const char* t : kTypes)
        for (int k = 0; k < 4; ++k)
            s += ".region " + region_name(t, k) + " " + t + "[] = " + std::to_string(k + 1) + ", 2, 0, 3\n";
    s += R"(
.channel ch 2
.barrier bar 1

.kernel kern (in x: i32[i], inout y: i32[i], a: i32)
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        ldp     r3, a
        mul     r1, r1, r3
        add     r2, r2, r1
        st      y[r0], r2
.end

.proc callee
        addi    r9, r9, 1
        ret
.end
)";
    return s;
}

// Operand values: the ordinary set, and the edge set (r2 = -1 is an index
// out of bounds or a missing argument, r3 = 0 a zero divisor, r1 = 0 an
// empty launch or allocation). The input is numbers and a line, or a word
// that is not a number.
test::ProgramInputs inputs(bool edge) {
    return edge ? test::ProgramInputs{{"x"}, "abc"} : test::ProgramInputs{{"12", "-35", "4"}, "7 2.5\nline two\n"};
}

std::string setup(bool edge) {
    std::string s = edge ? "        li r1, 0\n        li r2, -1\n        li r3, 0\n"
                         : "        li r1, 2\n        li r2, 1\n        li r3, 3\n";
    s += edge ? "        lif f1, 0.0\n        lif f2, -0.0\n        lif f3, -1.5\n"
              : "        lif f1, 1.5\n        lif f2, -0.25\n        lif f3, 2.0\n";
    s += "        li r4, 7\n        push r4\n        pushf f1\n";
    return s;
}

// The instruction's text with every operand made from its kind; regions of
// element type `type` (ld/st: the type the opcode names). nullopt: a kind a
// procedure instruction cannot have.
std::optional<std::string> instruction(Op op, std::string_view type) {
    const OpInfo& info = op_info(op);
    const FormatInfo& f = format_info(info.format);
    std::string text = "        " + std::string(info.mnemonic);
    int ints = 0, floats = 0, regions = 0;
    for (std::size_t k = 0; k < f.count; ++k) {
        text += k == 0 ? " " : ", ";
        switch (f.operands[k].kind) {
        case OperandKind::IntReg: text += "r" + std::to_string(++ints); break;
        case OperandKind::FloatReg: text += "f" + std::to_string(++floats); break;
        case OperandKind::Imm:
        case OperandKind::Digits: text += "3"; break;
        case OperandKind::IntConst: text += "5000000000"; break;
        case OperandKind::FloatConst: text += "0.375"; break;
        case OperandKind::Label: text += "after"; break;
        case OperandKind::Proc: text += "callee"; break;
        case OperandKind::String: text += "\"<s>\""; break;
        case OperandKind::Region: text += region_name(type, regions++); break;
        case OperandKind::Mem: {
            const std::optional<ElemType> t = element_access_type(op);
            text += region_name(t ? elem_type_name(*t) : type, 0) + "[r2]";
            break;
        }
        case OperandKind::Channel: text += "ch"; break;
        case OperandKind::Barrier: text += "bar"; break;
        case OperandKind::LaunchSite:
            text += "kern, r1, " + region_name("i32", 0) + ", " + region_name("i32", 1) + ", r3";
            break;
        case OperandKind::LoopSite:  // made by the assembler from a loop: tests/vm/loop_kernel_test.cpp
        case OperandKind::F32Imm:
        case OperandKind::Param:
        case OperandKind::PMem: return std::nullopt;
        }
    }
    return text + "\n";
}

std::optional<Module> assemble_quietly(const std::string& source) {
    AssembleOptions options;
    options.filename = "every_opcode.pasm";
    AssembleResult assembled = assemble(source, options);
    if (!assembled.ok()) return std::nullopt;
    if (!verify_module(*assembled.module).ok()) return std::nullopt;
    return std::move(*assembled.module);
}

// The first element type for which the opcode's program assembles (the
// assembler applies the opcode's type rules).
std::optional<std::pair<Module, std::string>> program_for(Op op, bool edge) {
    for (const char* type : kTypes) {
        const std::optional<std::string> insn = instruction(op, type);
        if (!insn) return std::nullopt;
        const std::string source = prologue() + "\n.proc main\n" + setup(edge) + *insn + "after:\n        halt\n.end\n";
        if (std::optional<Module> m = assemble_quietly(source)) return std::pair{std::move(*m), source};
    }
    return std::nullopt;
}

TEST(EveryOpcode, RunsAliveInEveryModeAsInOrder) {
    std::size_t covered = 0;
    for (Op op : kAllOps) {
        const std::string mnemonic(op_info(op).mnemonic);
        if (has_operand_kind(op, OperandKind::LoopSite)) {
            // kloop is made by the assembler in front of a loop, never written:
            // every mode, hand-off and ROB size in tests/vm/loop_kernel_test.cpp.
            ++covered;
            continue;
        }
        for (bool edge : {false, true}) {
            std::optional<std::pair<Module, std::string>> p = program_for(op, edge);
            ASSERT_TRUE(p.has_value()) << "no program could be made for `" << mnemonic
                                       << "`: teach tests/vm/every_opcode_test.cpp its operands";
            const auto& [module, source] = *p;
            const test::ProgramInputs io = inputs(edge);
            const test::Outcome ref = test::run_mode(module, "main", ExecMode::InOrder, 0, nullptr, false, 20'000, &io);
            for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec})
                for (bool hand_off : {true, false})
                    for (std::uint32_t rob : {64u, 2u}) {
                        const std::string d = test::difference(ref, test::run_mode(module, "main", mode, rob, nullptr, hand_off, 20'000, &io));
                        EXPECT_TRUE(d.empty()) << "`" << mnemonic << "` (" << (edge ? "edge" : "ordinary")
                                               << " values), --exec " << exec_mode_name(mode) << ", ROB " << rob
                                               << (hand_off ? ", hand-off on" : ", hand-off off") << ": " << d
                                               << "\nprogram:\n" << source;
                    }
        }
        ++covered;
    }
    EXPECT_EQ(covered, kOpCount);
}

}  // namespace
}  // namespace polymer
