// The --trace and --pipeview files of real runs (polymer-run as a process, on
// lessons with vector ops, kernels, loops and branches, in every mode that
// writes them) follow their viewers' rules (view_checks.h): no trace track
// has two slices that partly overlap, and the Kanata log reads as Konata's
// parser reads it, with its dependency arrows drawn, retire ids in commit
// order and halt retiring last. The checkers themselves are tested on
// files that break the rules.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "view_checks.h"

using polymer::testing::JsonReader;
using polymer::testing::JsonValue;
using polymer::testing::KanataLog;
using polymer::testing::nesting_problem;
using polymer::testing::read_kanata;

namespace {

std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

JsonValue parse(const std::string& text) {
    auto v = JsonReader::parse(text);
    return v ? *v : JsonValue{};
}

// Track name -> its group: "ROB, row 3" -> "ROB" (chrome_trace.h).
std::string group_of(const std::string& track) { return track.substr(0, track.find(", row ")); }

struct Tracks {
    std::map<std::string, std::string> name;  // tid -> thread name
    std::map<std::string, std::size_t> rows;  // group -> its tracks
    std::map<std::string, std::size_t> slices;  // group -> complete events on its tracks
    std::set<std::string> categories;
    std::size_t sort_indices = 0;
};

Tracks tracks_of(const JsonValue& trace) {
    Tracks t;
    const JsonValue* events = trace.get("traceEvents");
    if (events == nullptr) return t;
    for (const JsonValue& e : events->items) {
        if (e.str("name") == "thread_name") {
            t.name[e.get("tid")->text] = e.get("args")->str("name");
            ++t.rows[group_of(e.get("args")->str("name"))];
        }
        if (e.str("name") == "thread_sort_index") ++t.sort_indices;
    }
    for (const JsonValue& e : events->items) {
        if (e.str("ph") != "X") continue;
        ++t.slices[group_of(t.name[e.get("tid")->text])];
        t.categories.insert(e.str("cat"));
    }
    return t;
}

using Case = std::tuple<std::string, std::string>;  // lesson, --exec mode

class LessonViews : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("trace_views_test_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // Runs the lesson in `mode` on the CPU backend, writing t.json and p.log
    // in dir_; false (with the failures reported) unless it exits 0 with its
    // expected output.
    bool run_lesson(const std::string& lesson, const std::string& mode) {
        const std::string program = std::string(POLYMER_SAMPLES_DIR) + "/" + lesson;
        const auto out = dir_ / "out";
        const std::string command = std::string(POLYMER_RUN_PATH) + " --backend cpu --exec " + mode + " --trace " +
                                    (dir_ / "t.json").string() + " --pipeview " + (dir_ / "p.log").string() + " " +
                                    program + ".pasm >" + out.string() + " 2>&1";
        const int raw = std::system(command.c_str());
        const bool ran = WIFEXITED(raw) && WEXITSTATUS(raw) == 0;
        EXPECT_TRUE(ran) << slurp(out);
        EXPECT_EQ(slurp(out), slurp(program + ".expected"));
        return ran;
    }

    std::filesystem::path dir_;
};

TEST_P(LessonViews, EveryTrackNestsAndTheKanataLogFollowsKonatasRules) {
    const auto [lesson, mode] = GetParam();
    ASSERT_TRUE(run_lesson(lesson, mode));
    const auto json = dir_ / "t.json", kanata = dir_ / "p.log";

    const JsonValue trace = parse(slurp(json));
    ASSERT_NE(trace.get("traceEvents"), nullptr) << "the trace is not valid JSON";
    EXPECT_EQ(nesting_problem(trace), "");
    const Tracks t = tracks_of(trace);
    EXPECT_EQ(t.sort_indices, t.name.size()) << "every track has its place in the order";

    const KanataLog log = read_kanata(slurp(kanata));
    ASSERT_EQ(log.problem, "");
    // Both views show every instruction once.
    EXPECT_EQ(t.slices.at("ROB"), log.ops);
    EXPECT_EQ(log.committed + log.flushed, log.ops);
    EXPECT_EQ(log.stages, (std::set<std::string>{"Is", "X", "Cm"}));
    EXPECT_GT(log.deps, 0u);
    EXPECT_EQ(log.arrows, log.deps) << "a dependency Konata does not draw";
    EXPECT_NE(log.last_committed.find(": halt"), std::string::npos) << log.last_committed;
    // Instructions in flight overlap: the ROB needs more than one row.
    EXPECT_GT(t.rows.at("ROB"), 1u);
    if (lesson == "15-out-of-order") {
        // Part 1's two products run at once, in every mode: side by side
        // on two rows of the backend's track, both kept.
        EXPECT_GE(t.rows.at("backend cpu"), 2u);
    }
    if (mode == "spec" && lesson == "15-out-of-order") {
        EXPECT_GT(log.flushed, 0u) << "the loop's last prediction is wrong";
        EXPECT_EQ(t.categories.count("squashed"), 1u);
    } else if (mode != "spec") {
        EXPECT_EQ(log.flushed, 0u);
    }
}

// Procedures (lesson 27's three stages): a life track and a ROB of its own
// per procedure, message slices nested in the stretches around them and
// joined by flow arrows, and a Kanata log Konata reads.
class ProcedureViews : public LessonViews {};

TEST_P(ProcedureViews, EachProcedureHasItsTracksAndEachMessageItsArrow) {
    ASSERT_TRUE(run_lesson(std::get<0>(GetParam()), std::get<1>(GetParam())));
    const auto json = dir_ / "t.json", kanata = dir_ / "p.log";

    const JsonValue trace = parse(slurp(json));
    ASSERT_NE(trace.get("traceEvents"), nullptr) << "the trace is not valid JSON";
    EXPECT_EQ(nesting_problem(trace), "");
    const Tracks t = tracks_of(trace);
    EXPECT_EQ(t.sort_indices, t.name.size());
    std::size_t rob_slices = 0;
    for (const char* who : {"#0 main", "#1 numbers", "#2 roots"}) {
        EXPECT_EQ(t.rows.count("procedure " + std::string(who)), 1u) << who;
        ASSERT_EQ(t.slices.count("ROB " + std::string(who)), 1u) << who;
        rob_slices += t.slices.at("ROB " + std::string(who));
    }
    EXPECT_TRUE(t.categories.count("waiting")) << "the stages wait for each other";
    // 4 blocks and 13 roots: a send and a recv slice each, and an arrow's two ends.
    std::size_t flows = 0;
    for (const JsonValue& e : trace.get("traceEvents")->items) flows += e.str("ph") == "s" || e.str("ph") == "f";
    EXPECT_EQ(flows, 2u * 17u);
    EXPECT_EQ(t.categories.count("message"), 1u);

    const KanataLog log = read_kanata(slurp(kanata));
    ASSERT_EQ(log.problem, "");
    EXPECT_EQ(rob_slices, log.ops) << "both views show every instruction once";
}

INSTANTIATE_TEST_SUITE_P(Lesson27, ProcedureViews,
                         ::testing::Combine(::testing::Values(std::string("27-pipeline")),
                                            ::testing::Values(std::string("frames"), std::string("ooo"), std::string("spec"))),
                         [](const auto& info) { return std::get<1>(info.param); });

INSTANTIATE_TEST_SUITE_P(Lessons, LessonViews,
                         ::testing::Combine(::testing::Values(std::string("10-saxpy"), std::string("12-histogram"),
                                                              std::string("15-out-of-order")),
                                            ::testing::Values(std::string("frames"), std::string("ooo"), std::string("spec"))),
                         [](const auto& info) {
                             std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                             for (char& c : name)
                                 if (c == '-') c = '_';
                             return name;
                         });

// The checkers catch what they are for.
TEST(ViewChecks, PartlyOverlappingSlicesOnOneTrackAreReported) {
    auto trace = [](const std::string& second_tid, const char* second_ts) {
        return parse(R"({"traceEvents":[
            {"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"a"}},
            {"name":"thread_name","ph":"M","pid":1,"tid":2,"args":{"name":"b"}},
            {"name":"outer","ph":"X","pid":1,"tid":1,"ts":1.000,"dur":2.000},
            {"name":"inner","ph":"X","pid":1,"tid":1,"ts":1.500,"dur":0.500},
            {"name":"next","ph":"X","pid":1,"tid":)" + second_tid + R"(,"ts":)" + second_ts + R"(,"dur":1.000}]})");
    };
    EXPECT_EQ(nesting_problem(trace("1", "3.000")), "");  // starts where outer ends
    EXPECT_EQ(nesting_problem(trace("2", "2.500")), "");  // overlaps, on another track
    EXPECT_NE(nesting_problem(trace("1", "2.500")).find("'next' [2500, 3500) ns partly overlaps 'outer'"),
              std::string::npos);
    EXPECT_NE(nesting_problem(trace("3", "9.000")).find("no thread_name"), std::string::npos);
}

