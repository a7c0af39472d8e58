// Loops of launches (docs/execution.md, "Loops of launches"): in order, a
// loop whose body is nothing but `launch` words, a step of its counter and
// the branch back,
//
//     again:  launch  axpy, r9, x, y, r3
//             addi    r10, r10, 1
//             blt     r10, r11, again
//
// runs as rounds of one Backend::run_rounds call when the backend takes them:
// every launch is the same in every round (only the counter changes, and no
// launch reads it), so the VM builds them once, and the backend runs the
// rounds its own way (the cluster each node's slices through every round,
// one message for all of them). What the program sees is what the loop run
// word by word leaves: the counter's last value, the steps, the launches
// counted, and, when launch j of round k faults, the trap at that launch with
// the counter as it was then.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/module.h"
#include "vm/decoded_insn.h"
#include "vm/insns.h"
#include "vm/kernel_launch.h"

namespace polymer {

class Machine;

struct LaunchLoop {
    std::uint32_t head = 0;      // the first launch word; the loop's branch goes back to it
    std::uint32_t launches = 0;  // the launch words at [head, head + launches)
    std::uint8_t counter = 0;    // R[counter] += step after the launches
    std::uint8_t bound = 0;      // the branch compares the counter with R[bound]
    std::int64_t step = 0;
    LoopCompare compare = LoopCompare::Lt;  // the branch is taken while compare(counter, bound)
    bool declined = false;  // the backend would not take its rounds: it runs word by word from then on
};

// What --stats says of them: loops run as rounds (each time one ran), the
// rounds and launches those ran, and loops a backend declined.
struct LaunchRoundStats {
    std::uint64_t loops = 0, rounds = 0, launches = 0;
    std::uint64_t declined = 0;
};
// "1 loop ran as rounds on the backend (50 rounds, 50 launches); 0 declined"
std::string launch_round_stats_text(const LaunchRoundStats& s);

// Every loop of launches in `code` (the decoded module), by head, ascending.
// A launch that reads the counter or the bound (its lane count, a uniform, a
// handle operand) keeps its loop out.
std::vector<LaunchLoop> find_launch_loops(const Module& m, const std::vector<DecodedInsn>& code);

// Runs the loop `loop` from its head, the machine's pc, with R as it is, as
// rounds on the backend; `steps` counts the head's launch already. Returns
// false (nothing done) when the loop runs fewer than two rounds from here, or
// its counter would wrap, or a launch's operands are refused (the word by
// word run then reports it where it happens), or the backend declines (the
// loop is then marked `declined`). Else true with the machine's registers,
// steps (via `steps`), launch count and pc as the loop leaves them, or, on a
// fault, as they were at the faulting launch, whose trap is in
// m.raised_trap() and `trapped` set.
bool run_launch_rounds(Machine& m, LaunchLoop& loop, std::uint64_t& steps, bool& trapped);

// Whether the rounds of `body` may run a piece of lanes at a time (every
// round of a piece, then the next piece: a cluster's claims) and still read
// what the rounds before wrote: every launch covers the same lanes and folds
// no groups, and a buffer that any launch writes is passed only element-wise
// ([i]: lane i touches element i alone), so a lane's elements are its own in
// every round. A window or broadcast read of a buffer written in the body,
// a lane range that differs: no.
bool rounds_run_by_pieces(std::span<const KernelLaunch> body);

// Bytes of element-wise buffers a lane of `body` touches, each buffer once.
std::uint64_t element_bytes_per_lane(std::span<const KernelLaunch> body);

}  // namespace polymer
