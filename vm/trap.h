// Traps: the typed ways a verified program can stop early. A trap carries the
// pc of the faulting instruction; the machine state is saved before it is
// raised, so a reporter (or the debugger) sees the machine as it was.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "isa/module.h"

namespace polymer {

enum class TrapKind : std::uint8_t {
    DivisionByZero,
    OutOfBounds,
    StackOverflow,
    StackUnderflow,
    CallDepth,
    BadAllocation,
    LengthMismatch,
    TypeMismatch,
    StepLimit,
    BadLaunch,  // a launch count below 0 or above kMaxLaunchCount, or an i32 uniform out of range
    Unsupported,
    Interrupted,  // the user stopped the run (Ctrl-C; vm/interrupt.h)
    BadHandle,    // a handle operand `@rN` whose register holds no region handle, or one of the wrong type
    BadArgument,  // argi/argf/args: the program argument is missing or not a number
    BadInput,     // readi/readf: the word read from stdin is not a number
    Deadlock,     // every live procedure waits (recv, send, join, barrier); the detail says where each is
    BadProcedure,  // join: the register holds no procedure handle, or one joined already
    BadMessage,   // recv of a message sendf sent, or recvf of one send sent
    BadPlacement,  // spawn: no participant has the number asked for, it cannot run the procedure, or none meets its .requires
    ProcedureLost,  // join: the node the procedure ran on was lost (vm/procs/away.h)
};

// The name users see: "division-by-zero", "out-of-bounds", ...
std::string_view trap_name(TrapKind kind);

struct Trap {
    TrapKind kind = TrapKind::Unsupported;
    std::uint32_t pc = 0;  // word index in Module::code of the faulting instruction
    std::string detail;    // one short clause, e.g. "index 6 is outside 'xs' (length 6)"; may be empty
    // Which procedure trapped, when the program has spawned any: "procedure
    // #2, spawned by #0 at prog.pasm:12, on the home"; empty otherwise.
    std::string procedure;
};

struct Kernel;
struct KernelFault;

// A kernel launch's fault (vm/kernel_fault.h) as the trap of its `launch` at
// `pc`: out-of-bounds for an access outside the contract, step-limit for a
// lane past its loop budget, interrupted; the detail names the kernel, lane,
// buffer, index and the kernel's source line.
Trap kernel_trap(const Module& m, const Kernel& k, const KernelFault& f, std::uint32_t pc, std::uint32_t budget);

// "trap: division-by-zero in proc 'main' at pc 12 (prog.pasm:7:9): div r3, r1, r2"
// followed by ": <detail>" when there is one. `instruction` is the
// disassembled word; when empty the mnemonic from the opcode table is used.
std::string format_trap(const Module& m, const Trap& trap, std::string_view instruction = {});

// The procedure holding word `pc`, or nullptr.
const Procedure* proc_containing(const Module& m, std::uint32_t pc);

}  // namespace polymer
