#include <cstdint>
#include <cstdio>
int main() {
    volatile std::int64_t limit = 90000000;  // keep the loop from being folded
    std::int64_t n = limit, s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += (i * i) % 7;
    std::printf("%lld\n", static_cast<long long>(s));
}
