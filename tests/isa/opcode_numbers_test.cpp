// The opcode numbers, pinned. A module stores opcode numbers in its words, so
// renumbering an opcode silently changes what every module already written
// means. The lists below spell out every number; the test fails if the table
// (isa/opcodes.def, isa/kernel_ops.def) and the lists disagree.
//
// To the next engineer: these lists are only ever APPENDED to. A new opcode
// adds one entry at the end with the number its row took (the next free one).
// Never change or delete an entry. An opcode that is removed (a major version
// of the module format) keeps its entry, marked retired, so that its number is
// never given to another opcode. If this test fails after an edit of the
// table, fix the table, not the list.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string_view>

#include "isa/opcodes.h"

namespace polymer {
namespace {

struct Pin {
    std::string_view mnemonic;
    unsigned number;
    bool retired = false;  // the opcode is gone; its number must stay unused
};

constexpr Pin kProcedureOpNumbers[] = {
    {"nop", 0}, {"li", 1}, {"liw", 2}, {"mov", 3}, {"add", 4}, {"sub", 5}, {"mul", 6}, {"div", 7}, {"rem", 8},
    {"divu", 9}, {"remu", 10}, {"and", 11}, {"or", 12}, {"xor", 13}, {"shl", 14}, {"shr", 15}, {"sar", 16},
    {"min", 17}, {"max", 18}, {"neg", 19}, {"not", 20}, {"addi", 21}, {"muli", 22}, {"andi", 23}, {"ori", 24},
    {"xori", 25}, {"shli", 26}, {"shri", 27}, {"sari", 28}, {"eq", 29}, {"ne", 30}, {"lt", 31}, {"le", 32},
    {"ltu", 33}, {"leu", 34}, {"lif", 35}, {"fmov", 36}, {"fadd", 37}, {"fsub", 38}, {"fmul", 39}, {"fdiv", 40},
    {"fmin", 41}, {"fmax", 42}, {"fpow", 43}, {"fneg", 44}, {"fabs", 45}, {"fsqrt", 46}, {"ffloor", 47},
    {"fsin", 48}, {"fcos", 49}, {"fexp", 50}, {"flog", 51}, {"feq", 52}, {"flt", 53}, {"fle", 54}, {"itof", 55},
    {"ftoi", 56}, {"jmp", 57}, {"bz", 58}, {"bnz", 59}, {"beq", 60}, {"bne", 61}, {"blt", 62}, {"bge", 63},
    {"bltu", 64}, {"bgeu", 65}, {"call", 66}, {"ret", 67}, {"halt", 68}, {"push", 69}, {"pop", 70},
    {"pushf", 71}, {"popf", 72}, {"ld.u8", 73}, {"ld.i32", 74}, {"ld.u32", 75}, {"ld.i64", 76}, {"ld.f32", 77},
    {"ld.f64", 78}, {"st.u8", 79}, {"st.i32", 80}, {"st.u32", 81}, {"st.i64", 82}, {"st.f32", 83},
    {"st.f64", 84}, {"len", 85}, {"alloc", 86}, {"free", 87}, {"print", 88}, {"printu", 89}, {"printf", 90},
    {"printc", 91}, {"prints", 92}, {"printr", 93}, {"println", 94}, {"vadd", 95}, {"vsub", 96}, {"vmul", 97},
    {"vdiv", 98}, {"vmin", 99}, {"vmax", 100}, {"vfma", 101}, {"vscale", 102}, {"vfill", 103}, {"vfillf", 104},
    {"viota", 105}, {"vcopy", 106}, {"vcmplt", 107}, {"vcmpeq", 108}, {"vselect", 109}, {"vsum", 110},
    {"vsumi", 111}, {"vredmin", 112}, {"vredmax", 113}, {"vredmini", 114}, {"vredmaxi", 115}, {"vdot", 116},
    {"vdoti", 117}, {"vscan", 118}, {"vmatmul", 119}, {"launch", 120}, {"wait", 121}, {"fence", 122},
    {"popcnt", 123}, {"clz", 124}, {"ctz", 125},
    {"rgn", 126},
    {"argc", 127}, {"argi", 128}, {"argf", 129}, {"args", 130}, {"readln", 131}, {"readi", 132}, {"readf", 133},
    {"printfd", 134}, {"printw", 135},
    {"kloop", 136},
    {"spawn", 137}, {"join", 138}, {"send", 139}, {"sendf", 140}, {"recv", 141}, {"recvf", 142}, {"barrier", 143},
};

constexpr Pin kKernelOpNumbers[] = {
    {"nop", 0}, {"gid", 1}, {"count", 2}, {"li", 3}, {"lif", 4}, {"mov", 5}, {"fmov", 6}, {"add", 7},
    {"sub", 8}, {"mul", 9}, {"div", 10}, {"rem", 11}, {"and", 12}, {"or", 13}, {"xor", 14}, {"shl", 15},
    {"shr", 16}, {"sar", 17}, {"min", 18}, {"max", 19}, {"addi", 20}, {"muli", 21}, {"eq", 22}, {"ne", 23},
    {"lt", 24}, {"le", 25}, {"fadd", 26}, {"fsub", 27}, {"fmul", 28}, {"fdiv", 29}, {"fmin", 30}, {"fmax", 31},
    {"fpow", 32}, {"ffma", 33}, {"fneg", 34}, {"fabs", 35}, {"fsqrt", 36}, {"ffloor", 37}, {"fsin", 38},
    {"fcos", 39}, {"fexp", 40}, {"flog", 41}, {"feq", 42}, {"flt", 43}, {"fle", 44}, {"itof", 45}, {"ftoi", 46},
    {"ld", 47}, {"ldf", 48}, {"st", 49}, {"stf", 50}, {"atadd", 51}, {"ldp", 52}, {"ldpf", 53}, {"blen", 54},
    {"if", 55}, {"else", 56}, {"loop", 57}, {"break", 58}, {"continue", 59}, {"end", 60}, {"exit", 61},
    {"neg", 62}, {"not", 63}, {"andi", 64}, {"ori", 65}, {"xori", 66}, {"shli", 67}, {"shri", 68}, {"sari", 69},
    {"ltu", 70}, {"leu", 71}, {"divu", 72}, {"remu", 73},
};

TEST(OpcodeNumbers, EveryProcedureOpcodeKeepsItsNumber) {
    std::set<std::string_view> pinned;
    for (const Pin& pin : kProcedureOpNumbers) {
        pinned.insert(pin.mnemonic);
        if (pin.retired) {
            EXPECT_FALSE(is_valid_op(static_cast<std::uint8_t>(pin.number))) << "retired number " << pin.number << " reused";
            continue;
        }
        const std::optional<Op> op = find_op(pin.mnemonic);
        ASSERT_TRUE(op) << "'" << pin.mnemonic << "' (number " << pin.number << ") is no longer in isa/opcodes.def";
        EXPECT_EQ(static_cast<unsigned>(*op), pin.number) << "'" << pin.mnemonic << "' was renumbered";
    }
    for (Op op : kAllOps)
        EXPECT_TRUE(pinned.count(op_info(op).mnemonic))
            << "'" << op_info(op).mnemonic << "' is not pinned: append {\"" << op_info(op).mnemonic << "\", "
            << static_cast<unsigned>(op) << "} to kProcedureOpNumbers";
}

TEST(OpcodeNumbers, EveryKernelOpcodeKeepsItsNumber) {
    std::set<std::string_view> pinned;
    for (const Pin& pin : kKernelOpNumbers) {
        pinned.insert(pin.mnemonic);
        if (pin.retired) {
            EXPECT_FALSE(is_valid_kop(static_cast<std::uint8_t>(pin.number))) << "retired number " << pin.number << " reused";
            continue;
        }
        const std::optional<KOp> op = find_kop(pin.mnemonic);
        ASSERT_TRUE(op) << "'" << pin.mnemonic << "' (number " << pin.number << ") is no longer in isa/kernel_ops.def";
        EXPECT_EQ(static_cast<unsigned>(*op), pin.number) << "kernel '" << pin.mnemonic << "' was renumbered";
    }
    for (KOp op : kAllKOps)
        EXPECT_TRUE(pinned.count(kop_info(op).mnemonic))
            << "kernel '" << kop_info(op).mnemonic << "' is not pinned: append {\"" << kop_info(op).mnemonic
            << "\", " << static_cast<unsigned>(op) << "} to kKernelOpNumbers";
}

// A number is never given to two mnemonics, even across removals.
TEST(OpcodeNumbers, NoNumberIsPinnedTwice) {
    std::set<unsigned> numbers, knumbers;
    for (const Pin& pin : kProcedureOpNumbers) EXPECT_TRUE(numbers.insert(pin.number).second) << pin.number;
    for (const Pin& pin : kKernelOpNumbers) EXPECT_TRUE(knumbers.insert(pin.number).second) << pin.number;
}

}  // namespace
}  // namespace polymer
