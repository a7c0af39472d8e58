// The opcode tables: unique mnemonics, valid formats, and an encoding that
// keeps every field apart for every opcode.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <set>
#include <string>

#include "isa/opcodes.h"
#include "isa/vector_rules.h"

namespace polymer {
namespace {

template <class Code, std::size_t N, class Info>
void check_table(const std::array<Code, N>& codes, const std::array<Info, 256>& table, const char* name) {
    std::set<std::string_view> mnemonics;
    for (Code code : codes) {
        const Info& info = table[static_cast<std::size_t>(code)];
        SCOPED_TRACE(std::string(name) + " " + std::string(info.mnemonic));
        EXPECT_FALSE(info.mnemonic.empty());
        EXPECT_TRUE(mnemonics.insert(info.mnemonic).second) << "duplicate mnemonic";
        ASSERT_LT(static_cast<std::size_t>(info.format), kFormatCount);
        const FormatInfo& f = format_info(info.format);
        EXPECT_LE(f.count, kMaxOperands);
        EXPECT_EQ(info.writes >> f.count, 0) << "writes an operand the format does not have";
        EXPECT_FALSE(info.semantics.empty());
        EXPECT_EQ(info.example.substr(0, info.mnemonic.size()), info.mnemonic);
        // No two operands share a field.
        unsigned used = 0;
        for (std::size_t k = 0; k < f.count; ++k) {
            for (Field field : {f.operands[k].field, f.operands[k].index_field}) {
                if (field == Field::None) continue;
                unsigned bit = 1u << static_cast<unsigned>(field);
                EXPECT_EQ(used & bit, 0u) << "operand " << k << " reuses a field";
                used |= bit;
            }
        }
    }
}

TEST(OpcodeTable, MnemonicsAreUniqueAndFormatsValid) {
    check_table(kAllOps, kOps, "op");
    check_table(kAllKOps, kKernelOps, "kop");
}

TEST(OpcodeTable, LookUpByMnemonic) {
    for (Op op : kAllOps) EXPECT_EQ(find_op(op_info(op).mnemonic), op);
    for (KOp op : kAllKOps) EXPECT_EQ(find_kop(kop_info(op).mnemonic), op);
    EXPECT_FALSE(find_op("frobnicate"));
}

// The tables are indexed by number: exactly the numbers that have a row are
// valid, and each row sits at its own number.
TEST(OpcodeTable, IndexedByNumber) {
    std::set<unsigned> numbers, knumbers;
    for (Op op : kAllOps) numbers.insert(static_cast<unsigned>(op));
    for (KOp op : kAllKOps) knumbers.insert(static_cast<unsigned>(op));
    EXPECT_EQ(numbers.size(), kOpCount);
    EXPECT_EQ(knumbers.size(), kKernelOpCount);
    for (unsigned n = 0; n < 256; ++n) {
        const auto byte = static_cast<std::uint8_t>(n);
        EXPECT_EQ(is_valid_op(byte), numbers.count(n) == 1) << n;
        EXPECT_EQ(is_valid_kop(byte), knumbers.count(n) == 1) << n;
    }
}

// The Regions column agrees with the mnemonics: ld.T and st.T name T.
TEST(OpcodeTable, ElementTypesMatchTheMnemonics) {
    int loads = 0, stores = 0;
    for (Op op : kAllOps) {
        const OpInfo& info = op_info(op);
        if (!info.elem) continue;
        const std::string_view mnemonic = info.mnemonic;
        EXPECT_EQ(mnemonic.substr(mnemonic.find('.') + 1), elem_type_name(*info.elem)) << mnemonic;
        EXPECT_EQ(mnemonic.substr(0, 3), has_effect(op, effect::Load) ? "ld." : "st.") << mnemonic;
        (has_effect(op, effect::Load) ? loads : stores) += 1;
    }
    EXPECT_EQ(loads, 6);
    EXPECT_EQ(stores, 6);
}

TEST(OpcodeTable, VectorRulesAreReadFromTheColumn) {
    EXPECT_EQ(vector_rule(Op::Vselect).same_type, slot_bit(0) | slot_bit(2) | slot_bit(3));
    EXPECT_EQ(vector_rule(Op::Vselect).same_length, 0xF);
    EXPECT_EQ(vector_rule(Op::Vdoti).kind, VectorKind::Int);
    EXPECT_EQ(vector_rule(Op::Vfill).same_length, 0);
    EXPECT_EQ(vector_region_slots(Op::Vsum), slot_bit(1));
    EXPECT_EQ(vector_result(Op::Vsum), VectorResult::Float);
    EXPECT_EQ(vector_result(Op::Vdoti), VectorResult::Int);
    EXPECT_EQ(vector_result(Op::Vadd), VectorResult::Region);
    EXPECT_EQ(as_vector_op(Op::Vmatmul), VectorOp::Vmatmul);
    EXPECT_FALSE(as_vector_op(Op::Add));
    EXPECT_EQ(vector_rule(Op::Add).same_type, 0);
}

TEST(OpcodeTable, VectorTypeProblems) {
    using What = VectorTypeProblem::What;
    constexpr auto I32 = ElemType::I32, F32 = ElemType::F32, F64 = ElemType::F64;
    const VectorRule& vscale = vector_rule(Op::Vscale);  // V(AB, Float, AB)
    EXPECT_EQ(find_vector_type_problem(vscale, {F32, F32, std::nullopt, std::nullopt}).what, What::None);
    VectorTypeProblem p = find_vector_type_problem(vscale, {I32, F32, std::nullopt, std::nullopt});
    EXPECT_EQ(p.what, What::NotFloat);
    EXPECT_EQ(p.slot, 0u);
    p = find_vector_type_problem(vscale, {F64, F32, std::nullopt, std::nullopt});
    EXPECT_EQ(p.what, What::Differs);
    EXPECT_EQ(p.slot, 1u);
    EXPECT_EQ(p.reference, 0u);
    // An unknown type is skipped: the group starts at the first known one.
    p = find_vector_type_problem(vector_rule(Op::Vdoti), {std::nullopt, std::nullopt, F32, std::nullopt});
    EXPECT_EQ(p.what, What::NotInteger);
    EXPECT_EQ(p.slot, 2u);
    // Only the group is checked: vcmplt's mask (slot 0) may have any type.
    EXPECT_EQ(find_vector_type_problem(vector_rule(Op::Vcmplt), {F64, I32, I32, std::nullopt}).what, What::None);
}

// Every opcode survives make_word / word_* with random field values, and each
// operand's field reads back what with_field wrote without touching the others.
TEST(OpcodeTable, EveryOpcodeEncodesAndDecodes) {
    std::mt19937_64 rng(1234);
    auto check = [&](std::size_t opcode, Format format) {
        for (int trial = 0; trial < 50; ++trial) {
            const auto a = static_cast<std::uint8_t>(rng()), b = static_cast<std::uint8_t>(rng()),
                       c = static_cast<std::uint8_t>(rng());
            const auto imm = static_cast<std::int32_t>(rng());
            const Word w = make_word(static_cast<std::uint8_t>(opcode), a, b, c, imm);
            ASSERT_EQ(word_op(w), opcode);
            ASSERT_EQ(word_a(w), a);
            ASSERT_EQ(word_b(w), b);
            ASSERT_EQ(word_c(w), c);
            ASSERT_EQ(word_imm(w), imm);
            const FormatInfo& f = format_info(format);
            Word x = make_word(static_cast<std::uint8_t>(opcode));
            std::uint32_t values[kMaxOperands] = {};
            for (std::size_t k = 0; k < f.count; ++k) {
                const Field field = f.operands[k].field;
                values[k] = field == Field::Imm ? static_cast<std::uint32_t>(rng()) : static_cast<std::uint8_t>(rng());
                x = with_field(x, field, values[k]);
            }
            for (std::size_t k = 0; k < f.count; ++k) ASSERT_EQ(word_field(x, f.operands[k].field), values[k]);
            ASSERT_EQ(word_op(x), opcode);
        }
    };
    for (Op op : kAllOps) check(static_cast<std::size_t>(op), op_info(op).format);
    for (KOp op : kAllKOps) check(static_cast<std::size_t>(op), kop_info(op).format);
}

}  // namespace
}  // namespace polymer
