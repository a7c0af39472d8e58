#include "vm/ooo/kanata_log.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "vm/ooo/op_timing.h"

namespace polymer {
namespace {

// What happens to one instruction at one cycle, in the order the parser
// needs: I before everything else of its id, each stage started before it
// ends, R last.
enum Order { kIssue, kLabel, kDep, kStartIs, kEndIs, kStartX, kEndX, kStartCm, kEndCm, kRetire };
constexpr char kCommand[] = "ILWSESESER";  // the command of each Order

struct Event {
    std::uint64_t cycle;
    Order order;
    std::string text;
};

std::uint64_t cycle(std::uint64_t ns) { return ns / 1000; }

struct Execute {
    std::uint64_t start, end;
};

// One instruction's life in cycles.
struct Life {
    std::uint64_t issue = 0, retire = 0;
    std::optional<Execute> x;  // when its body ran; nullopt when it never did
};

Life life_of(const InsnRecord& r) {
    Life l;
    l.issue = cycle(r.issue_ns);
    l.retire = std::max({l.issue, cycle(r.exec_end_ns), cycle(r.retire_ns)});
    if (r.exec_start_ns != 0 || r.exec_end_ns != 0) {
        const std::uint64_t start = std::max(l.issue, cycle(r.exec_start_ns));
        l.x = Execute{start, std::max(start, cycle(r.exec_end_ns))};
        l.retire = std::max(l.retire, l.x->end);
    } else if (!r.squashed) {
        const std::uint64_t at = ooo::timing_of(r.op) == ooo::Timing::AtIssue ? l.issue : l.retire;
        l.x = Execute{at, at};
    }
    return l;
}

}  // namespace

void write_kanata_log(std::ostream& out, const Module& m, const PipelineLog& log) {
    std::vector<Life> lives;
    lives.reserve(log.records.size());
    for (const InsnRecord& r : log.records) lives.push_back(life_of(r));
    std::vector<Event> events;
    events.reserve(log.records.size() * 9);
    // Retire ids count commits in time: the events are written in cycle
    // order, and Konata wants each commit's id to be the next one. One
    // engine commits in issue order, but the procedures' engines interleave
    // (vm/procs/), so the ids come from the commits sorted by cycle (file
    // order within one). A squashed record takes the id the next commit
    // after it will have, as a flush does.
    std::vector<std::size_t> commits;
    for (std::size_t id = 0; id < log.records.size(); ++id)
        if (!log.records[id].squashed) commits.push_back(id);
    std::stable_sort(commits.begin(), commits.end(),
                     [&](std::size_t a, std::size_t b) { return lives[a].retire < lives[b].retire; });
    std::vector<std::uint64_t> rid_of(log.records.size(), 0);
    for (std::size_t k = 0; k < commits.size(); ++k) rid_of[commits[k]] = k;
    std::vector<std::uint64_t> commit_cycles;
    for (std::size_t id : commits) commit_cycles.push_back(lives[id].retire);
    for (std::size_t id = 0; id < log.records.size(); ++id) {
        const InsnRecord& r = log.records[id];
        const Life& l = lives[id];
        const std::string ids = std::to_string(id);
        auto add = [&](std::uint64_t at, Order order, const std::string& rest) {
            events.push_back({at, order, std::string(1, kCommand[order]) + "\t" + ids + "\t" + rest});
        };
        std::string label = std::to_string(r.pc) + ": " + std::string(op_info(r.op).mnemonic);
        if (log.procedures.size() > 1 && r.procedure < log.procedures.size()) label = log.procedures[r.procedure] + " " + label;
        if (r.pc < m.lines.size() && m.lines[r.pc].line != 0) label += " (line " + std::to_string(m.lines[r.pc].line) + ")";
        if (r.speculative) label += " [speculative]";
        add(l.issue, kIssue, std::to_string(r.seq) + "\t0");
        add(l.issue, kLabel, "0\t" + label);
        // A wake-up arrow needs both ends executed: one squashed before it
        // ran was never woken, and Konata would draw nothing.
        for (std::uint64_t dep : r.deps)
            if (dep < id && l.x && lives[dep].x) add(l.issue, kDep, std::to_string(dep) + "\t0");
        add(l.issue, kStartIs, "0\tIs");
        add(l.x ? l.x->start : l.retire, kEndIs, "0\tIs");
        if (l.x) {
            add(l.x->start, kStartX, "0\tX");
            add(l.x->end, kEndX, "0\tX");
            if (l.x->end < l.retire) {
                add(l.x->end, kStartCm, "0\tCm");
                add(l.retire, kEndCm, "0\tCm");
            }
        }
        if (r.squashed) {
            const auto later = std::upper_bound(commit_cycles.begin(), commit_cycles.end(), l.retire);
            add(l.retire, kRetire, std::to_string(later - commit_cycles.begin()) + "\t1");
        } else {
            add(l.retire, kRetire, std::to_string(rid_of[id]) + "\t0");
        }
    }
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.cycle != b.cycle ? a.cycle < b.cycle : a.order < b.order;
    });
    out << "Kanata\t0004\n";
    std::uint64_t now = 0;
    out << "C=\t0\n";
    for (const Event& e : events) {
        if (e.cycle > now) {
            out << "C\t" << (e.cycle - now) << "\n";
            now = e.cycle;
        }
        out << e.text << "\n";
    }
}

}  // namespace polymer
