// `.channel NAME CAPACITY` and `.barrier NAME PARTIES`, and the operands
// that name them (send, sendf, recv, recvf, barrier): what they assemble to,
// and every error with its line, column and message.
#include <gtest/gtest.h>

#include <map>

#include "assembler_test_util.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

using testing::all_diagnostics;
using testing::assemble_ok;
using testing::in_proc;

std::vector<const Diagnostic*> errors_of(const AssembleResult& r) {
    std::vector<const Diagnostic*> out;
    for (const Diagnostic& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) out.push_back(&d);
    return out;
}

TEST(ChannelsAndBarriers, DeclarationsAndOperands) {
    const Module m = assemble_ok(
        ".equ WORKERS, 4\n"
        ".channel pings 4\n"
        ".channel pongs 1_048_576\n"
        ".barrier step WORKERS\n"
        ".barrier once 1\n" +
        in_proc({"send pongs, r1", "sendf pings, f2", "recv r3, pings", "recvf f4, pongs", "barrier once",
                 "barrier step"}));
    ASSERT_EQ(m.channels.size(), 2u);
    EXPECT_EQ(m.channels[0], (ChannelDecl{"pings", 4}));
    EXPECT_EQ(m.channels[1], (ChannelDecl{"pongs", kMaxChannelCapacity}));
    ASSERT_EQ(m.barriers.size(), 2u);
    EXPECT_EQ(m.barriers[0], (BarrierDecl{"step", 4}));
    EXPECT_EQ(m.barriers[1], (BarrierDecl{"once", 1}));
    // Each operand is its declaration's index, in its format's field.
    EXPECT_EQ(m.code[0], make_word(static_cast<std::uint8_t>(Op::Send), 1, 1));
    EXPECT_EQ(m.code[1], make_word(static_cast<std::uint8_t>(Op::Sendf), 0, 2));
    EXPECT_EQ(m.code[2], make_word(static_cast<std::uint8_t>(Op::Recv), 3, 0));
    EXPECT_EQ(m.code[3], make_word(static_cast<std::uint8_t>(Op::Recvf), 4, 1));
    EXPECT_EQ(m.code[4], make_word(static_cast<std::uint8_t>(Op::Barrier), 1));
    EXPECT_EQ(m.code[5], make_word(static_cast<std::uint8_t>(Op::Barrier), 0));
}

// Names may be used before their declaration, as regions may.
TEST(ChannelsAndBarriers, UsedBeforeDeclared) {
    const Module m = assemble_ok(in_proc({"send late, r1", "barrier later"}) + ".channel late 2\n.barrier later 3\n");
    EXPECT_EQ(m.channels, (std::vector<ChannelDecl>{{"late", 2}}));
    EXPECT_EQ(m.barriers, (std::vector<BarrierDecl>{{"later", 3}}));
}

TEST(ChannelsAndBarriers, SpawnAndJoin) {
    const Module m = assemble_ok(".proc worker\n        ret\n.end\n" + in_proc({"spawn r9, worker, r2", "join r1, f1, r9"}));
    EXPECT_EQ(m.code[1], make_word(static_cast<std::uint8_t>(Op::Spawn), 9, 2, 0, 0));
    EXPECT_EQ(m.code[2], make_word(static_cast<std::uint8_t>(Op::Join), 1, 1, 9));
}

