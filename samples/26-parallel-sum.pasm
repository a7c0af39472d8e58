; Lesson 26: a parallel reduction with spawn and join
;
; What this shows
;   Main fills a region, then spawns four workers. Each worker starts with a
;   copy of main's registers as they were at its `spawn`, so the range it
;   sums ([r2, r3)) and its number (r5) are passed in registers, the way
;   `call` passes arguments, but each worker keeps its own copy. Every
;   procedure shares the module's regions: the workers read `xs`, and each
;   writes its partial sum to its own element of `partials` and leaves it in
;   r1 too. `join` hands back a worker's r1 (and f1).
;   The memory model (docs/language.md, "Procedures"): what a procedure
;   wrote before `spawn` is seen by the procedure it starts; what a
;   procedure wrote before it ended is seen after `join` returns. So main
;   may read `partials` once it has joined every worker, and the two ways of
;   adding the partials agree.
;   Integer sums wrap and do not depend on the order of the additions, so
;   the total is the same however the workers are scheduled.
;
; New instructions
;   none beyond lesson 25; handles are plain integers, so this program keeps
;   them in a region to join them in a loop.
;
; Try next
;   Join a handle twice: the second `join` traps `bad-procedure` ("procedure
;   #2 was joined already"). Put a `div r6, r6, r0` in the worker: the trap
;   names the procedure, who spawned it and where, and its source line.

.module parallel-sum

.equ N, 100000
.equ WORKERS, 4
.equ SLICE, 25000               ; N / WORKERS

.region xs i64[N]
.region partials i64[WORKERS]
.region handles i64[WORKERS]

; Sums xs[r2 .. r3) into r1 and partials[r5].
.proc worker
        li      r1, 0
        mov     r4, r2
loop:   ld.i64  r6, xs[r4]
        add     r1, r1, r6
        addi    r4, r4, 1
        blt     r4, r3, loop
        st.i64  partials[r5], r1
        ret
.end

.proc main
        viota   xs              ; xs[i] = i
        li      r8, -1          ; anywhere
        li      r7, SLICE
        li      r11, WORKERS
        li      r2, 0           ; this worker's first element
        li      r5, 0           ; this worker's number
start:  add     r3, r2, r7      ; its end
        spawn   r12, worker, r8
        st.i64  handles[r5], r12
        mov     r2, r3
        addi    r5, r5, 1
        blt     r5, r11, start

        li      r5, 0
        li      r20, 0
gather: ld.i64  r12, handles[r5]
        join    r1, f1, r12     ; waits for worker r5; r1 = its sum
        add     r20, r20, r1
        addi    r5, r5, 1
        blt     r5, r11, gather

        prints  "partial sums: "
        li      r0, 0
        printr  partials, r0, r11
        println
        prints  "sum of 0 .. 99999 from the joins:    "
        print   r20
        println
        vsumi   r21, partials
        prints  "sum of the partials in the region:   "
        print   r21
        println
        vsumi   r22, xs
        prints  "sum by one vsumi, for comparison:    "
        print   r22
        println
        halt
.end
