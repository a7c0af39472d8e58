; A binary64 dot product as a user writes it, in a procedure that allows
; its float reduction to be reassociated (`.reassociate`,
; docs/loop-kernels.md). The values keep every partial sum exact, so any
; order of the adds gives the scalar loop's answer.
.module dot_f64

.equ N, 33554432                    ; smoke: 5000

.region xs f64[N] range 0, 1
.region ys f64[N] fill 0.5

.proc main
        .reassociate
        lif     f3, 0.0             ; the sum
        li      r1, 0
        li      r2, N
loop:   bge     r1, r2, done
        ld.f64  f4, xs[r1]
        ld.f64  f5, ys[r1]
        fmul    f4, f4, f5
        fadd    f3, f3, f4
        addi    r1, r1, 1
        jmp     loop
done:   printf  f3
        println
        halt
.end
