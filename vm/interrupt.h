// A request to stop the run (Ctrl-C): one process-wide flag that a signal
// handler may set (a lock-free atomic store is async-signal-safe) and that
// everything long-running polls: the interpreter and the reorder engine
// where they check the step limit, the CPU kernel executor at every loop
// iteration of a block, the Vulkan backend while it waits for a dispatch
// (which it then tells to stop through the launch's status buffer), the
// cluster's home while it waits for nodes. The run then stops with an
// `interrupted` trap (docs/kernels.md, "When a kernel traps").
#pragma once

#include <atomic>

namespace polymer {

namespace detail {
inline std::atomic<bool> g_interrupt{false};
static_assert(std::atomic<bool>::is_always_lock_free);
}  // namespace detail

inline void request_interrupt() noexcept { detail::g_interrupt.store(true, std::memory_order_relaxed); }
inline void clear_interrupt() noexcept { detail::g_interrupt.store(false, std::memory_order_relaxed); }
inline bool interrupt_requested() noexcept { return detail::g_interrupt.load(std::memory_order_relaxed); }

}  // namespace polymer
