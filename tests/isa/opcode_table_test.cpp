// The opcode tables: unique mnemonics, valid formats, and an encoding that
// keeps every field apart for every opcode.
#include <gtest/gtest.h>

#include <array>
#include <random>
#include <set>
#include <string>

#include "isa/opcodes.h"

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
