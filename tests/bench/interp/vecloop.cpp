#include <cstdint>
#include <cstdio>
// Same computation as vecloop.pasm: the "vector op" is a loop over 4 elements.
int main() {
    volatile std::int64_t limit = 30000000;  // keep the loop from being folded
    const std::int64_t a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40};
    std::int64_t c[4];
    for (int k = 0; k < 4; ++k) c[k] = a[k] + b[k];
    std::int64_t v = 0;
    for (int k = 0; k < 4; ++k) v += c[k];
    std::int64_t n = limit, s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += (i * i) % 7;
    std::printf("%lld\n", static_cast<long long>(s * 1000 + v));
}
