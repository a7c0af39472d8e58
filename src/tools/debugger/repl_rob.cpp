// The REPL in an out-of-order session (`--debug --exec ooo|spec`): the event
// lines `step` prints, `info rob`, and the commands that only the in-order
// machine can do (docs/debugger.md).
#include <algorithm>

#include "assembler/disassembler.h"
#include "src/tools/debugger/location.h"
#include "src/tools/debugger/repl.h"

namespace polymer::repl {
namespace {

std::string pad(std::string s, std::size_t width) {
    s.append(s.size() < width ? width - s.size() : 1, ' ');
    return s;
}

std::string insn_text(const Module& m, std::uint32_t pc) {
    return pc < m.code.size() ? disassemble_word(m, pc) : "halt (the end of the code)";
}

}  // namespace

std::string Repl::rob_event_line(const ooo::RobEvent& e) const {
    const Module& m = session_.module();
    std::string text = "cycle " + std::to_string(e.cycle) + ": ";
    switch (e.kind) {
    case ooo::RobEvent::Kind::Issue:
    case ooo::RobEvent::Kind::Commit:
        text += std::string(e.kind == ooo::RobEvent::Kind::Issue ? "issue" : "commit") + " #" + std::to_string(e.seq) +
                " pc " + std::to_string(e.pc) + " " + insn_text(m, e.pc);
        break;
    case ooo::RobEvent::Kind::Squash:
        text += "squash #" + std::to_string(e.seq) + (e.last_seq != e.seq ? "..#" + std::to_string(e.last_seq) : "");
        break;
    }
    return text + "\n";
}

void Repl::info_rob() {
    if (!session_.out_of_order())
        return error("info rob needs an out-of-order session (--exec ooo or spec); this one steps the in-order machine");
    const Module& m = session_.module();
    const std::vector<ooo::RobEntryView> rob = session_.rob_entries();
    if (rob.empty()) return say("The reorder buffer is empty.\n");
    std::string text = "Reorder buffer, oldest first (" + std::to_string(rob.size()) +
                       (rob.size() == 1 ? " entry" : " entries") + "):\n";
    for (const ooo::RobEntryView& e : rob) {
        const std::uint32_t line = line_of(m, e.pc);
        std::string state = e.state == ooo::RobState::Issued ? "issued" : e.state == ooo::RobState::Executing ? "executing" : "done";
        if (e.on_backend) state += " (in flight on the backend)";
        if (e.predicted) state += " (predicted)";
        if (e.state == ooo::RobState::Issued) state += e.operands_ready ? ", operands ready" : ", operands waiting";
        text += pad("#" + std::to_string(e.seq), 6) + pad("pc " + std::to_string(e.pc), 7) +
                pad(line != 0 ? "line " + std::to_string(line) : "", 9) + pad(insn_text(m, e.pc), 28) + state + "\n";
    }
    say(text);
}

bool Repl::available(const Command& c, std::string_view args) {
    if (!session_.out_of_order()) return true;
    // The per-node figures are only still while no launch is in flight.
    const bool in_order_only = c.handler == &Repl::cmd_info && args.starts_with("nodes");
    if (!in_order_only) return true;
    const std::string name = c.handler == &Repl::cmd_info ? "info " + std::string(args.substr(0, args.find(' ')))
                                                          : std::string(c.names.front());
    error(name + " works on the in-order machine only (start the debugger with --exec in-order)");
    return false;
}

void Repl::committed_note() {
    if (!session_.out_of_order() || said_committed_) return;
    said_committed_ = true;
    say("(out of order: registers and the pc shown are the committed state; regions hold what executed vector ops and kernels wrote, committed or not: info rob)\n");
}

}  // namespace polymer::repl
