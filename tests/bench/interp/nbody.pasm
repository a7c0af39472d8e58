; Benchmark: an n-body simulation, vector ops mixed with scalar code.
; 16 bodies, binary64 throughout, in f64 regions (so every vector op runs on
; the CPU backend, exactly). Initial state, for body i in 0..15:
;   px = i mod 4, py = i / 4, pz = (i mod 3) * 0.5,
;   vx = (i mod 5 - 2) * 0.05, vy = (i mod 3 - 1) * 0.05,
;   vz = (i mod 7 - 3) * 0.02, m = (i mod 3) * 0.5 + 1.
; Each of STEPS = 30,000 time steps (dt = 0.001, softening eps = 0.01):
;   1. vfillf ax, ay, az with 0                              (3 vector ops)
;   2. scalar loop over the 120 pairs i < j (ld.f64/st.f64, fsqrt, fdiv):
;        dx = px[j] - px[i] (dy, dz likewise)
;        d2 = dx*dx + dy*dy + dz*dz + eps   (left to right)
;        inv3 = 1 / (d2 * sqrt(d2))
;        a[i] += d * (m[j] * inv3); a[j] -= d * (m[i] * inv3)  (per axis)
;      a[i] is kept in registers while j runs, a[j] is loaded and stored.
;   3. v = a * dt + v, then p = v * dt + p, per axis, each as vmul then
;      vadd                                                 (12 vector ops)
;   4. kinetic energy: k = vx*vx, k = vy*vy + k, k = vz*vz + k, E = vdot(k, m)
;      (6 vector ops), and a blow-up guard `E > 1e30` (never true) whose
;      branch waits for the reduction.
; The product is rounded before the sum, like `a * b + c` in Lua and in C++
; built without -march: vfma would round once (a fused multiply-add, on
; every backend) and print another checksum.
; The printed checksum is trunc(1e6 * s), s the sum, in body order, of
; px, py, pz, vx, vy, vz of every body, read with scalar loads: the order in
; which vdot adds its terms (blocked, several lanes) is not part of the
; result, so Lua and C++ need not mirror it. It prints 29557440, after
; 144,300,695 instructions (about 4,800 a step) and 630,000 vector ops.
.module nbody

.region px  f64[16]
.region py  f64[16]
.region pz  f64[16]
.region vx  f64[16]
.region vy  f64[16]
.region vz  f64[16]
.region ax  f64[16]
.region ay  f64[16]
.region az  f64[16]
.region m   f64[16]
.region dts f64[16] fill 0.001      ; dt, as a region for vmul
.region k   f64[16]                 ; scratch: |v|^2 per body
.region t   f64[16]                 ; scratch: a product

.proc main
        len     r20, px             ; N
        li      r21, 30000          ; STEPS
        lif     f20, 0.5
        lif     f21, 0.05
        lif     f22, 0.01           ; eps
        lif     f23, 1.0
        lif     f24, 0.0
        lif     f25, 0.02
        lif     f26, 1e30           ; blow-up guard
        li      r11, 3
        li      r12, 4
        li      r13, 5
        li      r14, 7

        li      r1, 0               ; initial state
init:
        rem     r2, r1, r12
        itof    f1, r2
        st.f64  px[r1], f1
        div     r2, r1, r12
        itof    f1, r2
        st.f64  py[r1], f1
        rem     r2, r1, r11
        itof    f1, r2
        fmul    f2, f1, f20
        st.f64  pz[r1], f2
        fadd    f2, f2, f23
        st.f64  m[r1], f2
        addi    r2, r2, -1
        itof    f1, r2
        fmul    f1, f1, f21
        st.f64  vy[r1], f1
        rem     r2, r1, r13
        addi    r2, r2, -2
        itof    f1, r2
        fmul    f1, f1, f21
        st.f64  vx[r1], f1
        rem     r2, r1, r14
        addi    r2, r2, -3
        itof    f1, r2
        fmul    f1, f1, f25
        st.f64  vz[r1], f1
        addi    r1, r1, 1
        blt     r1, r20, init

        li      r22, 0              ; step
