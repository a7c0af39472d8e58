// Runs one procedure of a module in one execution mode and keeps everything
// the mode invariant compares (docs/execution.md): output, how it stopped,
// the step count, every register and every region byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "isa/module.h"
#include "vm/machine.h"

namespace polymer::test {

struct Outcome {
    std::string output;
    RunStatus status = RunStatus::Halted;
    std::optional<Trap> trap;
    std::uint64_t steps = 0;
    std::vector<std::uint64_t> registers;  // int bits, then float bits
    std::vector<std::vector<std::byte>> regions;
    EngineStats stats;
};

// What the program reads: its arguments and its standard input.
struct ProgramInputs {
    std::vector<std::string> args;
    std::string input;
};

// `hand_off`: MachineOptions::interpret_when_idle (false drives every
// instruction through the ROB). `backend` null: the machine's own CpuBackend.
// `inputs` null: no arguments and an empty input. `nodes`: where spawn may
// place procedures besides the home (MachineOptions::procedure_nodes).
Outcome run_mode(const Module& m, const std::string& proc, ExecMode mode, std::uint32_t rob, Backend* backend,
                 bool hand_off = false, std::uint64_t max_steps = 20'000, const ProgramInputs* inputs = nullptr,
                 ProcedureNodes* nodes = nullptr);

// Empty when `got` matches `ref` in every respect; else what differs.
std::string difference(const Outcome& ref, const Outcome& got);

}  // namespace polymer::test
