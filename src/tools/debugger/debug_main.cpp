#include "src/tools/debugger/debug_main.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "src/tools/debugger/line_reader.h"
#include "src/tools/debugger/repl.h"
#include "vm/debugger/debug_session.h"

namespace polymer::repl {
namespace {

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The text of every file of the program: a .pasm is its own source; a .pbc
// names its source file, which may still be there; included files are named
// as the assembler found them.
std::vector<std::vector<std::string>> source_files(const Module& m, const std::string& program_path) {
    std::vector<std::vector<std::string>> files;
    files.push_back(lines_of(program_path.ends_with(".pbc") ? m.source_file : program_path));
    for (const std::string& f : m.include_files) files.push_back(lines_of(f));
    return files;
}

}  // namespace

int debug_main(const Module& m, OutputBuffer& out, MachineOptions machine, std::uint32_t entry,
               const DebugRunOptions& options, const std::function<void(const Machine&)>& at_exit) {
    std::ifstream batch;
    if (!options.batch_file.empty()) {
        batch.open(options.batch_file);
        if (!batch) {
            std::cerr << "polymer-run: error: cannot read the batch file '" << options.batch_file << "'\n";
            return 1;
        }
    }
    debugger::DebugOptions debug;
    debug.history_steps = options.history_steps;
    auto session = debugger::DebugSession::create(m, out, machine, entry, debug);
    if (!session) {
        std::cerr << "polymer-run: error: " << session.error() << "\n";
        return 1;
    }
    const bool terminal = options.batch_file.empty() && ::isatty(0) && ::isatty(1);
    ReplOptions ro;
    ro.terminal = terminal;
    ro.source_files = source_files(m, options.program_path);
    ro.nodes_view = options.nodes_view;
    Repl repl(*session.value(), out, std::move(ro));
    std::unique_ptr<LineReader> reader;
    if (terminal) {
        // Ctrl-C pauses a running command instead of killing the session.
        struct sigaction sa {};
        sa.sa_handler = [](int) { debugger::DebugSession::interrupt(); };
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;  // a Ctrl-C at the prompt must not end readline
        sigaction(SIGINT, &sa, nullptr);
    }
    if (terminal)
        reader = terminal_reader("(polymer) ", default_history_file(),
                                 [&repl](bool first_word) { return repl.completions(first_word); });
    else
        reader = stream_reader(options.batch_file.empty() ? std::cin : batch);
    repl.run(*reader);

    const debugger::DebugSession& s = *session.value();
    at_exit(s.machine());
    out.flush();
    if (s.state() != debugger::DebugSession::State::Trapped) return 0;
    return s.trap()->kind == TrapKind::StepLimit ? 3 : 2;
}

}  // namespace polymer::repl
