// Every tool's main runs its body through guarded_main: an exception that
// escapes (a bug, or a library throwing where nobody expected it) ends the
// tool with one clear line and a status, never with std::terminate's abort
// and core dump. Expected failures are still reported where they happen.
#pragma once

#include <cstdio>
#include <exception>
#include <new>

namespace polymer::tools {

// Exit status for an error the tool did not expect (sysexits' EX_SOFTWARE).
inline constexpr int kInternalError = 70;

template <class Body>
int guarded_main(const char* tool, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "%s: error: out of memory\n", tool);
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s (please report it)\n", tool, e.what());
        return kInternalError;
    } catch (...) {
        std::fprintf(stderr, "%s: internal error: an unknown exception (please report it)\n", tool);
        return kInternalError;
    }
}

}  // namespace polymer::tools
