; An integer dot product as a user writes it: the sum of x[i]*y[i] over 32M
; i32 elements into a 64-bit register, a reduction (docs/loop-kernels.md).
.module dot_int

.equ N, 33554432                    ; smoke: 5000

.region xs i32[N] range 0, 1
.region ys i32[N] range 7, 3

.proc main
        li      r3, 0               ; the sum
        li      r1, 0
        li      r2, N
loop:   bge     r1, r2, done
        ld.i32  r4, xs[r1]
        ld.i32  r5, ys[r1]
        mul     r4, r4, r5
        add     r3, r3, r4
        addi    r1, r1, 1
        jmp     loop
done:   print   r3
        println
        halt
.end