struct ErrorCase {
    std::string name;
    std::string source;
    std::uint32_t line;
    std::uint32_t col;
    std::string message;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

std::vector<ErrorCase> error_cases() {
    const std::string use_pings = in_proc({"send pings, r1"});
    const std::string use_step = in_proc({"barrier step"});
    return {
        {"MissingName", ".channel\n", 1, 9, "expected a channel name, got end of line"},
        {"MissingCapacity", ".channel pings\n" + use_pings, 1, 15,
         "expected the channel's capacity (1..1048576) after its name, got end of line ('.channel NAME CAPACITY')"},
        {"MissingParties", ".barrier step\n" + use_step, 1, 14,
         "expected the barrier's parties (1..1024) after its name, got end of line ('.barrier NAME PARTIES')"},
        {"CapacityNotANumber", ".channel pings four\n" + use_pings, 1, 16,
         "expected the channel's capacity (1..1048576) after its name, got 'four' ('.channel NAME CAPACITY')"},
        {"CapacityAFloat", ".channel pings 2.5\n" + use_pings, 1, 16,
         "expected the channel's capacity (1..1048576) after its name, got '2.5' ('.channel NAME CAPACITY')"},
        {"CapacityZero", ".channel pings 0\n" + use_pings, 1, 16, "channel capacity 0 is out of range (1..1048576)"},
        {"CapacityNegative", ".channel pings -3\n" + use_pings, 1, 16,
         "channel capacity -3 is out of range (1..1048576)"},
        {"CapacityTooLarge", ".channel pings 1048577\n" + use_pings, 1, 16,
         "channel capacity 1048577 is out of range (1..1048576)"},
        {"PartiesZero", ".barrier step 0\n" + use_step, 1, 15, "barrier parties 0 is out of range (1..1024)"},
        {"PartiesTooMany", ".barrier step 1025\n" + use_step, 1, 15, "barrier parties 1025 is out of range (1..1024)"},
        {"PartiesFromATooLargeConstant", ".equ N, 5000\n.barrier step N\n" + use_step, 2, 15,
         "barrier parties N is out of range (1..1024)"},
        {"ASizeSuffix", ".channel pings 4K\n" + use_pings, 1, 16, "a size suffix is only allowed in '.requires mem'"},
        {"TrailingWords", ".channel pings 4 8\n" + use_pings, 1, 18, "unexpected '8' at the end of the line"},
        {"DuplicateChannel", ".channel pings 4\n.channel pings 2\n" + use_pings, 2, 10,
         "duplicate channel 'pings' (first declared on line 1)"},
        {"DuplicateBarrier", ".barrier step 2\n\n.barrier step 2\n" + use_step, 3, 10,
         "duplicate barrier 'step' (first declared on line 1)"},
        {"ChannelNamedAsABarrier", ".barrier step 2\n.channel step 1\n" + use_step, 2, 10,
         "'step' is already a barrier (declared on line 1); a channel needs a name of its own"},
        {"BarrierNamedAsAChannel", ".channel pings 1\n.barrier pings 2\n" + use_pings, 2, 10,
         "'pings' is already a channel (declared on line 1); a barrier needs a name of its own"},
        {"ChannelNamedAsAConstant", ".equ pings, 3\n.channel pings 4\n" + in_proc({}), 2, 10,
         "channel 'pings' has the name of a constant (.equ on line 1)"},
        {"ConstantNamedAsAChannel", ".channel pings 4\n.equ pings, 3\n" + use_pings, 2, 6,
         "'pings' is already a channel; a constant needs a name of its own"},
        {"ConstantNamedAsABarrier", ".barrier step 4\n.equ step, 3\n" + use_step, 2, 6,
         "'step' is already a barrier; a constant needs a name of its own"},
        {"UndefinedChannelSuggests", ".channel pongs 1\n" + in_proc({"recv r1, pong"}), 3, 18,
         "undefined channel 'pong'; did you mean 'pongs'?"},
        {"UndefinedBarrierSuggests", ".barrier step 1\n" + in_proc({"barrier stop"}), 3, 17,
         "undefined barrier 'stop'; did you mean 'step'?"},
        {"UndefinedChannelNoneDeclared", in_proc({"sendf results, f1"}), 2, 15,
         "undefined channel 'results' (no channel is declared: '.channel NAME CAPACITY')"},
        {"UndefinedBarrierNoneDeclared", in_proc({"barrier step"}), 2, 17,
         "undefined barrier 'step' (no barrier is declared: '.barrier NAME PARTIES')"},
        {"UndefinedChannelListsTheDeclared", ".channel alpha 1\n.channel beta 1\n" +
                                                 in_proc({"send alpha, r1", "send beta, r1", "recvf f1, results"}),
         6, 19, "undefined channel 'results' (declared: 'alpha', 'beta')"},
        {"ABarrierWhereAChannelGoes", ".barrier step 2\n" + in_proc({"send step, r1"}), 3, 14,
         "'step' is a barrier ('.barrier step 2'), not a channel"},
        {"AChannelWhereABarrierGoes", ".channel pings 4\n" + in_proc({"barrier pings"}), 3, 17,
         "'pings' is a channel ('.channel pings 4'), not a barrier"},
        {"ARegionWhereAChannelGoes", ".region xs i32[4]\n" + in_proc({"len r1, xs", "recv r1, xs"}), 4, 18,
         "'xs' is a region, not a channel"},
        {"ARegisterWhereAChannelGoes", ".channel pings 1\n" + in_proc({"send r1, pings"}), 3, 14,
         "expected a channel, got register 'r1'"},
        {"ANumberWhereABarrierGoes", in_proc({"barrier 3"}), 2, 17, "expected a barrier name, got '3'"},
        {"SendTakesTwoOperands", ".channel pings 1\n" + in_proc({"send pings"}), 3, 9,
         "'send' takes 2 operands (send channel, rB), got 1"},
        {"SendfTakesAFloat", ".channel pings 1\n" + in_proc({"sendf pings, r1"}), 3, 22,
         "expected a float register, got 'r1'"},
        // A declaration with an error is still declared: its uses are not
        // reported as undefined on top.
        {"ABadDeclarationIsReportedOnce", ".channel pings 0\n" + in_proc({"send pings, r1", "recv r2, pings"}), 1, 16,
         "channel capacity 0 is out of range (1..1048576)"},
    };
}

class ChannelBarrierError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ChannelBarrierError, ReportsLineColumnAndMessage) {
    const ErrorCase& c = GetParam();
    AssembleResult r = assemble(c.source, {.filename = "bad.pasm"});
    EXPECT_FALSE(r.ok());
    const std::vector<const Diagnostic*> errors = errors_of(r);
    ASSERT_EQ(errors.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->line, c.line) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->col, c.col) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->message, c.message);
}

