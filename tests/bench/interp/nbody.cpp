#include <cmath>
#include <cstdint>
#include <cstdio>
// Same simulation and operation order as nbody.pasm (see its header). The
// vector ops are plain loops over the bodies. Built without -march, so no
// fused multiply-add: a * b + c is rounded twice, like nbody.pasm's vmul
// then vadd.
int main() {
    constexpr int N = 16;
    volatile int steps_v = 30000;  // keep the loop from being folded
    const int steps = steps_v;
    const double dt = 0.001, eps = 0.01;
    double px[N], py[N], pz[N], vx[N], vy[N], vz[N], ax[N], ay[N], az[N], m[N];
    for (int i = 0; i < N; ++i) {
        px[i] = static_cast<double>(i % 4);
        py[i] = static_cast<double>(i / 4);
        pz[i] = static_cast<double>(i % 3) * 0.5;
        m[i] = static_cast<double>(i % 3) * 0.5 + 1.0;
        vy[i] = static_cast<double>(i % 3 - 1) * 0.05;
        vx[i] = static_cast<double>(i % 5 - 2) * 0.05;
        vz[i] = static_cast<double>(i % 7 - 3) * 0.02;
    }
    for (int step = 0; step < steps; ++step) {
        for (int i = 0; i < N; ++i) ax[i] = ay[i] = az[i] = 0.0;
        for (int i = 0; i < N; ++i) {
            const double xi = px[i], yi = py[i], zi = pz[i], mi = m[i];
            double axi = ax[i], ayi = ay[i], azi = az[i];
            for (int j = i + 1; j < N; ++j) {
                const double dx = px[j] - xi;
                const double dy = py[j] - yi;
                const double dz = pz[j] - zi;
                const double d2 = dx * dx + dy * dy + dz * dz + eps;
                const double inv3 = 1.0 / (d2 * std::sqrt(d2));
                const double si = m[j] * inv3;
                const double sj = mi * inv3;
                axi = axi + dx * si;
                ayi = ayi + dy * si;
                azi = azi + dz * si;
                ax[j] = ax[j] - dx * sj;
                ay[j] = ay[j] - dy * sj;
                az[j] = az[j] - dz * sj;
            }
            ax[i] = axi;
            ay[i] = ayi;
            az[i] = azi;
        }
        for (int i = 0; i < N; ++i) vx[i] = ax[i] * dt + vx[i];
        for (int i = 0; i < N; ++i) vy[i] = ay[i] * dt + vy[i];
        for (int i = 0; i < N; ++i) vz[i] = az[i] * dt + vz[i];
        for (int i = 0; i < N; ++i) px[i] = vx[i] * dt + px[i];
        for (int i = 0; i < N; ++i) py[i] = vy[i] * dt + py[i];
        for (int i = 0; i < N; ++i) pz[i] = vz[i] * dt + pz[i];
        double e = 0.0;
        for (int i = 0; i < N; ++i) {
            double k = vx[i] * vx[i];
            k = vy[i] * vy[i] + k;
            k = vz[i] * vz[i] + k;
            e = e + k * m[i];
        }
        if (e > 1e30) {
            std::printf("-1\n");
            return 0;
        }
    }
    double s = 0.0;
    for (int i = 0; i < N; ++i) {
        s = s + px[i]; s = s + py[i]; s = s + pz[i];
        s = s + vx[i]; s = s + vy[i]; s = s + vz[i];
    }
    std::printf("%lld\n", static_cast<long long>(s * 1e6));
}
