// Writes a PipelineLog in the Kanata log format that the Konata pipeline
// viewer (and gem5's O3 pipeline tooling) reads. The file starts with the
// header `Kanata\t0004`; then, one cycle = one microsecond of the run:
//   C=  <t>            the first cycle (0)
//   C   <n>            advance n cycles
//   I   <id> <seq> 0   an instruction enters the pipeline
//   L   <id> 0 <text>  its label: "pc: mnemonic (line N)"
//   S   <id> 0 <stage> it enters a stage: Is (issued, waiting), Ex (executing)
//   E   <id> 0 <stage> it leaves the stage
//   R   <id> <id> <0|1> it retires: 0 committed, 1 squashed (flushed)
//   W   <id> <prod> 0  a dependency arrow from producer <prod> (wake-up)
#pragma once

#include <ostream>

#include "isa/module.h"
#include "vm/ooo/pipeline_log.h"

namespace polymer {

void write_kanata_log(std::ostream& out, const Module& m, const PipelineLog& log);

}  // namespace polymer
