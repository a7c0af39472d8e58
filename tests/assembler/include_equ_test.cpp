// `.equ` constants and `.include` files: values wherever a literal goes,
// errors at the line that caused them (in the file it is in), and the line
// table naming each instruction's own file through the module's round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "assembler/disassembler.h"
#include "assembler_test_util.h"
#include "isa/module_io.h"

namespace polymer {
namespace {

using testing::all_diagnostics;
using testing::assemble_ok;

// Included files served from memory, keyed by the path the assembler asks for.
AssembleOptions with_files(std::map<std::string, std::string> files, std::string main = "main.pasm") {
    AssembleOptions o;
    o.filename = std::move(main);
    o.read_include = [files = std::move(files)](const std::string& path) -> Result<std::string> {
        auto it = files.find(path);
        if (it == files.end()) return Error{"No such file or directory"};
        return it->second;
    };
    return o;
}

TEST(Equ, ConstantsStandWhereLiteralsGo) {
    const Module m = assemble_ok(
        ".equ N, 8\n"
        ".equ HALF, 0.5\n"
        ".equ MINUS_ONE, -1\n"
        ".region xs f64[N] fill HALF\n"
        ".region ys i32[] = N, -N, MINUS_ONE\n"
        ".proc main\n"
        "        li r1, N\n"
        "        addi r2, r1, -N\n"
        "        lif f1, HALF\n"
        "        halt\n"
        ".end\n");
    EXPECT_EQ(m.regions[0].length, 8u);
    EXPECT_EQ(m.regions[0].float_value0, 0.5);
    const Module expected = assemble_ok(
        ".region xs f64[8] fill 0.5\n"
        ".region ys i32[] = 8, -8, -1\n"
        ".proc main\n"
        "        li r1, 8\n"
        "        addi r2, r1, -8\n"
        "        lif f1, 0.5\n"
        "        halt\n"
        ".end\n");
    EXPECT_EQ(m.code, expected.code);
    EXPECT_EQ(m.regions, expected.regions);
    EXPECT_EQ(m.float_consts, expected.float_consts);
}

TEST(Equ, AConstantMayNameAnEarlierOneAndWorksInKernels) {
    const Module m = assemble_ok(
        ".equ SEED, 0x2a\n"
        ".equ START, SEED\n"
        ".kernel k (out y: i32[i])\n"
        "        li r1, START\n"
        "        gid r0\n"
        "        st y[r0], r1\n"
        ".end\n"
        ".region ys i32[4]\n"
        ".proc main\n"
        "        li r1, 4\n"
        "        launch k, r1, ys\n"
        "        halt\n"
        ".end\n");
    EXPECT_EQ(word_imm(m.kernels[0].code[0]), 42);
}

struct EquError {
    std::string source;
    std::uint32_t line, col;
    std::string message;
};

TEST(Equ, MistakesAreReportedWhereTheyAre) {
    const EquError cases[] = {
        {".proc main\n        li r1, N\n        halt\n.end\n.equ N, 3\n", 2, 16,
         "constant 'N' is used before its '.equ' (line 5)"},
        {".equ r3, 1\n", 1, 6, "'r3' cannot name a constant: it is a register, a mnemonic or a keyword"},
        {".equ add, 1\n", 1, 6, "'add' cannot name a constant: it is a register, a mnemonic or a keyword"},
        {".equ N, 1\n.equ N, 2\n", 2, 6, "constant 'N' is already defined (line 1)"},
        {".equ N, xs\n", 1, 9,
         "expected an integer or float value for 'N', got 'xs' (constants are defined before they are used)"},
        {".equ N\n", 1, 7, "expected ',' after the constant's name, got end of line"},
        {".region xs i32[4]\n.equ xs, 1\n", 2, 6, "'xs' is already a region; a constant needs a name of its own"},
        {".equ xs, 1\n.region xs i32[4]\n", 2, 9, "region 'xs' has the name of a constant (.equ on line 1)"},
    };
    for (const EquError& c : cases) {
        AssembleOptions o;
        o.filename = "t.pasm";
        AssembleResult r = assemble(c.source, o);
        ASSERT_FALSE(r.ok()) << c.source;
        auto error = std::find_if(r.diagnostics.begin(), r.diagnostics.end(),
                                  [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::Error; });
        ASSERT_NE(error, r.diagnostics.end());
        const Diagnostic& d = *error;
        EXPECT_EQ(d.message, c.message) << c.source;
        EXPECT_EQ(d.line, c.line) << c.source << all_diagnostics(r);
        EXPECT_EQ(d.col, c.col) << c.source << all_diagnostics(r);
        EXPECT_EQ(r.errors, 1u) << "one mistake, one error:\n" << all_diagnostics(r);
    }
}

const char* kLib =
    "; lib.pasm: prints r1 twice\n"
    ".equ TIMES, 2\n"
    ".proc twice\n"
    "        li r2, TIMES\n"
    "again:  print r1\n"
    "        addi r2, r2, -1\n"
    "        bnz r2, again\n"
    "        ret\n"
    ".end\n";

TEST(Include, AnIncludedFileIsPartOfTheProgramWithItsOwnLines) {
    AssembleOptions o = with_files({{"lib/lib.pasm", kLib}}, "main.pasm");
    AssembleResult r = assemble(
        ".include \"lib/lib.pasm\"\n"
        ".proc main\n"
        "        li r1, TIMES\n"
        "        call twice\n"
        "        halt\n"
        ".end\n",
        o);
    ASSERT_TRUE(r.ok()) << all_diagnostics(r);
    const Module& m = *r.module;
    ASSERT_EQ(m.include_files, std::vector<std::string>{"lib/lib.pasm"});
    // `twice` comes first (its file is read in place of the .include).
    EXPECT_EQ(m.lines[0], (SourceLoc{4, 9, 1}));  // li r2, TIMES: line 4 of lib.pasm
    EXPECT_EQ(m.lines[5], (SourceLoc{3, 9, 0}));  // li r1, TIMES: line 3 of main.pasm
    EXPECT_EQ(source_file_of(m, m.lines[0]), "lib/lib.pasm");

    // The file list and each line's file survive writing and reading.
    Result<Module> back = read_module(write_module(m));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(back.value(), m);

    // The disassembly with source locations reassembles to the same module.
    DisassembleOptions d;
    d.source_locations = true;
    const std::string text = disassemble(m, d);
    EXPECT_NE(text.find(".file 1 \"lib/lib.pasm\""), std::string::npos) << text;
    AssembleOptions again;
    again.filename = "main.pasm";
    AssembleResult r2 = assemble(text, again);
    ASSERT_TRUE(r2.ok()) << all_diagnostics(r2) << text;
    r2.module->frames = m.frames;
    EXPECT_EQ(write_module(*r2.module), write_module(m)) << text;
}

TEST(Include, AFileIncludedTwiceIsReadOnce) {
    AssembleOptions o = with_files({{"a.pasm", ".include \"lib.pasm\"\n"}, {"lib.pasm", kLib}});
    AssembleResult r = assemble(".include \"lib.pasm\"\n.include \"a.pasm\"\n.proc main\n        call twice\n        halt\n.end\n", o);
    EXPECT_TRUE(r.ok()) << all_diagnostics(r);
}

TEST(Include, ErrorsInsideAnIncludedFileNameThatFile) {
    AssembleOptions o = with_files({{"bad.pasm", ".proc f\n        ad r1, r2, r3\n        ret\n.end\n"}});
    AssembleResult r = assemble("\n.include \"bad.pasm\"\n.proc main\n        halt\n.end\n", o);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
              "bad.pasm:2:9: error: unknown instruction 'ad'; did you mean 'add'?\n        ad r1, r2, r3\n        ^\n");
}

TEST(Include, CyclesMissingAndBinaryFilesAreErrorsAtTheIncludingLine) {
    {
        AssembleOptions o = with_files({{"a.pasm", "\n.include \"b.pasm\"\n"}, {"b.pasm", ".include \"a.pasm\"\n"}});
        AssembleResult r = assemble(".include \"a.pasm\"\n", o);
        ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
        EXPECT_EQ(r.diagnostics[0].file, "b.pasm");
        EXPECT_EQ(r.diagnostics[0].line, 1u);
        EXPECT_EQ(r.diagnostics[0].col, 10u);
        EXPECT_EQ(r.diagnostics[0].message, "'.include' cycle: a.pasm -> b.pasm -> a.pasm");
    }
    {
        AssembleOptions o = with_files({});
        AssembleResult r = assemble(".proc main\n        halt\n.end\n.include \"nope.pasm\"\n", o);
        ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
        EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
                  "main.pasm:4:10: error: cannot read 'nope.pasm': No such file or directory\n"
                  ".include \"nope.pasm\"\n         ^\n");
    }
    {
        AssembleOptions o = with_files({{"x.pbc", std::string("PLMR\0\1", 6)}});
        AssembleResult r = assemble(".include \"x.pbc\"\n", o);
        ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
        EXPECT_EQ(r.diagnostics[0].message, "'x.pbc' is not a text file (a control byte at its line 1)");
    }
    {
        AssembleResult r = assemble(".include lib.pasm\n", with_files({}));
        ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
        EXPECT_EQ(r.diagnostics[0].message, "expected a file name in quotes after '.include', got 'lib.pasm'");
    }
}

