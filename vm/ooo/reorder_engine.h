// The reorder-buffer engine behind `--exec frames|ooo|spec`
// (docs/execution.md). It drives a Machine's architectural state (registers,
// regions, stacks, output) as the in-order interpreter would, but keeps up to
// `rob_size` instructions in flight:
//
//   issue    in program order into the reorder buffer (ROB); register operands
//            are renamed (RenameMap: the entry that will produce each one),
//            region operands get their dependencies from a per-region
//            scoreboard (the last writer, the readers since);
//   execute  as soon as the operands are ready: scalar ops at once, vector ops
//            and kernels submitted to the backend and left in flight;
//   commit   in program order: registers are written to the machine, output,
//            stores, the value stack and traps happen here only.
//
// frames: issue stops at the end of each basic block and an instruction may
// execute only when every instruction of the earlier frames has (the head of
// the ROB always may, so the engine cannot deadlock).
// spec: a branch whose condition is not ready is predicted (BranchPredictor)
// and issue goes on; a misprediction squashes the younger entries.
#pragma once

#include <cstdint>

#include "vm/machine.h"

namespace polymer::ooo {

// Runs from `start_pc` with the machine's current stacks (as Machine::run sets
// them up) until halt or a trap, and fills m's engine stats.
RunResult run_reorder_engine(Machine& m, std::uint32_t start_pc);

}  // namespace polymer::ooo
