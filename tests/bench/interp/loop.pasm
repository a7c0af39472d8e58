; Benchmark: sum of (i*i) mod 7 for 0 <= i < 90,000,000 = 180000001.
; Five instructions per iteration.
.module loop

.proc main
        li      r1, 0               ; i
        li      r2, 0               ; sum
        li      r7, 7
        li      r9, 90000000
loop:
        mul     r3, r1, r1
        rem     r3, r3, r7
        add     r2, r2, r3
        addi    r1, r1, 1
        blt     r1, r9, loop
        print   r2
        println
        halt
.end