// On disk: relative to the including file, then the -I folders.
TEST(Include, FilesAreFoundNextToTheIncludingFileThenInIncludeDirs) {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(::testing::TempDir()) / "polymer_include_test";
    fs::remove_all(root);
    fs::create_directories(root / "prog" / "part");
    fs::create_directories(root / "libdir");
    auto write = [](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
    write(root / "libdir" / "lib.pasm", kLib);
    write(root / "prog" / "part" / "use.pasm", ".include \"../../libdir/lib.pasm\"\n");
    write(root / "prog" / "main.pasm", ".include \"part/use.pasm\"\n.include \"lib.pasm\"\n.proc main\n        call twice\n        halt\n.end\n");
    AssembleOptions o;
    o.filename = (root / "prog" / "main.pasm").string();
    std::ifstream in(o.filename);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    AssembleResult without = assemble(text, o);
    ASSERT_FALSE(without.ok());
    EXPECT_NE(all_diagnostics(without).find("cannot include 'lib.pasm': no such file (looked in"), std::string::npos)
        << all_diagnostics(without);
    o.include_dirs = {(root / "libdir").string()};
    AssembleResult with = assemble(text, o);
    ASSERT_TRUE(with.ok()) << all_diagnostics(with);
    ASSERT_EQ(with.module->include_files.size(), 2u);  // use.pasm, then lib.pasm (read once)
    EXPECT_EQ(with.module->include_files[1], (root / "libdir" / "lib.pasm").string());
    fs::remove_all(root);
}

}  // namespace
}  // namespace polymer
