; Benchmark: one small vector op, then a long scalar loop. The vector part
; adds two 4-element i64 regions and sums the result (vadd + vsumi: 110);
; the scalar part is loop.pasm's loop, shortened: the sum of (i*i) mod 7 for
; 0 <= i < 30,000,000 (59999997), five instructions per iteration. It prints
; sum * 1000 + 110 = 59999997110.
; The vsumi result is only read after the loop, so an out-of-order engine has
; a long operation in flight (or just finished) while the loop starts: this
; program measures what the scalar loop costs in each --exec mode once a
; vector op has been seen, against plain in-order interpretation.
.module vecloop

.region a i64[] = 1, 2, 3, 4
.region b i64[] = 10, 20, 30, 40
.region c i64[4]

.proc main
        vadd    c, a, b             ; 11, 22, 33, 44
        vsumi   r10, c              ; 110
        li      r1, 0               ; i
        li      r2, 0               ; sum
        li      r7, 7
        li      r9, 30000000
loop:
        mul     r3, r1, r1
        rem     r3, r3, r7
        add     r2, r2, r3
        addi    r1, r1, 1
        blt     r1, r9, loop
        muli    r2, r2, 1000
        add     r2, r2, r10         ; the vector op's result, read only now
        print   r2
        println
        halt
.end
