// The step debugger's read-eval-print loop (docs/debugger.md): a table of
// commands with gdb's names and short forms, each a handler with its help
// beside it. Enter on an empty line repeats the last command that moves or
// shows (step, next, continue, backstep, list, x, ...).
//
// All debugger output goes to stdout after the program's own output is
// flushed, so the two interleave in the order they happened.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/frame_analysis.h"
#include "src/tools/debugger/line_reader.h"
#include "vm/debugger/debug_session.h"

namespace polymer::repl {

struct ReplOptions {
    bool terminal = false;  // prompt, line editing, colours
    // The program's source text, per file (SourceLoc::file: 0 the main file,
    // then the included ones); a file that could not be read has no lines.
    std::vector<std::vector<std::string>> source_files;
    // `info nodes`: the cluster's nodes and what each has run; empty without
    // --nodes/--local-nodes.
    std::function<std::string()> nodes_view;
};

class Repl {
public:
    Repl(debugger::DebugSession& session, OutputBuffer& program_out, ReplOptions options);

    // Prints the banner, then reads and runs commands until `quit` or the end of input.
    void run(LineReader& in);
    // Runs one command line; false after `quit`.
    bool execute(std::string_view line);
    // Names tab completion offers: commands for the first word, else labels,
    // procedures, registers, regions and sub-commands.
    std::vector<std::string> completions(bool first_word) const;
    // The banner: one line.
    std::string banner() const;

    // Every command: names (the first is the full one), usage, help, handler.
    struct Command {
        std::vector<std::string_view> names;
        std::string_view usage;
        std::string_view help;
        void (Repl::*handler)(std::string_view args);
        bool repeats;  // Enter repeats it
    };
    static const std::vector<Command>& commands();

private:
    void say(std::string_view text);  // flushes the program's output first
    void error(std::string_view text) { say("error: " + std::string(text) + "\n"); }
    bool require_running();
    void report(const debugger::Stop& stop);
    std::string current_line() const;  // the selected procedure's: "pc 7 in main (prog.pasm:12): add r1, r2, r3"
    std::string register_cells(bool only_nonzero);
    void remember_registers();  // and the selected procedure, before a command that moves
    std::uint32_t viewed_pc() const { return session_.viewed().pc; }
    std::optional<std::uint64_t> count_arg(std::string_view args);

    void cmd_break(std::string_view);
    void cmd_delete(std::string_view);
    void cmd_disable(std::string_view);
    void cmd_enable(std::string_view);
    void cmd_info(std::string_view);
    void cmd_registers(std::string_view);
    void cmd_step(std::string_view);
    void cmd_next(std::string_view);
    void cmd_finish(std::string_view);
    void cmd_continue(std::string_view);
    void cmd_run(std::string_view);
    void cmd_restart(std::string_view);
    void restart(std::string_view args, bool and_continue);
    void cmd_until(std::string_view);
    void cmd_watch(std::string_view);
    void cmd_print(std::string_view);
    void cmd_x(std::string_view);
    void cmd_list(std::string_view);
    void cmd_disas(std::string_view);
    void cmd_backtrace(std::string_view);
    void cmd_set(std::string_view);
    void cmd_backstep(std::string_view);
    void cmd_help(std::string_view);
    void cmd_quit(std::string_view);
    void cmd_procedure(std::string_view);
    void info_breakpoints();
    void info_frames();
    void info_history();
    void enable_or_disable(std::string_view args, bool enable);
    // Programs with procedures (repl_procs.cpp).
    void info_procs();
    std::string procedure_name(std::uint32_t id) const;  // "#2 worker"
    std::string procedure_banner(const debugger::Stop& stop) const;  // "[procedure #2 worker]\n" or ""
    std::string history_start_text() const;  // "where procedure #1 (worker) began running ...", or ""
    std::string still_running_text() const;  // halted with spawned procedures still running: a note per each
    // Out-of-order sessions (repl_rob.cpp).
    void info_rob();
    void info_nodes();
    void info_loops();
    void info_regions();
    std::string rob_event_line(const ooo::RobEvent& e) const;
    bool available(const Command& c, std::string_view args);  // false: said why
    void committed_note();  // once: views show the committed state

    debugger::DebugSession& session_;
    OutputBuffer& program_out_;
    ReplOptions options_;
    std::string last_command_;
    bool quit_ = false;
    std::uint32_t list_next_line_ = 0;  // `list` again continues here
    std::uint32_t list_file_ = 0;       // ... in this file
    // Lines of file `file` (empty when unknown).
    const std::vector<std::string>& source_lines(std::uint32_t file) const;
    bool last_was_list_ = false;
    std::int64_t seen_int_[32] = {};    // registers at the previous stop, for highlighting
    double seen_float_[32] = {};
    std::uint32_t seen_procedure_ = 0;  // the procedure selected at the previous stop
    std::vector<BlockAnalysis> blocks_;  // for info frames, computed on first use
    bool said_committed_ = false;
    bool show_events_ = false;  // out of order: `step` prints each cycle's issues, commits and squashes
};

}  // namespace polymer::repl
