// Every tool's main runs its body through guarded_main: an exception that
// escapes (a bug, or a library throwing where nobody expected it) ends the
// tool with one clear line and a status, never with std::terminate's abort
// and core dump. Expected failures are still reported where they happen.
#pragma once

#include <cstdio>
#include <exception>
#include <new>

#include "src/tools/exit_status.h"

namespace polymer::tools {

template <class Body>
int guarded_main(const char* tool, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "%s: error: out of memory\n", tool);
        return kExitFailure;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s (please report it)\n", tool, e.what());
        return kExitInternal;
    } catch (...) {
        std::fprintf(stderr, "%s: internal error: an unknown exception (please report it)\n", tool);
        return kExitInternal;
    }
}

}  // namespace polymer::tools
