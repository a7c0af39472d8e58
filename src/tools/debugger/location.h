// Code locations as the debugger reads and writes them.
//   read:  a label ("loop"; the current procedure's first), a procedure
//          ("fib"), a source line ("12": in the current pc's file, or
//          "prog.pasm:12", "lib/print.pasm:3": the first instruction on that
//          line or the next line with code), or a pc ("*7")
//   write: "pc 7 in main (prog.pasm:12)"
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "isa/module.h"
#include "isa/result.h"

namespace polymer::repl {

// The module's source file name without its directory ("" when unknown).
std::string source_name(const Module& m);
// The name without its directory of file `file` (SourceLoc::file).
std::string source_name(const Module& m, std::uint32_t file);
// The source line of word `pc`, or 0 when the line table does not say.
std::uint32_t line_of(const Module& m, std::uint32_t pc);
// The file (SourceLoc::file) word `pc` comes from; 0 when unknown.
std::uint32_t file_of(const Module& m, std::uint32_t pc);
// "pc 7 in main (prog.pasm:12)"; without the parenthesis when the line is unknown.
std::string where(const Module& m, std::uint32_t pc);
Result<std::uint32_t> parse_location(const Module& m, std::string_view text, std::uint32_t current_pc);

}  // namespace polymer::repl
