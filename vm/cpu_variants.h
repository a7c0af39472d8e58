// POLYMER_CPU_VARIANTS: on x86-64 with GCC a function marked with it is built
// twice, for the baseline and for x86-64-v3 (AVX2, FMA), and the loader picks
// the one the CPU runs: std::fma is then one vfmadd per 8 lanes instead of a
// call to fmaf per element, with the same, once-rounded result. Not under
// ThreadSanitizer, whose runtime is not up yet when the loader calls the
// resolver that picks one (the process dies before main).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define POLYMER_CPU_VARIANTS __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define POLYMER_CPU_VARIANTS
#endif
