; saxpy as a user writes it: a scalar loop, y[i] := a*x[i] + y[i] over 32M
; floats. The assembler makes a kernel of the loop (docs/loop-kernels.md).
; loops_bench runs it with --no-loop-kernels, with the default, and next to
; saxpy-kernel.pasm, the same work as a hand-written kernel.
.module saxpy

.equ N, 33554432                    ; smoke: 5000

.region xs f32[N] range 0, 0.25
.region ys f32[N] range 1, 0.5

.proc main
        lif     f1, 2.0             ; a
        li      r1, 0
        li      r2, N
loop:   bge     r1, r2, done
        ld.f32  f2, xs[r1]
        ld.f32  f3, ys[r1]
        fmul    f2, f2, f1
        fadd    f3, f3, f2
        st.f32  ys[r1], f3
        addi    r1, r1, 1
        jmp     loop
done:   li      r3, 0
        li      r4, 4
        printr  ys, r3, r4
        addi    r3, r2, -4
        printr  ys, r3, r4
        println
        halt
.end