INSTANTIATE_TEST_SUITE_P(Cases, ChannelBarrierError, ::testing::ValuesIn(error_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(ChannelsAndBarriers, AtMost256OfEach) {
    for (const std::string kind : {"channel", "barrier"}) {
        std::string source;
        for (unsigned i = 0; i < kMaxChannels; ++i) source += "." + kind + " n" + std::to_string(i) + " 1\n";
        Module m = assemble_ok(source + in_proc({}));
        EXPECT_EQ(kind == "channel" ? m.channels.size() : m.barriers.size(), 256u);
        source += "." + kind + " n256 1\n";
        AssembleResult r = assemble(source + in_proc({}), {.filename = "many.pasm"});
        const std::vector<const Diagnostic*> errors = errors_of(r);
        ASSERT_EQ(errors.size(), 1u) << all_diagnostics(r);
        EXPECT_EQ(errors[0]->line, 257u);
        EXPECT_EQ(errors[0]->col, 10u);
        EXPECT_EQ(errors[0]->message, "too many " + kind + "s (at most 256)");
    }
}

// As regions do: a declaration no instruction names is a warning.
TEST(ChannelsAndBarriers, UnusedOnesWarn) {
    AssembleResult r =
        assemble(".channel idle 1\n.channel busy 1\n.barrier never 2\n" + in_proc({"send busy, r1"}), {.filename = "w.pasm"});
    ASSERT_TRUE(r.ok()) << all_diagnostics(r);
    std::vector<std::string> warnings;
    for (const Diagnostic& d : r.diagnostics)
        warnings.push_back(std::to_string(d.line) + ":" + std::to_string(d.col) + " " + d.message);
    EXPECT_EQ(warnings, (std::vector<std::string>{"1:10 channel 'idle' is never used", "3:10 barrier 'never' is never used"}));
}

// An included file may declare them; a duplicate names the other file.
TEST(ChannelsAndBarriers, DeclaredInAnIncludedFile) {
    const std::map<std::string, std::string> files = {{"lib.pasm", ".channel jobs 8\n.barrier done 2\n"}};
    AssembleOptions options;
    options.filename = "main.pasm";
    options.read_include = [&](const std::string& path) -> Result<std::string> {
        auto it = files.find(path);
        if (it == files.end()) return Error{"No such file or directory"};
        return it->second;
    };
    AssembleResult r = assemble(".include \"lib.pasm\"\n" + in_proc({"send jobs, r1", "barrier done"}), options);
    ASSERT_TRUE(r.ok()) << all_diagnostics(r);
    EXPECT_EQ(r.module->channels, (std::vector<ChannelDecl>{{"jobs", 8}}));
    EXPECT_EQ(r.module->barriers, (std::vector<BarrierDecl>{{"done", 2}}));

    r = assemble(".include \"lib.pasm\"\n.channel jobs 2\n" + in_proc({"send jobs, r1", "barrier done"}), options);
    const std::vector<const Diagnostic*> errors = errors_of(r);
    ASSERT_EQ(errors.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->file, "main.pasm");
    EXPECT_EQ(errors[0]->line, 2u);
    EXPECT_EQ(errors[0]->message, "duplicate channel 'jobs' (first declared on lib.pasm:1)");

    // An include that cannot be read might have declared the name: only its error.
    r = assemble(".include \"missing.pasm\"\n" + in_proc({"send jobs, r1", "barrier done"}), options);
    ASSERT_EQ(errors_of(r).size(), 1u) << all_diagnostics(r);
    EXPECT_NE(errors_of(r)[0]->message.find("cannot read 'missing.pasm'"), std::string::npos);
}

}  // namespace
}  // namespace polymer
