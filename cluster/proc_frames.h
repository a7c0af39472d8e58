// An away procedure's events and answers as frame payloads (protocol version
// 7, docs/protocol.md "Procedures on the nodes"). A frame carries at most
// kMaxPayload bytes, and a procedure's region writes since its last release
// may be more: they are spread over as many Writes events (or Writes answers)
// as they need, ahead of the event or answer they came with, which the
// receiver applies as it would the one (AwayEvent::Writes has no answer;
// AwayAnswer::Writes says "more may follow"). A message cannot be cut: one
// over the limit is an error the caller reports.
#pragma once

#include <cstddef>
#include <vector>

#include "cluster/frame.h"
#include "cluster/messages.h"
#include "isa/result.h"
#include "vm/procs/away.h"

namespace polymer::cluster {

// The proc-event payloads that carry `e`, in order; an error naming the size
// when what is left without the writes is still over `limit`.
Result<std::vector<Bytes>> proc_event_payloads(AwayEvent e, std::size_t limit = kMaxPayload);
// The same for a proc-answer.
Result<std::vector<Bytes>> proc_answer_payloads(AwayAnswer a, std::size_t limit = kMaxPayload);

}  // namespace polymer::cluster
