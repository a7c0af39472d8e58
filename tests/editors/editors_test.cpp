// The generated editor and shell files (src/tools/editors): every mnemonic of
// both opcode tables and every directive reaches the Vim syntax file and the
// TextMate grammar, and CLI11's help layout is read right.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "assembler/assembler.h"
#include "isa/opcodes.h"
#include "src/tools/editors/bash_completion.h"
#include "src/tools/editors/syntax_files.h"

namespace {

namespace ed = polymer::editors;

// The words of a generated file: runs of [A-Za-z0-9_.] after regex escapes
// of '.' are undone.
std::set<std::string> words_of(std::string text) {
    for (std::size_t i; (i = text.find("\\\\.")) != std::string::npos;) text.replace(i, 3, ".");  // JSON's "\\."
    for (std::size_t i; (i = text.find("\\.")) != std::string::npos;) text.replace(i, 2, ".");    // Vim's "\."
    std::set<std::string> words;
    std::string w;
    for (char c : text + " ") {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') {
            w += c;
        } else if (!w.empty()) {
            words.insert(w);
            w.clear();
        }
    }
    return words;
}

void expect_every_name(const std::string& file, const char* what) {
    const std::set<std::string> words = words_of(file);
    for (polymer::Op op : polymer::kAllOps)
        EXPECT_TRUE(words.count(std::string(polymer::op_info(op).mnemonic))) << what << " lacks " << polymer::op_info(op).mnemonic;
    for (polymer::KOp op : polymer::kAllKOps)
        EXPECT_TRUE(words.count(std::string(polymer::kop_info(op).mnemonic))) << what << " lacks kernel " << polymer::kop_info(op).mnemonic;
    for (std::string_view d : polymer::directive_names())
        EXPECT_TRUE(words.count(std::string(d))) << what << " lacks " << d;
    for (std::string_view k : polymer::kDeclarationWords) EXPECT_TRUE(words.count(std::string(k))) << what << " lacks " << k;
}

TEST(EditorFiles, TheVimSyntaxNamesEveryMnemonicAndDirective) { expect_every_name(ed::vim_syntax(), "pasm.vim"); }

TEST(EditorFiles, TheTextMateGrammarNamesEveryMnemonicAndDirective) {
    expect_every_name(ed::textmate_grammar(), "pasm.tmLanguage.json");
}

TEST(EditorFiles, TheDirectiveListIsTheOneTheAssemblerSuggestsFrom) {
    // An unknown directive is answered from the same list the files are made of.
    polymer::AssembleResult r = polymer::assemble(".kernal k ()\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.diagnostics[0].message.find("did you mean '.kernel'?"), std::string::npos) << r.diagnostics[0].message;
    for (std::string_view d : polymer::directive_names()) {
        polymer::AssembleResult known = polymer::assemble(std::string(d) + "\n");
        for (const polymer::Diagnostic& diag : known.diagnostics)
            EXPECT_EQ(diag.message.find("unknown directive"), std::string::npos) << d << ": " << diag.message;
    }
}

TEST(EditorFiles, EveryDeclarationWordMeansSomethingToTheAssembler) {
    // One program using each word where it belongs; it must assemble.
    const char* program = R"(
.region a f32[4] zeros
.region b f32[4] fill inf
.region c f32[4] range nan, 1
.region d f32[4]
.region e f32[4] zeros distributed
.kernel k (in x: f32[i], out y: f32[i], inout z: f32[i])
        .requires gpu
        .requires mem >= 1K
        gid     r0
.end
.proc render
        .requires node box3
        .launches cluster
        ret
.end
.proc main
        launch  k, r0, a, b, c
        printr  d, r0, r0
        printr  e, r0, r0
        halt
.end
)";
    polymer::AssembleResult r = polymer::assemble(program);
    for (const polymer::Diagnostic& d : r.diagnostics) ADD_FAILURE() << d.message;
    const std::set<std::string> words = words_of(program);
    for (std::string_view k : polymer::kDeclarationWords) EXPECT_TRUE(words.count(std::string(k))) << k;
}

// CLI11 2.x's layout, as polymer-run and polymer-node print it.
constexpr const char* kHelp = R"(Run something
Usage: ./tool [OPTIONS] [PROGRAM]

Positionals:
  PROGRAM TEXT                the program: a .pasm source file or a .pbc module

Options:
  -h,--help                   Print this help message and exit
  -o,--output TEXT            the file to write
  --backend TEXT:{auto,vulkan,cpu}=auto
                              where vector ops and kernels run
  --kernel-steps N:UINT in [1 - 2147483648]=16777216
                              trap `step-limit`
  --allow-readable-token-file accept a token file that group or others can read
  --token-file TEXT REQUIRED  file holding the shared secret
  --dump-region NAME ...      print region NAME after the program stops (repeatable)
  --stats                     print statistics

Exit status: 0 halted, see --stats.
)";

TEST(EditorFiles, ReadsCli11Help) {
    const ed::CliHelp h = ed::parse_cli11_help(kHelp);
    EXPECT_TRUE(h.has_positionals);
    EXPECT_EQ(h.positional_extensions, (std::vector<std::string>{"pasm", "pbc"}));
    ASSERT_EQ(h.options.size(), 8u);
    EXPECT_EQ(h.options[0].names, (std::vector<std::string>{"-h", "--help"}));
    EXPECT_FALSE(h.options[0].takes_value);
    EXPECT_TRUE(h.options[1].file_value);
    EXPECT_EQ(h.options[2].choices, (std::vector<std::string>{"auto", "vulkan", "cpu"}));
    EXPECT_TRUE(h.options[3].takes_value);
    EXPECT_FALSE(h.options[3].file_value);
    EXPECT_EQ(h.options[4].names, (std::vector<std::string>{"--allow-readable-token-file"}));
    EXPECT_FALSE(h.options[4].takes_value) << "the description starts at column 30 after one space";
    EXPECT_TRUE(h.options[5].file_value);
    EXPECT_TRUE(h.options[6].takes_value);
    EXPECT_FALSE(h.options[7].takes_value);
    const std::string script = ed::bash_completion("tool", h);
    EXPECT_NE(script.find("--backend) COMPREPLY=($(compgen -W $'auto\\nvulkan\\ncpu'"), std::string::npos) << script;
    EXPECT_NE(script.find("complete -o filenames -F _tool tool"), std::string::npos);
}

}  // namespace
