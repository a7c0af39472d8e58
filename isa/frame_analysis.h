// Static frames (docs/frames.md): each procedure is split into basic blocks,
// each block gets a dependency DAG built from the opcode table's read/write
// sets and effect flags, and its instructions are grouped into frames, the
// DAG's topological levels. It lives in isa/ because the verifier recomputes
// the dependencies to check a module's stored frame table on load.
//
// The analysis reads only the table (isa/opcodes.def, isa/formats.def) and the
// module's launch sites and loop kernels; no opcode is named here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "isa/module.h"

namespace polymer {

// A thing an instruction reads or writes, or an ordering chain it is on.
struct Resource {
    enum class Kind : std::uint8_t {
        IntReg,    // r<index>
        FloatReg,  // f<index>
        Region,    // region <index>
        Handle,    // the region whose handle r<index> holds: any region, to this analysis
        Stack,     // the value stack (push/pop read and write it)
        Output,    // user-visible output, kept in program order
        Trap,      // an instruction that may trap, ordered against output
        Long,      // long operations, ordered by wait/fence
        Block,     // a control transfer waits for the whole block
    };
    Kind kind = Kind::IntReg;
    std::uint32_t index = 0;
    friend bool operator==(const Resource&, const Resource&) = default;
};

enum class Hazard : std::uint8_t {
    Raw,    // read after write: needs the value
    War,    // write after read: must not overwrite before the read
    Waw,    // write after write: the last write must win
    Order,  // an ordering chain (output, traps, long ops, block end)
};

// "instruction `on` must finish before this one", and why.
struct Dependency {
    std::uint32_t on = 0;  // word index in Module::code of the earlier instruction
    Hazard hazard = Hazard::Raw;
    Resource resource;
    friend bool operator==(const Dependency&, const Dependency&) = default;
};

struct BlockAnalysis {
    std::uint32_t proc = 0;   // index in Module::procs
    std::uint32_t start = 0;  // first word
    std::uint32_t length = 0;
    std::vector<std::vector<Dependency>> deps;  // per word of the block
    std::vector<std::uint16_t> frame;           // per word of the block
};

// One register, region or chain an instruction uses.
struct ResourceUse {
    Resource resource;
    bool read = false;
    bool write = false;
};

// The read/write set of one procedure word, from the opcode table (and, for
// `launch`, the launch site's arguments and the kernel parameters' access;
// for `kloop`, its loop kernel entry: every register and region the loop
// reads or writes, the induction and reduction registers written).
// Invalid operands (a word the verifier would reject) are left out.
// A handle operand `@rN` reads rN and uses {Handle, N}, which conflicts with
// every region (the analysis cannot know which one it is).
std::vector<ResourceUse> resource_uses(const Module& m, Word w);

// Whether word `w` has a handle operand (a region operand or launch argument
// written `@rN`).
bool has_handle_operand(const Module& m, Word w);

// Whether `w` may trap: its row's E_TRAP, or a handle operand (`bad-handle`).
bool may_trap(const Module& m, Word w);

// Basic blocks with dependencies and frames, in code order. Expects a module
// whose procedures cover the code (check_proc_layout in the verifier).
std::vector<BlockAnalysis> analyze_frames(const Module& m);

// Just the frame table, as stored in the module.
std::vector<BlockFrames> compute_frames(const Module& m);

// "r3", "f1", "region 'xs'", "the value stack", "output", ...
std::string resource_name(const Module& m, const Resource& r);

// "writes r1", "reads region 'xs'", "output order", ...: why `d` exists.
std::string dependency_reason(const Module& m, const Dependency& d);

// Checks a stored frame table against the recomputed blocks and dependencies.
// Empty frames (absent) are accepted. Returns the first problem, naming the
// block and word, or nothing.
std::optional<std::string> check_frames(const Module& m);

}  // namespace polymer
