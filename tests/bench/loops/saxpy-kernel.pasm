; saxpy.pasm's work as a hand-written kernel. A narrow (binary32) kernel
; gives the scalar loop's answer here: a = 2 makes a*x exact, and one
; binary32 add rounds as a binary64 add rounded to binary32 does.
.module saxpy_kernel

.equ N, 33554432                    ; smoke: 5000

.region xs f32[N] range 0, 0.25
.region ys f32[N] range 1, 0.5

.kernel saxpy (in x: f32[i], inout y: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        fmul    f0, f0, f2
        fadd    f1, f1, f0
        stf     y[r0], f1
.end

.proc main
        lif     f1, 2.0
        li      r2, N
        launch  saxpy, r2, xs, ys, f1
        li      r3, 0
        li      r4, 4
        printr  ys, r3, r4
        addi    r3, r2, -4
        printr  ys, r3, r4
        println
        halt
.end
