// Module -> text: assembly that re-assembles to the same bytes, and a listing.
#pragma once

#include <string>
#include <string_view>

#include "isa/module.h"

namespace polymer {

struct DisassembleOptions {
    // Emit `.file`/`.loc` so the line table survives a round trip. Without
    // them the output is easier to read and re-assembles to the same code.
    bool source_locations = true;
    // Mark the stored frame table (docs/frames.md) with `; -- frame k --`
    // comment lines: one where a block starts or the frame changes.
    bool frames = true;
};

std::string disassemble(const Module& m, const DisassembleOptions& options = {});

// Disassembles one procedure word (for the debugger, traps and listings),
// e.g. "add r1, r2, r3" or "jmp loop"; labels are resolved through m.labels.
std::string disassemble_word(const Module& m, std::uint32_t pc);

// Disassembles word `pc` of kernel `kernel`, e.g. "ldf f1, x[r0]".
std::string disassemble_kernel_word(const Module& m, std::uint32_t kernel, std::uint32_t pc);

// One line per word: address, encoding in hex, the instruction and its source
// line: "0004  0000000003020104  add r1, r2, r3    ; 12: add r1, r2, r3".
std::string listing(const Module& m, std::string_view source);

// Literal printers shared by the disassembler, listings and the debugger.
// Each prints text the assembler reads back to exactly the same value.
std::string double_text(double v);      // shortest round-trip: "0.5", "1e100", "-0.0", "inf", "nan"
std::string float_text(float v);        // the same for binary32 values
std::string quoted(std::string_view s); // "\"a\\n\"": escapes \n \t \r \0 \\ \" and \xHH
// The name of the label at `pc` (the first declared), or "L<pc>" if none.
std::string label_name(const Module& m, std::uint32_t pc);

}  // namespace polymer
