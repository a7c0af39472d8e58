#include "mode_runner.h"

#include <bit>
#include <cstring>

namespace polymer::test {

Outcome run_mode(const Module& m, const std::string& proc, ExecMode mode, std::uint32_t rob, Backend* backend,
                 bool hand_off, std::uint64_t max_steps, const ProgramInputs* inputs, ProcedureNodes* nodes) {
    Outcome o;
    OutputBuffer out(&o.output);
    InputStream input(inputs ? inputs->input : std::string());
    MachineOptions options;
    if (inputs) options.args = inputs->args;
    options.input = &input;
    options.exec = mode;
    options.rob_size = rob;
    options.max_steps = max_steps;
    options.backend = backend;
    options.interpret_when_idle = hand_off;
    options.procedure_nodes = nodes;
    auto machine = Machine::create(m, out, options);
    if (!machine.ok()) {
        o.output = "(the machine could not be made: " + machine.error() + ")";
        return o;
    }
    Machine& vm = *machine.value();
    RunResult result = vm.run(*vm.find_proc(proc));
    out.flush();
    o.status = result.status;
    o.trap = result.trap;
    o.steps = result.steps;
    o.stats = vm.engine_stats();
    for (unsigned i = 0; i < kIntRegisters; ++i) o.registers.push_back(static_cast<std::uint64_t>(vm.int_reg(i)));
    for (unsigned i = 0; i < kFloatRegisters; ++i) o.registers.push_back(std::bit_cast<std::uint64_t>(vm.float_reg(i)));
    for (std::size_t g = 0; g < vm.regions().size(); ++g) {
        const Region& r = vm.regions()[g];
        std::vector<std::byte> bytes(r.bytes());
        if (!bytes.empty()) std::memcpy(bytes.data(), r.data, bytes.size());
        o.regions.push_back(std::move(bytes));
    }
    return o;
}

std::string difference(const Outcome& ref, const Outcome& got) {
    auto trap_text = [](const Outcome& o) {
        return o.trap ? std::string(trap_name(o.trap->kind)) + " at " + std::to_string(o.trap->pc) + " (" +
                            o.trap->detail + ")"
                      : std::string("none");
    };
    const bool trap_same = ref.trap.has_value() == got.trap.has_value() &&
                           (!ref.trap || (ref.trap->kind == got.trap->kind && ref.trap->pc == got.trap->pc &&
                                          ref.trap->detail == got.trap->detail));
    std::string d;
    if (ref.output != got.output) d += "output differs; ";
    if (ref.status != got.status) d += "status differs; ";
    if (!trap_same) d += "trap " + trap_text(ref) + " vs " + trap_text(got) + "; ";
    if (ref.steps != got.steps) d += "steps " + std::to_string(ref.steps) + " vs " + std::to_string(got.steps) + "; ";
    if (ref.registers != got.registers) d += "registers differ; ";
    if (ref.regions != got.regions) d += "regions differ; ";
    if (!d.empty()) d += "\nreference output:\n" + ref.output + "\nthis mode's output:\n" + got.output;
    return d;
}

}  // namespace polymer::test
