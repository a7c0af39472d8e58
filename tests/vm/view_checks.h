// Checks that the --trace and --pipeview files follow the rules of the
// viewers that draw them, so that what the viewer shows is what the file
// says. Used by trace_views_test (lessons in every engine mode) and
// cluster_trace_test (runs with nodes).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cluster/json_value.h"

namespace polymer::testing {

// Perfetto (and chrome://tracing) draw the complete events ("ph": "X") of
// one thread as a stack: a slice that begins inside another must end inside
// it; one that partly overlaps is dropped or moved. Returns the first such
// pair on any track (pid, tid), or "" when every track nests; also that
// every track with slices is named (a "thread_name" metadata event).
inline std::string nesting_problem(const JsonValue& trace) {
    struct Slice {
        std::uint64_t begin, end;
        std::string name;
    };
    std::map<std::pair<std::string, std::string>, std::vector<Slice>> tracks;  // (pid, tid) as written
    std::set<std::pair<std::string, std::string>> named;
    const JsonValue* events = trace.get("traceEvents");
    if (events == nullptr) return "no traceEvents";
    auto key = [](const JsonValue& e) {
        const JsonValue* pid = e.get("pid");
        const JsonValue* tid = e.get("tid");
        return std::make_pair(pid != nullptr ? pid->text : "", tid != nullptr ? tid->text : "");
    };
    for (const JsonValue& e : events->items) {
        if (e.str("ph") == "M" && e.str("name") == "thread_name") named.insert(key(e));
        if (e.str("ph") != "X") continue;
        const auto ts = e.thousandths("ts"), dur = e.thousandths("dur");
        if (!ts || !dur) return "a complete event without ts and dur: " + e.str("name");
        tracks[key(e)].push_back({*ts, *ts + *dur, e.str("name")});
    }
    for (auto& [track, slices] : tracks) {
        const std::string where = "pid " + track.first + " tid " + track.second;
        if (named.count(track) == 0) return where + " has slices but no thread_name";
        std::stable_sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
            return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;  // at one start, the outer first
        });
        std::vector<const Slice*> open;
        for (const Slice& s : slices) {
            while (!open.empty() && open.back()->end <= s.begin) open.pop_back();
            if (!open.empty() && s.end > open.back()->end) {
                std::ostringstream o;
                o << where << ": '" << s.name << "' [" << s.begin << ", " << s.end << ") ns partly overlaps '"
                  << open.back()->name << "' [" << open.back()->begin << ", " << open.back()->end << ")";
                return o.str();
            }
            open.push_back(&s);
        }
    }
    return "";
}

// What a Kanata log holds, read by the rules of Konata's parser
// (src/core/onikiri_parser.ts in shioyadan/Konata, the reference for the
// format): `problem` is the first rule broken, "" when none.
struct KanataLog {
    std::string problem;
    std::size_t ops = 0, committed = 0, flushed = 0;
    std::size_t deps = 0, arrows = 0;        // W lines; those Konata draws (both ends have an execute stage)
    std::set<std::string> stages;
    std::string last_committed;              // the label of the op with the highest retire id
    std::uint64_t cycles = 0;
};