step:
        vfillf  ax, f24
        vfillf  ay, f24
        vfillf  az, f24

        li      r1, 0               ; i
iloop:
        ld.f64  f1, px[r1]
        ld.f64  f2, py[r1]
        ld.f64  f3, pz[r1]
        ld.f64  f4, ax[r1]
        ld.f64  f5, ay[r1]
        ld.f64  f6, az[r1]
        ld.f64  f7, m[r1]
        addi    r2, r1, 1           ; j
        bge     r2, r20, istore
jloop:
        ld.f64  f8, px[r2]
        fsub    f8, f8, f1          ; dx
        ld.f64  f9, py[r2]
        fsub    f9, f9, f2          ; dy
        ld.f64  f10, pz[r2]
        fsub    f10, f10, f3        ; dz
        fmul    f11, f8, f8
        fmul    f12, f9, f9
        fadd    f11, f11, f12
        fmul    f12, f10, f10
        fadd    f11, f11, f12
        fadd    f11, f11, f22       ; d2
        fsqrt   f12, f11
        fmul    f12, f11, f12
        fdiv    f12, f23, f12       ; inv3
        ld.f64  f13, m[r2]
        fmul    f13, f13, f12       ; si = m[j] * inv3
        fmul    f14, f7, f12        ; sj = m[i] * inv3
        fmul    f15, f8, f13
        fadd    f4, f4, f15
        fmul    f15, f9, f13
        fadd    f5, f5, f15
        fmul    f15, f10, f13
        fadd    f6, f6, f15
        ld.f64  f15, ax[r2]
        fmul    f16, f8, f14
        fsub    f15, f15, f16
        st.f64  ax[r2], f15
        ld.f64  f15, ay[r2]
        fmul    f16, f9, f14
        fsub    f15, f15, f16
        st.f64  ay[r2], f15
        ld.f64  f15, az[r2]
        fmul    f16, f10, f14
        fsub    f15, f15, f16
        st.f64  az[r2], f15
        addi    r2, r2, 1
        blt     r2, r20, jloop
istore:
        st.f64  ax[r1], f4
        st.f64  ay[r1], f5
        st.f64  az[r1], f6
        addi    r1, r1, 1
        blt     r1, r20, iloop

        vmul    t, ax, dts
        vadd    vx, t, vx
        vmul    t, ay, dts
        vadd    vy, t, vy
        vmul    t, az, dts
        vadd    vz, t, vz
        vmul    t, vx, dts
        vadd    px, t, px
        vmul    t, vy, dts
        vadd    py, t, py
        vmul    t, vz, dts
        vadd    pz, t, pz

        vmul    k, vx, vx
        vmul    t, vy, vy
        vadd    k, t, k
        vmul    t, vz, vz
        vadd    k, t, k
        vdot    f27, k, m           ; 2 * kinetic energy
        flt     r5, f26, f27
        bnz     r5, blowup

        addi    r22, r22, 1
        blt     r22, r21, step

        lif     f1, 0.0             ; checksum, from scalar loads
        li      r1, 0
sum:
        ld.f64  f2, px[r1]
        fadd    f1, f1, f2
        ld.f64  f2, py[r1]
        fadd    f1, f1, f2
        ld.f64  f2, pz[r1]
        fadd    f1, f1, f2
        ld.f64  f2, vx[r1]
        fadd    f1, f1, f2
        ld.f64  f2, vy[r1]
        fadd    f1, f1, f2
        ld.f64  f2, vz[r1]
        fadd    f1, f1, f2
        addi    r1, r1, 1
        blt     r1, r20, sum
        lif     f2, 1e6
        fmul    f1, f1, f2
        ftoi    r1, f1
        print   r1
        println
        halt
blowup:
        li      r1, -1
        print   r1
        println
        halt
.end
