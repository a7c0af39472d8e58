#include "vm/ooo/kanata_log.h"

#include <algorithm>
#include <string>
#include <vector>

namespace polymer {
namespace {

struct Event {
    std::uint64_t cycle;
    int order;  // at one cycle: I, L, W before S/E, R last
    std::string text;
};

}  // namespace

void write_kanata_log(std::ostream& out, const Module& m, const PipelineLog& log) {
    std::vector<Event> events;
    events.reserve(log.records.size() * 6);
    auto cycle = [](std::uint64_t ns) { return ns / 1000; };
    for (std::size_t id = 0; id < log.records.size(); ++id) {
        const InsnRecord& r = log.records[id];
        const std::string ids = std::to_string(id);
        std::string label = std::to_string(r.pc) + ": " + std::string(op_info(r.op).mnemonic);
        if (r.pc < m.lines.size() && m.lines[r.pc].line != 0) label += " (line " + std::to_string(m.lines[r.pc].line) + ")";
        if (r.speculative) label += " [speculative]";
        const std::uint64_t issue = cycle(r.issue_ns);
        const std::uint64_t start = std::max(issue, cycle(r.exec_start_ns));
        const std::uint64_t end = std::max(start, cycle(r.exec_end_ns));
        const std::uint64_t retire = std::max(end, cycle(r.retire_ns));
        events.push_back({issue, 0, "I\t" + ids + "\t" + std::to_string(r.seq) + "\t0"});
        events.push_back({issue, 1, "L\t" + ids + "\t0\t" + label});
        for (std::uint64_t dep : r.deps)
            if (dep < id) events.push_back({issue, 2, "W\t" + ids + "\t" + std::to_string(dep) + "\t0"});
        events.push_back({issue, 3, "S\t" + ids + "\t0\tIs"});
        if (r.exec_start_ns != 0 || r.exec_end_ns != 0) {
            events.push_back({start, 4, "E\t" + ids + "\t0\tIs"});
            events.push_back({start, 5, "S\t" + ids + "\t0\tEx"});
            events.push_back({end, 6, "E\t" + ids + "\t0\tEx"});
        } else {
            events.push_back({retire, 4, "E\t" + ids + "\t0\tIs"});
        }
        events.push_back({retire, 7, "R\t" + ids + "\t" + ids + "\t" + (r.squashed ? "1" : "0")});
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
