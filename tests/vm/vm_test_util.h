// Helpers for the interpreter suites: assemble a source text, run its `main`
// and hand back the machine, the output and the trap.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "assembler/assembler.h"
#include "isa/verifier.h"
#include "vm/machine.h"

namespace polymer::test {

struct ProgramRun {
    std::unique_ptr<Module> module;
    std::unique_ptr<std::string> output = std::make_unique<std::string>();
    std::unique_ptr<OutputBuffer> out;
    std::unique_ptr<Machine> machine;
    RunResult result;

    bool halted() const { return result.status == RunStatus::Halted; }
    std::int64_t r(unsigned i) const { return machine->int_reg(i); }
    double f(unsigned i) const { return machine->float_reg(i); }
    TrapKind trap_kind() const { return result.trap ? result.trap->kind : TrapKind::Unsupported; }
};

// Assembles and verifies `source` (failing the test on any diagnostic), then
// runs `entry`. The output is flushed into run.output.
inline ProgramRun run_source(std::string_view source, MachineOptions options = {}, std::string_view entry = "main") {
    ProgramRun run;
    AssembleOptions ao;
    ao.filename = "test.pasm";
    AssembleResult assembled = assemble(source, ao);
    std::string diagnostics;
    for (const Diagnostic& d : assembled.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) diagnostics += format_diagnostic(d);
    EXPECT_TRUE(assembled.ok()) << diagnostics << "\nin:\n" << source;
    if (!assembled.ok()) return run;
    run.module = std::make_unique<Module>(std::move(*assembled.module));
    Result<Verified> verified = verify_module(*run.module);
    EXPECT_TRUE(verified.ok()) << (verified.ok() ? "" : verified.error()) << "\nin:\n" << source;
    run.out = std::make_unique<OutputBuffer>(run.output.get());
    auto machine = Machine::create(*run.module, *run.out, options);
    EXPECT_TRUE(machine.ok()) << (machine.ok() ? "" : machine.error());
    if (!machine.ok()) return run;
    run.machine = std::move(machine).value();
    std::optional<std::uint32_t> proc = run.machine->find_proc(entry);
    EXPECT_TRUE(proc.has_value()) << "no proc " << entry;
    if (!proc) return run;
    run.result = run.machine->run(*proc);
    run.out->flush();
    return run;
}

// Wraps instructions into `.proc main ... halt .end`.
inline std::string in_main(std::string_view body, std::string_view prelude = {}) {
    std::string s(prelude);
    s += "\n.proc main\n";
    s += body;
    s += "\n        halt\n.end\n";
    return s;
}

}  // namespace polymer::test
