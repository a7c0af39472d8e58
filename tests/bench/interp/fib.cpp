#include <cstdint>
#include <cstdio>
// noinline keeps it a real recursive call, like the interpreted versions.
__attribute__((noinline)) static std::int64_t fib(std::int64_t n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
int main() {
    volatile std::int64_t n = 32;  // not a compile-time constant
    std::printf("%lld\n", static_cast<long long>(fib(n)));
}
