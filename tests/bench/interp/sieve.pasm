; Benchmark: the number of primes <= 10,000,000 (664579), sieve of
; Eratosthenes over a u8 region.
.module sieve

.region composite u8[1]

.proc main
        li      r9, 10000000        ; N
        addi    r1, r9, 1
        alloc   composite, r1       ; flags for 0..N
        li      r2, 2               ; p
        li      r5, 1
outer:
        mul     r3, r2, r2
        blt     r9, r3, count       ; p*p > N: done
        ld.u8   r4, composite[r2]
        bnz     r4, next
mark:
        st.u8   composite[r3], r5
        add     r3, r3, r2
        bge     r9, r3, mark        ; while m <= N
next:
        addi    r2, r2, 1
        jmp     outer
count:
        li      r1, 0
        li      r2, 2
scan:
        ld.u8   r4, composite[r2]
        bnz     r4, skip
        addi    r1, r1, 1
skip:
        addi    r2, r2, 1
        bge     r9, r2, scan
        print   r1
        println
        halt
.end
