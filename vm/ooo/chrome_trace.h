// Writes a PipelineLog as Chrome trace-event JSON (the "JSON Array/Object
// Format" that Perfetto and chrome://tracing open): complete events ("X") on
// threads of pid 1, grouped by what they show, in this order:
//   "ROB"          one slice per instruction from issue to commit or squash,
//                  named by its mnemonic and pc (a launch or kloop also
//                  by its kernel: "launch saxpy @21");
//   "backend T"    one per backend track (PipelineLog::tracks): each vector
//                  op / kernel from submit to the moment the engine saw it
//                  finish (a kloop's kernel: from its launch to its end);
//   PLACE          one per place (PipelineLog::places: the cluster's home and
//                  nodes): each chunk run there, from sent to result received.
// The viewers draw one thread as properly nested slices, but these overlap
// (that overlap is what the views are for), so each group is spread over
// rows (track_rows.h): one thread per row, none with two slices open at
// once. The first row has the group's name, the next ones "NAME, row 2",
// "NAME, row 3", ...; thread_sort_index keeps them in this order.
#pragma once

#include <ostream>

#include "isa/module.h"
#include "vm/ooo/pipeline_log.h"

namespace polymer {

void write_chrome_trace(std::ostream& out, const Module& m, const PipelineLog& log);

}  // namespace polymer
