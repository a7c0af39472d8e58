#include "assembler/loops/loop_pass.h"

#include <algorithm>
#include <variant>

#include "assembler/loops/kernel_writer.h"
#include "assembler/loops/loop_analysis.h"
#include "assembler/loops/word_facts.h"
#include "isa/formats.h"
#include "isa/opcodes.h"

namespace polymer::loops {
namespace {

struct Turned {
    std::uint32_t header, latch;
    WrittenKernel written;
};

std::string unique_kernel_name(const Module& m, const std::vector<Turned>& turned, std::string base) {
    auto taken = [&](const std::string& n) {
        return std::any_of(m.kernels.begin(), m.kernels.end(), [&](const Kernel& k) { return k.name == n; }) ||
               std::any_of(turned.begin(), turned.end(), [&](const Turned& t) { return t.written.kernel.name == n; });
    };
    std::string name = base;
    for (int n = 2; taken(name); ++n) name = base + "_" + std::to_string(n);
    return name;
}

const char* reduction_name(ReduceOp op) {
    switch (op) {
    case ReduceOp::Add: return "add";
    case ReduceOp::Min: return "min";
    case ReduceOp::Max: return "max";
    case ReduceOp::Fadd: return "fadd";
    case ReduceOp::FaddAnyOrder: return "fadd reassociated";
    case ReduceOp::Fmin: return "fmin";
    case ReduceOp::Fmax: return "fmax";
    case ReduceOp::Last:
    case ReduceOp::LastMask: break;
    }
    return "?";
}

std::string describe(const WrittenKernel& w) {
    std::string text = "loop turned into kernel " + w.kernel.name + " (";
    text += w.entry.chunk == 1 ? "one lane per iteration" : "one lane per " + std::to_string(w.entry.chunk) + " iterations";
    std::string reductions, lasts;
    for (const LoopReduction& r : w.entry.reductions) {
        const std::string reg = (r.is_float ? "f" : "r") + std::to_string(r.reg);
        if (r.op == ReduceOp::Last) lasts += (lasts.empty() ? "; last value " : ", ") + reg;
        else if (r.op != ReduceOp::LastMask)
            reductions += (reductions.empty() ? "; reduction " : ", ") + reg + " " + reduction_name(r.op);
    }
    return text + reductions + lasts + ")";
}

// Inserts the kloop words (one before each turned loop's header) and moves
// every pc after them: labels, branch targets, procedures, the line table.
void insert_kloops(Module& m, std::vector<Turned>& turned) {
    std::sort(turned.begin(), turned.end(), [](const Turned& a, const Turned& b) { return a.header < b.header; });
    auto moved = [&](std::uint32_t pc) {  // where old word `pc` lands
        std::uint32_t before = 0;
        for (const Turned& t : turned) before += t.header <= pc;
        return pc + before;
    };
    std::vector<Word> code;
    std::vector<SourceLoc> lines;
    std::size_t next = 0;
    for (std::uint32_t pc = 0; pc < m.code.size(); ++pc) {
        if (next < turned.size() && turned[next].header == pc) {
            LoopKernel entry = turned[next].written.entry;
            entry.kernel = static_cast<std::uint32_t>(m.kernels.size());
            entry.header = moved(pc);
            entry.end = moved(turned[next].latch) + 1;
            code.push_back(make_word(static_cast<std::uint8_t>(Op::Kloop), 0, 0, 0,
                                     static_cast<std::int32_t>(m.loop_kernels.size())));
            if (!m.lines.empty()) lines.push_back(m.lines[pc]);
            m.kernels.push_back(std::move(turned[next].written.kernel));
            m.loop_kernels.push_back(std::move(entry));
            ++next;
        }
        Word w = m.code[pc];
        const FormatInfo& f = format_info(op_info(static_cast<Op>(word_op(w))).format);
        for (std::size_t k = 0; k < f.count; ++k)
            if (f.operands[k].kind == OperandKind::Label)
                w = with_field(w, f.operands[k].field, moved(word_field(w, f.operands[k].field)));
        code.push_back(w);
        if (!m.lines.empty()) lines.push_back(m.lines[pc]);
    }
    for (Procedure& p : m.procs) {
        const std::uint32_t start = moved(p.start), end = moved(p.start + p.length - 1) + 1;
        // A header is never a procedure's first word (the loop is entered by falling into it).
        p.start = start;
        p.length = end - start;
    }
    for (Label& l : m.labels) l.pc = moved(l.pc);
    m.code = std::move(code);
    m.lines = std::move(lines);
}

}  // namespace

std::vector<LoopReport> make_loop_kernels(Module& m, const std::vector<bool>& reassociate) {
    std::vector<LoopReport> reports;
    std::vector<Turned> turned;
    for (std::size_t p = 0; p < m.procs.size(); ++p) {
        const Procedure& proc = m.procs[p];
        const std::vector<WordFacts> facts = proc_facts(m, proc);
        const std::vector<RegSet> live = live_in(proc, facts);
        std::uint32_t inside_turned_until = 0;  // loops inside a turned loop are part of its kernel
        bool any_turned = false;
        for (const LoopCandidate& loop : find_loops(m, proc)) {
            if (any_turned && loop.header <= inside_turned_until) continue;
            const SourceLoc at = loop.header < m.lines.size() ? m.lines[loop.header] : SourceLoc{};
            auto plan = analyze_loop(m, proc, loop, facts, live, p < reassociate.size() && reassociate[p]);
            if (auto* why = std::get_if<std::string>(&plan)) {
                reports.push_back({at, "not turned into a kernel: " + *why});
                continue;
            }
            const std::string name = unique_kernel_name(m, turned, proc.name + ".loop" + std::to_string(at.line));
            auto written = write_loop_kernel(m, std::get<LoopPlan>(plan), name);
            if (auto* why = std::get_if<std::string>(&written)) {
                reports.push_back({at, "not turned into a kernel: " + *why});
                continue;
            }
            reports.push_back({at, describe(std::get<WrittenKernel>(written))});
            turned.push_back({loop.header, loop.latch, std::move(std::get<WrittenKernel>(written))});
            inside_turned_until = loop.latch;
            any_turned = true;
        }
    }
    if (!turned.empty()) insert_kloops(m, turned);
    return reports;
}

std::string format_loop_report(const Module& m, const LoopReport& r) {
    return source_file_of(m, r.at) + ":" + std::to_string(r.at.line) + ": " + r.text;
}

}  // namespace polymer::loops
