// The ISA reference: docs/isa.md is the generator's output, and the table it
// is generated from documents every opcode.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "isa/isa_reference.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

std::string first_word(std::string_view s) { return std::string(s.substr(0, s.find(' '))); }

TEST(IsaReference, DocsIsaMdIsUpToDate) {
    std::ifstream in(std::string(POLYMER_SOURCE_DIR) + "/docs/isa.md", std::ios::binary);
    ASSERT_TRUE(in) << "docs/isa.md is missing: run build/bin/polymer-isa-doc > docs/isa.md";
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(text.str() == isa_reference_markdown())
        << "docs/isa.md is stale: run build/bin/polymer-isa-doc > docs/isa.md";
}

TEST(IsaReference, EveryOpcodeHasSemanticsAndAnExampleOfItself) {
    for (Op code : kAllOps) {
        const OpInfo& op = op_info(code);
        EXPECT_FALSE(op.semantics.empty()) << op.mnemonic;
        ASSERT_FALSE(op.example.empty()) << op.mnemonic;
        EXPECT_EQ(first_word(op.example), op.mnemonic);
    }
    for (KOp code : kAllKOps) {
        const KOpInfo& op = kop_info(code);
        EXPECT_FALSE(op.semantics.empty()) << op.mnemonic;
        ASSERT_FALSE(op.example.empty()) << op.mnemonic;
        EXPECT_EQ(first_word(op.example), op.mnemonic);
    }
}

// The Wide column: an op a wide kernel cannot use says why, and the
// reference shows it on the op's row.
TEST(IsaReference, EveryOpNotInWideKernelsSaysWhy) {
    const std::string md = isa_reference_markdown();
    int unavailable = 0;
    for (KOp code : kAllKOps) {
        const KOpInfo& op = kop_info(code);
        if (op.wide.available) continue;
        ++unavailable;
        EXPECT_FALSE(op.wide.note.empty()) << op.mnemonic;
        EXPECT_NE(md.find("not available: " + std::string(op.wide.note)), std::string::npos) << op.mnemonic;
    }
    EXPECT_GT(unavailable, 0);
}

TEST(IsaReference, EveryOpcodeAndFormatIsInTheDocument) {
    std::string md = isa_reference_markdown();
    for (Op code : kAllOps) {
        const OpInfo& op = op_info(code);
        EXPECT_NE(md.find("| " + std::to_string(static_cast<unsigned>(code)) + " | `" +
                          op_syntax(op.mnemonic, op.format) + "`"),
                  std::string::npos)
            << op.mnemonic;
    }
    for (KOp code : kAllKOps) {
        const KOpInfo& op = kop_info(code);
        EXPECT_NE(md.find("| " + std::to_string(static_cast<unsigned>(code)) + " | `" +
                          op_syntax(op.mnemonic, op.format) + "`"),
                  std::string::npos)
            << op.mnemonic;
    }
    for (const FormatInfo& f : kFormats) EXPECT_NE(md.find("| " + std::string(f.name) + " |"), std::string::npos);
    EXPECT_NE(md.find("|         imm (32 bits, signed)    |    C    |    B    |    A    |   op    |"),
              std::string::npos);
}

TEST(IsaReference, SyntaxIsMnemonicPlusFormat) {
    EXPECT_EQ(op_syntax("add", Format::RRR), "add rA, rB, rC");
    EXPECT_EQ(op_syntax("halt", Format::None), "halt");
    EXPECT_EQ(op_syntax("st.i32", Format::MR), "st.i32 region[rB], rA");
}

TEST(IsaReference, TrapsComeFromTheSemantics) {
    EXPECT_EQ(op_traps(op_info(Op::Div)), std::vector<std::string>{"division-by-zero"});
    EXPECT_EQ(op_traps(op_info(Op::Push)), std::vector<std::string>{"stack-overflow"});
    EXPECT_EQ(op_traps(op_info(Op::LdI32)), std::vector<std::string>{"out-of-bounds"});
    EXPECT_EQ(op_traps(op_info(Op::Vadd)), std::vector<std::string>{"length-mismatch"});
    EXPECT_TRUE(op_traps(op_info(Op::Add)).empty());
    EXPECT_TRUE(op_traps(op_info(Op::Fdiv)).empty());  // its semantics say "never a trap"
    for (Op code : kAllOps) {
        const OpInfo& op = op_info(code);
        if ((op.effects & effect::Trap) && op.mnemonic != "launch") {
            EXPECT_FALSE(op_traps(op).empty()) << op.mnemonic;
        }
    }
}

}  // namespace
}  // namespace polymer
