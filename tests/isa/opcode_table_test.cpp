// The opcode tables: unique mnemonics, valid formats, and an encoding that
// keeps every field apart for every opcode.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "isa/opcodes.h"

namespace polymer {
namespace {

template <class Info>
void check_table(const Info* table, std::size_t count, const char* name) {
    std::set<std::string_view> mnemonics;
    for (std::size_t i = 0; i < count; ++i) {
        const Info& info = table[i];
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
    check_table(kOps, kOpCount, "op");
    check_table(kKernelOps, kKernelOpCount, "kop");
}

TEST(OpcodeTable, LookUpByMnemonic) {
    for (std::size_t i = 0; i < kOpCount; ++i) EXPECT_EQ(find_op(kOps[i].mnemonic), static_cast<Op>(i));
    for (std::size_t i = 0; i < kKernelOpCount; ++i)
        EXPECT_EQ(find_kop(kKernelOps[i].mnemonic), static_cast<KOp>(i));
    EXPECT_FALSE(find_op("frobnicate"));
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
    for (std::size_t i = 0; i < kOpCount; ++i) check(i, kOps[i].format);
    for (std::size_t i = 0; i < kKernelOpCount; ++i) check(i, kKernelOps[i].format);
}

}  // namespace
}  // namespace polymer
