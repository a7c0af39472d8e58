// Every tool's exit statuses, in one place; docs/development.md ("Exit
// statuses") has the table per tool. Usage errors and internal errors take
// sysexits(3)'s numbers, so a script or a service manager can tell "called
// wrongly" (never worth a retry) from "the work failed".
#pragma once

namespace polymer::tools {

inline constexpr int kExitOk = 0;
// The work failed: an unreadable or invalid input file, assembly or verify
// errors, an output that cannot be written, a node that cannot start serving
// (token file, address, device).
inline constexpr int kExitFailure = 1;
inline constexpr int kExitTrap = 2;       // polymer-run: the program trapped, or its backend or cluster failed
inline constexpr int kExitStepLimit = 3;  // polymer-run: --max-steps or --kernel-steps stopped it ("too slow", not "crashed")
// EX_USAGE: an unknown option, a bad value, a missing argument, options that
// conflict, a config file that does not parse.
inline constexpr int kExitUsage = 64;
inline constexpr int kExitInternal = 70;      // EX_SOFTWARE: an exception nobody expected (a bug)
inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT, what a shell reports for a process Ctrl-C ended

}  // namespace polymer::tools
