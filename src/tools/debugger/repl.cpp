#include "src/tools/debugger/repl.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>

#include "assembler/disassembler.h"
#include "src/tools/debugger/location.h"
#include "vm/trap.h"

namespace polymer::repl {

using debugger::StopKind;

const std::vector<Repl::Command>& Repl::commands() {
    static const std::vector<Command> table = {
        {{"break", "b", "br"}, "break LOCATION", "stop before LOCATION: a label, a procedure, a line (12 or file:12) or a pc (*7)", &Repl::cmd_break, false},
        {{"delete", "d"}, "delete [N...]", "delete breakpoints/watchpoints N... (all without N)", &Repl::cmd_delete, false},
        {{"disable"}, "disable N...", "disable breakpoints/watchpoints N...", &Repl::cmd_disable, false},
        {{"enable"}, "enable N...", "enable breakpoints/watchpoints N...", &Repl::cmd_enable, false},
        {{"watch"}, "watch EXPR", "stop after any instruction that changes EXPR (a register, a region element, ...)", &Repl::cmd_watch, false},
        {{"step", "s", "stepi", "si"}, "step [N]", "run one instruction (or N)", &Repl::cmd_step, true},
        {{"next", "n", "nexti", "ni"}, "next [N]", "like step, but a call runs to its return as one step", &Repl::cmd_next, true},
        {{"finish", "fin"}, "finish", "run until the current procedure returns", &Repl::cmd_finish, true},
        {{"continue", "c", "cont"}, "continue", "run until a breakpoint, a watchpoint, a trap or the end", &Repl::cmd_continue, true},
        {{"until", "u"}, "until EXPR", "run until EXPR is true after an instruction (e.g. until r1 == 10, until pc == done)", &Repl::cmd_until, true},
        {{"backstep", "reverse-step", "rs", "reverse-stepi", "rsi", "bs"}, "backstep [N]", "undo the last instruction (or N): registers, regions, stacks and pc come back; output stays printed", &Repl::cmd_backstep, true},
        {{"run", "r"}, "run", "start the program again from the beginning and continue", &Repl::cmd_run, false},
        {{"restart"}, "restart", "start the program again and stop before its first instruction", &Repl::cmd_restart, false},
        {{"info", "i"}, "info WHAT", "WHAT: breakpoints (b), registers (r), frames (the current block's, from the module), history (what backstep can undo), procs (the procedures a program has spawned, and what each is doing), rob (the reorder buffer: --exec ooo/spec sessions), nodes (the cluster: --nodes/--local-nodes), loops (the loops run as kernels), regions (each region's type and length, and which node holds its elements under a cluster)", &Repl::cmd_info, true},
        {{"procedure", "proc"}, "procedure [N]", "select procedure #N (info procs lists them): registers, print, x, bt, list and disas then show its state; step and continue still go on where the program is", &Repl::cmd_procedure, false},
        {{"regs"}, "regs [REG...]", "the registers (same as info registers)", &Repl::cmd_registers, true},
        {{"print", "p", "pr"}, "print[/x] EXPR", "evaluate EXPR: registers, constants, region elements xs[i], len(xs), labels, pc; /x prints integers in hex", &Repl::cmd_print, true},
        {{"x"}, "x REGION [START [COUNT]]", "dump a slice of a region with its type (also x REGION[START] [COUNT], x/COUNT REGION[START])", &Repl::cmd_x, true},
        {{"list", "l"}, "list [LOCATION]", "source lines around the pc (or LOCATION); again: the next lines", &Repl::cmd_list, true},
        {{"disas", "disassemble"}, "disas [LOCATION]", "the instructions around the pc (or LOCATION)", &Repl::cmd_disas, true},
        {{"backtrace", "bt", "where"}, "backtrace", "the call stack, innermost first", &Repl::cmd_backtrace, true},
        {{"set"}, "set PLACE = EXPR | set history N | set loop-kernels on|off", "write a register or a region element (undoable by backstep); or keep N steps of history; or step loops the assembler turned into kernels as written (off)", &Repl::cmd_set, false},
        {{"help", "h"}, "help [COMMAND]", "this list, or one command's help", &Repl::cmd_help, false},
        {{"quit", "q", "exit"}, "quit", "leave the debugger", &Repl::cmd_quit, false},
    };
    return table;
}

Repl::Repl(debugger::DebugSession& session, OutputBuffer& program_out, ReplOptions options)
    : session_(session), program_out_(program_out), options_(std::move(options)) {
    remember_registers();
    if (session_.out_of_order())
        session_.on_rob_event = [this](const ooo::RobEvent& e) {
            if (show_events_) say(rob_event_line(e));
        };
}

void Repl::say(std::string_view text) {
    program_out_.flush();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

std::string Repl::banner() const {
    const Module& m = session_.module();
    const std::string name = source_name(m).empty() ? m.name : source_name(m);
    return "Polymer debugger: " + name + ", " + std::to_string(m.code.size()) + " instructions in " +
           std::to_string(m.procs.size()) + (m.procs.size() == 1 ? " procedure" : " procedures") +
           "; stopped before " + where(m, session_.machine().pc()) + ". Type help for the commands." +
           (session_.out_of_order() ? "\nOut of order (--exec " + std::string(exec_mode_name(session_.exec_mode())) +
                                          "): step runs cycles until instructions commit; info rob shows the reorder buffer."
                                    : "");
}

void Repl::run(LineReader& in) {
    say(banner() + "\n");
    while (!quit_) {
        std::optional<std::string> line = in.read();
        if (!line) break;
        if (!execute(*line)) break;
    }
}

bool Repl::execute(std::string_view line) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (!line.empty() && line.front() == '#') return true;  // a comment in a script
    std::string text(line);
    if (text.empty()) {
        if (last_command_.empty()) return true;
        text = last_command_;
    }
    const std::size_t word_end = std::min(text.find_first_of(" \t/"), text.size());
    const std::string word = text.substr(0, word_end);
    std::string_view args = std::string_view(text).substr(word_end);
    while (!args.empty() && (args.front() == ' ' || args.front() == '\t')) args.remove_prefix(1);

    const Command* found = nullptr;
    std::vector<const Command*> prefixed;
    for (const Command& c : commands()) {
        if (std::find(c.names.begin(), c.names.end(), word) != c.names.end()) found = &c;
        else if (c.names.front().starts_with(word)) prefixed.push_back(&c);
    }
    if (found == nullptr && prefixed.size() == 1) found = prefixed.front();
    if (found == nullptr) {
        if (prefixed.size() > 1) {
            std::string names;
            for (const Command* c : prefixed) names += (names.empty() ? "" : ", ") + std::string(c->names.front());
            error("ambiguous command '" + word + "': " + names);
        } else {
            error("unknown command '" + word + "' (type help for the list)");
        }
        return true;
    }
    if (!available(*found, args)) return true;
    last_command_ = found->repeats ? text : std::string();
    const bool was_list = last_was_list_;
    last_was_list_ = false;
    if (found->handler == &Repl::cmd_list && !was_list) list_next_line_ = 0;
    (this->*found->handler)(args);
    return !quit_;
}

std::vector<std::string> Repl::completions(bool first_word) const {
    std::vector<std::string> out;
    if (first_word) {
        for (const Command& c : commands())
            for (std::string_view n : c.names) out.emplace_back(n);
        return out;
    }
    const Module& m = session_.module();
    for (std::string_view s : {"breakpoints", "registers", "frames", "history", "procs", "rob", "nodes", "loops", "regions", "pc", "len", "var"}) out.emplace_back(s);
    for (const Label& l : m.labels) out.push_back(l.name);
    for (const Procedure& p : m.procs) out.push_back(p.name);
    for (const RegionDecl& r : m.regions) out.push_back(r.name);
    for (unsigned i = 0; i < kIntRegisters; ++i) out.push_back("r" + std::to_string(i));
    for (unsigned i = 0; i < kFloatRegisters; ++i) out.push_back("f" + std::to_string(i));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string Repl::current_line() const {
    const Module& m = session_.module();
    const std::uint32_t pc = viewed_pc();
    if (pc >= m.code.size()) return where(m, pc) + ": (past the end of the code)\n";
    return where(m, pc) + ": " + disassemble_word(m, pc) + "\n";
}

bool Repl::require_running() {
    switch (session_.state()) {
    case debugger::DebugSession::State::Running: return true;
    case debugger::DebugSession::State::Halted:
        // The end of a program with procedures is not undoable (DebugSession, HistoryStart::End).
        error(std::string("the program has halted (run starts it again") +
              (session_.out_of_order() || session_.procedures() != nullptr ? ")" : ", backstep goes back)"));
        return false;
    case debugger::DebugSession::State::Trapped:
        error(std::string("the program has trapped (run starts it again") + (session_.out_of_order() ? ")" : ", backstep goes back)"));
        return false;
    }
    return false;
}

void Repl::remember_registers() {
    for (unsigned i = 0; i < kIntRegisters; ++i) seen_int_[i] = session_.machine().int_reg(i);
    for (unsigned i = 0; i < kFloatRegisters; ++i) seen_float_[i] = session_.machine().float_reg(i);
    seen_procedure_ = session_.selected();
}

std::optional<std::uint64_t> Repl::count_arg(std::string_view args) {
    if (args.empty()) return 1;
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(args.data(), args.data() + args.size(), n);
    if (ec != std::errc() || end != args.data() + args.size()) {
        error("bad count '" + std::string(args) + "' (a whole number is expected)");
        return std::nullopt;
    }
    return n;
}

void Repl::report(const debugger::Stop& stop) {
    const Module& m = session_.module();
    if (std::string banner = procedure_banner(stop); !banner.empty()) say(banner);
    switch (stop.kind) {
    case StopKind::Step:
        if (!show_events_) say(current_line());  // out of order, `step`'s event lines said it
        break;
    case StopKind::Breakpoint:
        // Out of order too the stop is before the instruction: before it commits.
        say("Breakpoint " + std::to_string(stop.id) + ", " + current_line());
        break;
    case StopKind::Watchpoint: {
        std::string what;
        for (const debugger::Breakpoint& b : session_.breakpoints())
            if (b.id == stop.id) what = b.where;
        say("Watchpoint " + std::to_string(stop.id) + ": " + what + "\nOld value = " + stop.old_value +
            "\nNew value = " + stop.new_value + "\n" + current_line());
        break;
    }
    case StopKind::Interrupted: say("Interrupted at " + current_line()); break;
    case StopKind::Until: say("Until: the condition is true at " + current_line()); break;
    case StopKind::Finish: say("Returned to " + current_line()); break;
    case StopKind::Halted: {
        const Procedures* procs = session_.procedures();
        const bool spawned = procs != nullptr && procs->all().size() > 1;
        say("The program halted after " + std::to_string(session_.steps()) + " instructions" +
            (spawned ? " (by its " + std::to_string(procs->all().size()) + " procedures)" : "") + ".\n" +
            still_running_text());
        break;
    }
    case StopKind::Trapped: {
        const Trap& t = *session_.trap();
        std::string text = "The program trapped; it is stopped at the faulting instruction.\n";
        text += format_trap(m, t, disassemble_word(m, t.pc)) + "\n";
        const std::vector<std::string>& lines = source_lines(file_of(m, t.pc));
        if (const std::uint32_t line = line_of(m, t.pc); line != 0 && line <= lines.size())
            text += "  " + std::to_string(line) + "  " + lines[line - 1] + "\n";
        text += "Registers (the others are 0):\n" + register_cells(true);
        say(text);
        break;
    }
    }
}

std::string Repl::register_cells(bool only_nonzero) {
    const Machine& mc = session_.machine();
    const RegisterFile& regs = session_.viewed().regs;
    // Changes are since the last stop, which was in the running procedure.
    const bool colour = options_.terminal && session_.viewing_running();
    std::string out;
    int column = 0;
    auto cell = [&](const std::string& name, const std::string& value, bool changed, bool zero) {
        if (only_nonzero && zero) return;
        std::string text = name + " = " + value;
        const std::string pad(text.size() < 22 ? 22 - text.size() : 1, ' ');
        if (colour && changed) text = "\033[1;7m" + text + "\033[0m";  // reverse video: changed by the last command
        out += text + pad;
        if (++column == 4) {
            while (!out.empty() && out.back() == ' ') out.pop_back();
            out += "\n";
            column = 0;
        }
    };
    for (unsigned i = 0; i < kIntRegisters; ++i) {
        // A region handle (isa/encoding.h) is shown by the region it names.
        const Region* g = mc.regions().by_handle(regs.r[i]);
        const std::string value = g != nullptr ? "handle '" + std::string(g->name) + "'" : std::to_string(regs.r[i]);
        cell("r" + std::to_string(i), value, regs.r[i] != seen_int_[i], regs.r[i] == 0);
    }
    for (unsigned i = 0; i < kFloatRegisters; ++i) {
        const double v = regs.f[i];
        const bool changed = std::bit_cast<std::uint64_t>(v) != std::bit_cast<std::uint64_t>(seen_float_[i]);
        cell("f" + std::to_string(i), double_text(v), changed, std::bit_cast<std::uint64_t>(v) == 0);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (!out.empty() && out.back() != '\n') out += "\n";
    if (out.empty()) out = "(all registers are 0)\n";
    return out;
}

}  // namespace polymer::repl
