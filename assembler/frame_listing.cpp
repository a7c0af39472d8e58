#include "assembler/frame_listing.h"

#include <algorithm>
#include <numeric>

#include "assembler/disassembler.h"
#include "isa/frame_analysis.h"

namespace polymer {
namespace {

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string waits_text(const Module& m, const std::vector<Dependency>& deps) {
    std::string out;
    for (std::size_t i = 0; i < deps.size(); ++i) {
        if (i > 0) out += i + 1 == deps.size() ? " and " : ", ";
        out += "#" + std::to_string(deps[i].on) + " (" + dependency_reason(m, deps[i]) + ")";
    }
    return out;
}

}  // namespace

std::string frame_listing(const Module& m) {
    std::string out;
    for (const BlockAnalysis& b : analyze_frames(m)) {
        const std::uint16_t frames =
            b.frame.empty() ? 0 : static_cast<std::uint16_t>(*std::max_element(b.frame.begin(), b.frame.end()) + 1);
        std::string label;
        for (const Label& l : m.labels)
            if (l.pc == b.start && label.empty()) label = " (" + l.name + ")";
        out += "proc " + m.procs[b.proc].name + ", block at word " + std::to_string(b.start) + label + ", words " +
               std::to_string(b.start) + ".." + std::to_string(b.start + b.length - 1) + ": " +
               std::to_string(b.length) + (b.length == 1 ? " instruction" : " instructions") + " in " +
               std::to_string(frames) + (frames == 1 ? " frame\n" : " frames\n");
        std::vector<std::uint32_t> order(b.length);
        std::iota(order.begin(), order.end(), 0u);
        std::stable_sort(order.begin(), order.end(),
                         [&](std::uint32_t x, std::uint32_t y) { return b.frame[x] < b.frame[y]; });
        for (std::uint32_t k : order) {
            const std::uint32_t pc = b.start + k;
            std::string line = pad("  frame " + std::to_string(b.frame[k]), 11) + pad("#" + std::to_string(pc), 6) +
                               disassemble_word(m, pc);
            std::vector<Dependency> deps = b.deps[k];
            std::stable_sort(deps.begin(), deps.end(),
                             [](const Dependency& x, const Dependency& y) { return x.on < y.on; });
            if (!deps.empty()) line = pad(line, 44) + "  ; waits for " + waits_text(m, deps);
            out += line + "\n";
        }
    }
    return out;
}

}  // namespace polymer
