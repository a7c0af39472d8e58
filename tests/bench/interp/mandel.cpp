#include <cstdint>
#include <cstdio>
// Same grid and operation order as mandel.pasm (see its header). Built
// without -march, so no fused multiply-add changes the rounding.
int main() {
    volatile int size = 600;
    const int n_size = size;
    std::int64_t sum = 0;
    for (int py = 0; py < n_size; ++py) {
        const double cy = -1.5 + 3.0 * py / 600.0;
        for (int px = 0; px < n_size; ++px) {
            const double cx = -2.0 + 3.0 * px / 600.0;
            double zx = 0.0, zy = 0.0;
            int n = 0;
            while (n < 100) {
                const double x2 = zx * zx, y2 = zy * zy;
                if (x2 + y2 > 4.0) break;
                const double t = zx * zy;
                zy = t + t + cy;
                zx = x2 - y2 + cx;
                ++n;
            }
            sum += n;
        }
    }
    std::printf("%lld\n", static_cast<long long>(sum));
}