TEST(ViewChecks, KanataLogsThatBreakTheParsersRulesAreReported) {
    const std::string head = "Kanata\t0004\nC=\t0\n";
    const std::string op0 = "I\t0\t0\t0\nL\t0\t0\t0: li\nS\t0\t0\tX\nE\t0\t0\tX\n";
    const std::string op1 = "I\t1\t1\t0\nS\t1\t0\tIs\nE\t1\t0\tIs\nS\t1\t0\tX\nE\t1\t0\tX\n";
    const KanataLog good = read_kanata(head + op0 + op1 + "W\t1\t0\t0\nC\t1\nR\t0\t0\t0\nR\t1\t1\t0\n");
    ASSERT_EQ(good.problem, "");
    EXPECT_EQ(good.ops, 2u);
    EXPECT_EQ(good.committed, 2u);
    EXPECT_EQ(good.arrows, 1u);
    EXPECT_EQ(good.cycles, 1u);
    EXPECT_EQ(good.last_committed, "");  // op 1 has no label
    auto problem = [&](const std::string& body) { return read_kanata(head + body).problem; };
    EXPECT_NE(problem(op0 + "R\t0\t1\t0\n"), "") << "retire ids start at 0";
    EXPECT_NE(problem(op0 + op1 + "R\t1\t0\t0\nR\t0\t0\t0\n"), "") << "a retire id twice";
    EXPECT_NE(problem(op0 + "R\t0\t0\t0\nL\t0\t0\tmore\n"), "") << "a command after R";
    EXPECT_NE(problem("S\t0\t0\tX\n"), "") << "no I";
    EXPECT_NE(problem(op0 + op0), "") << "an id defined twice";
    EXPECT_NE(problem("I\t0\t0\t0\nS\t0\t0\tIs\nR\t0\t0\t0\n"), "") << "R with a stage open";
    EXPECT_NE(problem("I\t0\t0\t0\nE\t0\t0\tIs\nR\t0\t0\t0\n"), "") << "E before S";
    EXPECT_NE(problem(op0 + "W\t0\t7\t0\nR\t0\t0\t0\n"), "") << "W from an undefined producer";
    EXPECT_NE(problem(op0 + "C\t0\nR\t0\t0\t0\n"), "") << "C that does not advance";
    EXPECT_NE(problem(op0), "") << "never retires";
    EXPECT_NE(read_kanata("Kanata\t0003\n").problem, "");
    const KanataLog no_x = read_kanata(head + "I\t0\t0\t0\nS\t0\t0\tEx\nE\t0\t0\tEx\n" + op1 +
                                       "W\t1\t0\t0\nR\t0\t0\t0\nR\t1\t1\t0\n");
    ASSERT_EQ(no_x.problem, "");
    EXPECT_EQ(no_x.arrows, 0u) << "Konata draws no arrow from a stage named Ex";
}

}  // namespace
