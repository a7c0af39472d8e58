// The REPL for programs with procedures (vm/procs/, docs/debugger.md,
// "Procedures"): `info procs`, `proc N`, the line that names the procedure a
// stop happened in, and where backstep's history starts.
#include <algorithm>
#include <charconv>
#include <sstream>

#include "assembler/disassembler.h"
#include "src/tools/debugger/location.h"
#include "src/tools/debugger/repl.h"

namespace polymer::repl {

using debugger::StopKind;

namespace {

std::string pad(std::string s, std::size_t width) {
    s.append(s.size() < width ? width - s.size() : 1, ' ');
    return s;
}

const char* status_word(ProcStatus s) {
    switch (s) {
    case ProcStatus::Ready: return "ready";
    case ProcStatus::Running: return "running";
    case ProcStatus::Waiting: return "waiting";
    case ProcStatus::Away: return "on its node";
    case ProcStatus::Ended: return "ended";
    case ProcStatus::Joined: return "joined";
    }
    return "?";
}

}  // namespace

std::string Repl::procedure_name(std::uint32_t id) const {
    const Procedures* procs = session_.procedures();
    return "#" + std::to_string(id) + " " + session_.module().procs.at(procs->all().at(id).entry).name;
}

// A stop names its procedure once the program has spawned one, unless it is
// a step that stayed in the procedure the user was looking at. A trap's
// message names it itself; the end of the program needs no name.
std::string Repl::procedure_banner(const debugger::Stop& stop) const {
    const Procedures* procs = session_.procedures();
    if (procs == nullptr || procs->all().size() <= 1) return {};
    if (stop.kind == StopKind::Halted || stop.kind == StopKind::Trapped) return {};
    if (stop.kind == StopKind::Step && session_.running() == seen_procedure_) return {};
    return "[procedure " + procedure_name(session_.running()) + "]\n";
}

std::string Repl::history_start_text() const {
    const debugger::HistoryStart& h = session_.history_start();
    const Module& m = session_.module();
    switch (h.kind) {
    case debugger::HistoryStart::Kind::Program: return {};
    case debugger::HistoryStart::Kind::Switch:
        return "where the scheduler switched to procedure " + procedure_name(h.procedure) +
               " (backstep does not undo a switch between procedures)";
    case debugger::HistoryStart::Kind::End:
        return "at the end of the program (backstep does not undo the end of procedure #0, which stops the others)";
    case debugger::HistoryStart::Kind::ProcedureOp:
        return "after the " + std::string(op_info(static_cast<Op>(word_op(m.code[h.pc]))).mnemonic) + " at " +
               where(m, h.pc) + " (backstep does not undo spawn, join, send, recv or barrier)";
    }
    return {};
}

std::string Repl::still_running_text() const {
    const Procedures* procs = session_.procedures();
    if (procs == nullptr) return {};
    std::istringstream lines(procs->still_running_text());
    std::string text;
    for (std::string line; std::getline(lines, line);) text += "Note: " + line + "\n";
    return text;
}

// One line per procedure: the selected one starred, its entry procedure,
// what it is doing, where, and what it waits for.
void Repl::info_procs() {
    const Procedures* procs = session_.procedures();
    if (procs == nullptr)
        return say("This program has no procedure instructions (spawn, join, send, recv, barrier): only #0 runs.\n");
    const Module& m = session_.module();
    std::size_t name_width = 0;
    for (const LiveProcedure& p : procs->all()) name_width = std::max(name_width, m.procs.at(p.entry).name.size());
    const bool trapped = session_.state() == debugger::DebugSession::State::Trapped;
    const bool deadlocked = trapped && session_.trap()->kind == TrapKind::Deadlock;
    std::string text;
    for (const LiveProcedure& p : procs->all()) {
        const bool current = p.id == procs->current();
        // The procedure a run ended in keeps the status it had while it ran.
        std::string status = status_word(p.status);
        bool waits = p.status == ProcStatus::Waiting;
        if (current && deadlocked) status = "waiting", waits = true;
        else if (current && trapped) status = "trapped";
        else if (current && session_.state() == debugger::DebugSession::State::Running) status = "running";
        const std::uint32_t pc = procs->state_of(p.id).pc;
        std::string line = std::string(p.id == session_.selected() ? "* " : "  ") + pad("#" + std::to_string(p.id), 4) +
                           pad(m.procs.at(p.entry).name, name_width + 2) + pad(status, 9) + where(m, pc);
        if (pc < m.code.size()) line += ": " + disassemble_word(m, pc);
        if (waits) line += "; " + procs->describe_wait(p);
        if (p.status == ProcStatus::Ended && p.id != 0)  // #0's end is the program's
            line += "; r1 = " + std::to_string(p.result_r1) + ", f1 = " + debugger::value_text(debugger::Value::of_float(p.result_f1)) + " for its join";
        text += line + "\n";
    }
    if (!session_.viewing_running())
        text += "(* the selected procedure; the program " +
                (session_.state() == debugger::DebugSession::State::Running
                     ? "is in " + procedure_name(session_.running()) + ", where step and continue go on"
                     : "ended in " + procedure_name(session_.running())) +
                ": proc " + std::to_string(session_.running()) + " selects it)\n";
    say(text);
}

void Repl::cmd_procedure(std::string_view args) {
    const Procedures* procs = session_.procedures();
    if (procs == nullptr)
        return error("this program has no procedures to select: it has no spawn, join, send, recv or barrier");
    while (!args.empty() && (args.back() == ' ' || args.back() == '\t')) args.remove_suffix(1);
    if (args.starts_with("#")) args.remove_prefix(1);
    if (!args.empty()) {
        std::uint32_t id = 0;
        auto [end, ec] = std::from_chars(args.data(), args.data() + args.size(), id);
        if (ec != std::errc() || end != args.data() + args.size())
            return error("proc needs a procedure number, e.g. proc 1 (info procs lists them)");
        Result<bool> ok = session_.select(id);
        if (!ok) return error(ok.error());
    }
    const LiveProcedure& p = procs->all()[session_.selected()];
    const bool current = p.id == procs->current();
    const std::string status = current && session_.state() == debugger::DebugSession::State::Running
                                   ? "running"
                                   : current ? "the run ended here" : status_word(p.status);
    say("[procedure " + procedure_name(p.id) + ", " + status + "]\n" + current_line());
}

}  // namespace polymer::repl
