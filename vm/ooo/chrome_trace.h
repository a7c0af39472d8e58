// Writes a PipelineLog as Chrome trace-event JSON (the "JSON Array/Object
// Format" that Perfetto and chrome://tracing open). Tracks (threads of pid 1):
//   tid 1       "ROB": one complete event ("X") per instruction from issue to
//               commit or squash, named by its mnemonic and pc;
//   tid 2, 3..  one per backend track: each vector op / kernel from submit to
//               the moment the engine saw it finish;
//   then        one per place (PipelineLog::places: the cluster's home and
//               nodes): each chunk run there, from sent to result received.
#pragma once

#include <ostream>

#include "isa/module.h"
#include "vm/ooo/pipeline_log.h"

namespace polymer {

void write_chrome_trace(std::ostream& out, const Module& m, const PipelineLog& log);

}  // namespace polymer
