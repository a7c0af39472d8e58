#include <cstdint>
#include <cstdio>
#include <vector>
int main() {
    volatile std::int64_t limit = 10000000;
    const std::int64_t n = limit;
    std::vector<std::uint8_t> composite(n + 1, 0);
    for (std::int64_t p = 2; p * p <= n; ++p)
        if (!composite[p])
            for (std::int64_t m = p * p; m <= n; m += p) composite[m] = 1;
    std::int64_t count = 0;
    for (std::int64_t i = 2; i <= n; ++i) count += composite[i] == 0;
    std::printf("%lld\n", static_cast<long long>(count));
}
