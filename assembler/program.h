// What the first pass learns about a file: every declaration (regions,
// kernels with their parameters, procedures, labels) with its position, and
// the instruction lines of each procedure and kernel body. The second pass
// (assembler.cpp) encodes instructions against it, so every name may be used
// before its declaration.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "assembler/lexer.h"
#include "isa/module.h"

namespace polymer::asm_detail {

struct Pos {
    std::uint32_t line = 0;
    std::uint32_t col = 0;
};

struct LabelInfo {
    Pos pos;
    bool used = false;
};

// One instruction line: tokens[first] is the mnemonic.
struct Statement {
    std::uint32_t line = 0;
    std::size_t first = 0;
    SourceLoc loc;  // what the line table records (.loc or the mnemonic's position)
};

// A `.proc` or `.kernel` block.
struct Body {
    bool is_kernel = false;
    std::uint32_t index = 0;  // into Module::procs or Module::kernels
    Pos pos;                  // of the name in `.proc NAME`
    std::vector<Statement> statements;
    std::unordered_map<std::string, std::size_t> labels;  // name -> index in Module::labels (procs)
    // `.reassociate` (procs): its loops' float reductions may be reassociated
    // when they become kernels (docs/loop-kernels.md).
    bool reassociate = false;
    // Where the procedure's `.requires gpu`, `mem` and `node` lines are
    // (line 0: not given), so that a second one is reported.
    Pos requires_gpu_at, requires_mem_at, requires_node_at;
    Pos launches_at;  // `.launches cluster` (procs)
};

// The names of one kind of module-level object that operands name by
// itself (channels, barriers), parallel to its table in the Module.
struct NameTable {
    std::unordered_map<std::string, std::uint32_t> index;  // name -> index
    std::vector<Pos> pos;                                   // where each is declared
    std::vector<bool> used;  // named by an instruction, or declared with an error
};

struct Program {
    Module module;                   // declarations filled in; code, pools, launches left to pass 2
    std::vector<LexedLine> lines;    // index = line number - 1
    std::vector<bool> line_ok;       // false: the line had a lexical error
    std::vector<Pos> region_pos;     // parallel to module.regions
    std::vector<bool> region_used;
    std::vector<Pos> kernel_pos;     // parallel to module.kernels
    // Parallel to module.kernels: false when the header had an error. Its
    // parameters are then those read before the error, so launches of it and
    // uses of parameters it lacks are not checked (one error, reported once).
    std::vector<bool> kernel_header_ok;
    // Parallel to module.kernels: where each parameter's type is written (an
    // i64/f64 one is an error unless the body says `.wide`, known in pass 2).
    std::vector<std::vector<Pos>> kernel_param_type_pos;
    std::vector<LabelInfo> label_info;  // parallel to module.labels
    std::vector<Body> bodies;        // in source order
    std::unordered_map<std::string, std::uint32_t> regions, procs, kernels;  // name -> index
    NameTable channels, barriers;    // `.channel`, `.barrier`
    // An included file could not be read: a name it would have declared is
    // not reported as undefined on top of that error.
    bool incomplete = false;
};

}  // namespace polymer::asm_detail
