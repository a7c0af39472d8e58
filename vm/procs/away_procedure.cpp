// The node's side of a procedure spawned away from the home (vm/procs/away.h).
#include "vm/procs/away.h"

namespace polymer {

struct AwayProcedure::State {};

Result<std::unique_ptr<AwayProcedure>> AwayProcedure::create(const Module&, AwayStart, Backend*,
                                                             std::function<void(AwayEvent)>) {
    return Error{"procedures on nodes are being built (vm/procs/away_procedure.cpp)"};
}

AwayProcedure::AwayProcedure(std::unique_ptr<State> state) : state_(std::move(state)) {}
AwayProcedure::~AwayProcedure() = default;
void AwayProcedure::run() {}
void AwayProcedure::answer(AwayAnswer) {}
void AwayProcedure::stop(const std::string&) {}

}  // namespace polymer
