// Writes a PipelineLog in the Kanata log format (version 0004) that the
// Konata pipeline viewer reads; Konata's parser (src/core/onikiri_parser.ts
// in shioyadan/Konata) is the reference. The file starts with the header
// `Kanata\t0004`; then, one cycle = one microsecond of the run:
//   C=  0              the first cycle
//   C   <n>            advance n cycles
//   I   <id> <seq> 0   an instruction enters the pipeline (id: file order, seq: issue number)
//   L   <id> 0 <text>  its label: "pc: mnemonic (line N)"
//   W   <id> <prod> 0  it depended on <prod> (a register or region producer;
//                      written where both executed, the arrows Konata draws)
//   S   <id> 0 <stage> it enters a stage, E leaves it:
//                        Is  issued, waiting in the ROB for its operands
//                        X   executing (a long op: on the backend)
//                        Cm  done, waiting to commit
//   R   <id> <rid> <0|1> it retires: 0 committed, with rid its serial
//                      number in commit order; 1 squashed (flushed), with
//                      the rid the next committed instruction gets
// Konata draws a dependency arrow (W) from the end of the producer's stage
// whose name contains "X" to the start of the consumer's, so the execute
// stage is called X and no other stage name has an X in it. An instruction
// whose body runs outside the engine's execute step gets an X of no length
// where it runs: jmp, call, ret and halt at issue; stores, output and the
// value stack at commit.
#pragma once

#include <ostream>

#include "isa/module.h"
#include "vm/ooo/pipeline_log.h"

namespace polymer {

void write_kanata_log(std::ostream& out, const Module& m, const PipelineLog& log);

}  // namespace polymer
