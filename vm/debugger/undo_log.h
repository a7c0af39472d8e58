// The debugger's history for `backstep`: one entry per instruction run (or
// `set` typed), holding what that step overwrote, newest last. Bounded two
// ways: a number of steps (default 10,000; at least 2,000 is promised) and a
// number of bytes of region snapshots (default 64 MiB), oldest entries
// dropped first.
//
// What a step overwrites, and so what its entry keeps:
// Each is reported by the machine's write path (vm/machine_context.h) through
// a StateObserver, in order and out of order alike.
//   register write          the old value
//   st.T                    the old bytes of that one element
//   call / push / pushf     the stack slot it overwrites
//   vector op, launch,      a snapshot of every region the instruction writes
//   alloc, free             (the opcode table's write set; for a launch, the
//                           kernel's out/inout buffers): length and bytes
//   every step              pc, step count, call and value stack depths
// Output is not undone: what was printed stays printed, and the entry says
// the step printed so the debugger can tell the user. Nor is input: a line
// or word read from stdin stays read, and the entry says so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "vm/machine.h"

namespace polymer::debugger {

struct RegionSnapshot {
    std::uint32_t region = 0;
    std::uint64_t length = 0;  // elements
    std::vector<std::uint8_t> bytes;
};

struct UndoEntry {
    bool is_set = false;   // a `set` command, not an instruction
    bool printed = false;  // the step wrote program output
    bool read_input = false;  // the step read program input (not given back either)
    std::uint32_t pc = 0;
    std::uint64_t steps = 0;
    std::uint32_t call_depth = 0, value_depth = 0;

    struct RegisterWrite {
        bool is_float = false;
        std::uint8_t index = 0;
        std::uint64_t bits = 0;  // the old value
    };
    std::uint8_t register_writes = 0;
    RegisterWrite registers[2];

    bool has_call_slot = false;
    std::uint32_t call_slot = 0, call_slot_pc = 0;
    bool has_value_slot = false;
    std::uint32_t value_slot = 0;
    std::uint64_t value_slot_bits = 0;

    bool has_element = false;
    std::uint32_t element_region = 0;
    std::uint64_t element_offset = 0;  // bytes
    std::uint8_t element_size = 0;
    std::uint8_t element_bytes[8] = {};

    std::vector<RegionSnapshot> snapshots;
    std::uint64_t snapshot_bytes() const;
};

class UndoLog {
public:
    UndoLog(std::size_t max_steps, std::uint64_t max_snapshot_bytes)
        : max_steps_(max_steps), max_snapshot_bytes_(max_snapshot_bytes) {}

    // A new entry for the step about to run at the machine's current state.
    UndoEntry& begin(const Machine& m);
    void drop_last() {
        if (!entries_.empty()) {
            snapshot_bytes_ -= entries_.back().snapshot_bytes();
            entries_.pop_back();
        }
    }
    UndoEntry* last() { return entries_.empty() ? nullptr : &entries_.back(); }

    // Adds a snapshot of region `r` to the last entry. A snapshot bigger than
    // the whole byte budget cannot be kept: the history is cleared, the last
    // entry included (nothing up to this step can be undone), and false
    // returned; the caller must then stop filling that entry.
    bool snapshot_region(const Machine& m, std::uint32_t r);
    // The same for contents the caller kept (the reorder engine's copy of a
    // region before an out-of-order long op wrote it).
    bool add_snapshot(std::uint32_t r, std::uint64_t length, const std::vector<std::byte>& bytes);

    // Undoes the newest entry on `m` and removes it. Returns it (for the
    // caller's report); the log must not be empty.
    UndoEntry undo_last(Machine& m);

    void clear();
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    std::size_t max_steps() const { return max_steps_; }
    void set_max_steps(std::size_t n);
    std::uint64_t max_snapshot_bytes() const { return max_snapshot_bytes_; }
    std::uint64_t snapshot_bytes() const { return snapshot_bytes_; }
    // True when steps were dropped (by the bounds or an oversized snapshot)
    // since the last clear(): backstep can not reach the start.
    bool truncated() const { return truncated_; }

private:
    void evict_oldest();

    std::deque<UndoEntry> entries_;
    std::size_t max_steps_;
    std::uint64_t max_snapshot_bytes_;
    std::uint64_t snapshot_bytes_ = 0;
    bool truncated_ = false;
};

}  // namespace polymer::debugger
