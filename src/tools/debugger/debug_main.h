// polymer-run --debug: sets up a DebugSession and its REPL on the terminal,
// a --batch file or a piped stdin, and turns how the session ended into
// polymer-run's exit status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "isa/module.h"
#include "vm/machine.h"

namespace polymer::repl {

struct DebugRunOptions {
    std::string program_path;  // for `list`: the source text
    std::string batch_file;    // empty: stdin (a terminal gets line editing)
    std::size_t history_steps = 10'000;
    std::function<std::string()> nodes_view;  // `info nodes`; empty without a cluster
};

// Exit status: 0 when the session ends with the program halted or still
// paused, 2 trapped, 3 stopped by the step limit, 1 when the session could
// not start (unreadable batch file). `at_exit` runs last (--dump-registers,
// --dump-region).
int debug_main(const Module& m, OutputBuffer& out, MachineOptions machine, std::uint32_t entry,
               const DebugRunOptions& options, const std::function<void(const Machine&)>& at_exit);

}  // namespace polymer::repl
