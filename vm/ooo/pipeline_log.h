// The life of each instruction in the reorder buffer, recorded by the engine
// when a trace is asked for (--trace, --pipeview) and written out afterwards
// by chrome_trace.cpp and kanata_log.cpp. Times are nanoseconds since the run
// started (steady clock).
#pragma once

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
    std::uint64_t retire_ns = 0;   // commit or squash
    bool squashed = false;
    bool speculative = false;      // issued under an unresolved predicted branch
    bool long_op = false;          // ran on a backend
    std::uint32_t track = 0;       // long ops: index into PipelineLog::tracks
    std::vector<std::uint64_t> deps;  // seqs of the producers it waited for
};

struct PipelineLog {
    // Past this many records the engine stops recording (the counts in
    // --stats still cover the whole run); the writers say so.
    std::size_t limit = 1'000'000;
    bool truncated = false;
    std::vector<InsnRecord> records;
    std::vector<std::string> tracks;  // backend track names, e.g. "cpu", "vulkan"
};

}  // namespace polymer