// The parser's rules, each checked where it applies:
//  - line 1 starts with "Kanata" (ours: the version, "Kanata\t0004");
//  - fields are tab-separated; C takes a cycle count, every other command an
//    op id (a number) and, for I, L, S, E, R and W, four fields in all;
//  - I defines an id once; L, S, E, R and W name an id an I defined, and
//    come before its R (the parser warns of a command after the op retired);
//  - E ends a stage of that op's lane that S started (the parser ignores an
//    E with no such stage and fails on an unknown lane);
//  - R's third field is the retire id, its fourth 1 for flushed, else
//    retired; retired ops are indexed by retire id, so those must be 0, 1,
//    2, ... in the order they retire;
//  - W's producer is an id an I defined;
//  - Konata draws a W arrow from the end of the producer's stage whose name
//    contains "X" to the start of the consumer's (consCycle/prodCycle in
//    the parser, drawDependency_ in konata_renderer.ts): `arrows` counts the
//    W lines that have both.
// Stricter than the parser, so the view never depends on its repairs: C
// advances at least one cycle; an op's stage ends before the next starts
// (the parser closes it silently) and before R (R closes it too); every op
// retires by the end of the file (else the parser marks it "eof").
inline KanataLog read_kanata(const std::string& text) {
    KanataLog log;
    struct Op {
        bool retired = false;
        bool has_x = false;
        std::string label;
        std::string open_stage;  // "" when none
    };
    std::map<std::uint64_t, Op> ops;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> waits;  // (consumer, producer)
    std::uint64_t next_rid = 0;
    std::istringstream in(text);
    std::string line;
    std::size_t n = 0;
    auto fail = [&](const std::string& what) {
        log.problem = "line " + std::to_string(n) + " (" + line + "): " + what;
        return log;
    };
    auto number = [](const std::string& s, std::uint64_t& out) {
        if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18) return false;
        out = std::stoull(s);
        return true;
    };
    while (std::getline(in, line)) {
        ++n;
        if (n == 1) {
            if (line != "Kanata\t0004") return fail("the header is not Kanata\\t0004");
            continue;
        }
        std::vector<std::string> f;
        std::stringstream fields(line);
        for (std::string s; std::getline(fields, s, '\t');) f.push_back(s);
        if (f.empty()) return fail("an empty line");
        const std::string& c = f[0];
        if (c == "C=") {
            if (n != 2 || f.size() != 2 || f[1] != "0") return fail("C= is not the first command, C=\\t0");
            continue;
        }
        std::uint64_t v = 0;
        if (c == "C") {
            if (f.size() != 2 || !number(f[1], v) || v == 0) return fail("C needs a positive cycle count");
            log.cycles += v;
            continue;
        }
        if (c != "I" && c != "L" && c != "S" && c != "E" && c != "R" && c != "W") return fail("unknown command");
        if (f.size() != 4) return fail(c + " needs 4 fields");
        std::uint64_t id = 0;
        if (!number(f[1], id)) return fail("the id is not a number");
        if (c == "I") {
            if (ops.count(id) != 0) return fail("the id is defined twice");
            if (!number(f[2], v) || !number(f[3], v)) return fail("I's serial id and thread id are numbers");
            ops[id];
            ++log.ops;
            continue;
        }
        auto it = ops.find(id);
        if (it == ops.end()) return fail(c + " names an id no I defined");
        Op& op = it->second;
        if (op.retired) return fail(c + " comes after the op retired");
        if (c == "L") {
            if (f[2] != "0") return fail("only left-pane labels (type 0) are written");
            op.label += f[3];
        } else if (c == "S") {
            if (f[2] != "0") return fail("one lane, 0");
            if (!op.open_stage.empty()) return fail("stage " + f[3] + " starts while " + op.open_stage + " is open");
            if (f[3].empty()) return fail("a stage with no name");
            op.open_stage = f[3];
            log.stages.insert(f[3]);
            if (f[3].find('X') != std::string::npos) op.has_x = true;
        } else if (c == "E") {
            if (f[2] != "0") return fail("E on a lane the op never started");
            if (op.open_stage != f[3]) return fail("E of a stage that is not open");
            op.open_stage.clear();
        } else if (c == "R") {
            if (!op.open_stage.empty()) return fail("R while stage " + op.open_stage + " is open");
            if (!number(f[2], v)) return fail("the retire id is not a number");
            if (f[3] == "0") {
                if (v != next_rid) return fail("retire id " + std::to_string(v) + ", expected " + std::to_string(next_rid));
                ++next_rid;
                ++log.committed;
                log.last_committed = op.label;
            } else if (f[3] == "1") {
                ++log.flushed;
            } else {
                return fail("R's type is 0 (retired) or 1 (flushed)");
            }
            op.retired = true;
        } else {  // W
            std::uint64_t producer = 0;
            if (!number(f[2], producer) || ops.count(producer) == 0) return fail("W's producer is not defined");
            if (f[3] != "0") return fail("W's type is 0 (wake-up)");
            ++log.deps;
            waits.push_back({id, producer});
        }
    }
    if (n == 0) return fail("an empty file");
    for (const auto& [id, op] : ops)
        if (!op.retired) return fail("op " + std::to_string(id) + " never retires");
    for (const auto& [consumer, producer] : waits)
        if (ops[consumer].has_x && ops[producer].has_x) ++log.arrows;
    return log;
}

}  // namespace polymer::testing
