; Benchmark: recursive fib(32) = 2178309. Call-heavy: 7,049,155 calls.
.module fib

.proc fib                       ; r1 = n -> r1 = fib(n)
        li      r8, 2
        blt     r1, r8, small
        push    r16
        push    r17
        mov     r16, r1
        addi    r1, r16, -1
        call    fib
        mov     r17, r1
        addi    r1, r16, -2
        call    fib
        add     r1, r1, r17
        pop     r17
        pop     r16
small:
        ret
.end

.proc main
        li      r1, 32
        call    fib
        print   r1
        println
        halt
.end
