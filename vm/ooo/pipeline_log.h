// The life of each instruction in the reorder buffer, recorded by the engine
// when a trace is asked for (--trace, --pipeview) and written out afterwards
// by chrome_trace.cpp and kanata_log.cpp. Times are nanoseconds since the run
// started (steady clock, from `origin`).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "isa/opcodes.h"

namespace polymer {

struct InsnRecord {
    std::uint64_t seq = 0;   // issue order, from 0
    std::uint32_t pc = 0;
    Op op = Op::Nop;
    std::uint64_t issue_ns = 0;
    std::uint64_t exec_start_ns = 0;
    std::uint64_t exec_end_ns = 0;
    std::uint64_t retire_ns = 0;   // commit or squash (for a trap: when it ends the run)
    bool squashed = false;
    bool speculative = false;      // issued under an unresolved predicted branch
    bool long_op = false;          // ran on a backend
    std::uint32_t track = 0;       // long ops: index into PipelineLog::tracks
    std::uint32_t procedure = 0;   // which procedure ran it (vm/procs/): #0 unless the program spawns
    std::vector<std::uint64_t> deps;  // seqs of the producers it waited for
};

// One run of a piece of a long op at a place a backend spreads work over (the
// cluster's home and nodes, docs/cluster.md): filled in after the run by the
// backend's owner, written by chrome_trace.cpp as one track per place.
struct PlaceRun {
    std::uint32_t place = 0;                 // index into PipelineLog::places
    std::string name;                        // e.g. "saxpy [0, 256)"
    std::uint64_t launch = 0;                // which launch it was part of, 1, 2, ...
    std::uint64_t begin = 0, end = 0;        // its lanes [begin, end)
    std::uint64_t start_ns = 0, end_ns = 0;  // sent (or started) .. result received, same base as InsnRecord
    std::uint64_t bytes_out = 0, bytes_in = 0;
    bool backup = false;                     // a second copy of a straggling piece
    bool applied = false;                    // its result is the one that counted
    std::string outcome;                     // "applied", or why not: "lost", "failed", "abandoned"
};

// A stretch of a procedure's life (vm/procs/): running on the home, or
// waiting for another procedure (the reason in words).
struct ProcedureSpan {
    std::uint32_t procedure = 0;
    std::uint64_t start_ns = 0, end_ns = 0;
    bool waiting = false;
    std::string what;  // "runs", "recv: waits for a message on channel 'pongs' (empty)"
};

// One message on a channel: who sent it and when, who took it and when
// (received_ns 0: never taken). The trace draws it as an arrow.
struct MessageRecord {
    std::uint32_t channel = 0;
    std::uint32_t from = 0, to = 0;
    std::uint64_t sent_ns = 0, received_ns = 0;
    std::string value;  // what it carried: "42", "2.5", "f64[8]"
};

struct PipelineLog {
    // Past this many records the engine stops recording (the counts in
    // --stats still cover the whole run); the writers say so.
    std::size_t limit = 1'000'000;
    bool truncated = false;
    std::vector<InsnRecord> records;
    std::vector<std::string> tracks;  // backend track names, e.g. "cpu", "vulkan"
    std::chrono::steady_clock::time_point origin{};  // what the *_ns count from; the engine sets it
    std::vector<std::string> places;  // e.g. "home", "node n1 (127.0.0.1:7447)"
    std::vector<PlaceRun> place_runs;
    bool places_truncated = false;    // the backend stopped recording runs at its own limit
    // Procedures (vm/procs/): one name per procedure ("#1 worker"); empty
    // when the program spawns none. The engines share `next_seq`, and tag
    // their records with `procedure`, the one running now.
    std::vector<std::string> procedures;
    std::vector<ProcedureSpan> procedure_spans;
    std::vector<MessageRecord> messages;
    std::uint32_t procedure = 0;
    std::uint64_t next_seq = 0;
    bool origin_set = false;
};

}  // namespace polymer
