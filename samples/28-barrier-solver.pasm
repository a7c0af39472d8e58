; Lesson 28: an iterative solver whose procedures meet at a barrier
;
; What this shows
;   Heat along a rod of 34 points: the left end is held at 100 degrees, the
;   right end at 0, and each step every inner point becomes the mean of its
;   two neighbours (a Jacobi iteration). Four procedures (main and three it
;   spawns) each own 8 of the 32 inner points. A step has two halves: each
;   computes its points' new values from `u` into `v`, then copies them
;   back into `u`. A procedure's points read its neighbours' points, so no
;   one may start a half before everyone has finished the one before:
;   `barrier step` waits until all 4 parties (the count in `.barrier`) have
;   reached it, then lets them all go on.
;   The memory model (docs/language.md, "Procedures"): what a procedure
;   wrote before a barrier is seen by every party after it. Without the
;   barriers a procedure could read a neighbour's point from the wrong step,
;   and the answer would depend on the schedule; with them it is the same
;   in every execution mode and as one procedure doing it all.
;
; New instructions and directives
;   .barrier NAME PARTIES   a meeting point for PARTIES procedures
;   barrier NAME            wait there until all have arrived
;
; Try next
;   Change `.barrier step 4` to 5: the fifth party never comes, and the run
;   stops with a `deadlock` trap listing the four procedures waiting at
;   `step` ("4 of 5 arrived").

.module barrier-solver

.equ POINTS, 34
.equ STEPS, 500
.equ OWN, 8                     ; inner points per procedure

.region u f64[POINTS]
.region v f64[POINTS]

.barrier step 4

; Relaxes points [r2, r2 + OWN) for STEPS steps.
.proc relax
        li      r10, STEPS
        li      r11, 0          ; steps done
        lif     f9, 0.5
        addi    r3, r2, OWN     ; the end of its points
each:   mov     r4, r2
new:    addi    r5, r4, -1
        addi    r6, r4, 1
        ld.f64  f1, u[r5]
        ld.f64  f2, u[r6]
        fadd    f1, f1, f2
        fmul    f1, f1, f9
        st.f64  v[r4], f1
        addi    r4, r4, 1
        blt     r4, r3, new
        barrier step            ; every v is written
        mov     r4, r2
copy:   ld.f64  f1, v[r4]
        st.f64  u[r4], f1
        addi    r4, r4, 1
        blt     r4, r3, copy
        barrier step            ; every u is the new one
        addi    r11, r11, 1
        blt     r11, r10, each
        ret
.end

.proc main
        lif     f1, 100.0
        li      r1, 0
        st.f64  u[r1], f1       ; the hot end; the cold end stays 0
        li      r8, -1
        li      r2, 9
        spawn   r20, relax, r8  ; points 9 .. 16
        li      r2, 17
        spawn   r21, relax, r8  ; 17 .. 24
        li      r2, 25
        spawn   r22, relax, r8  ; 25 .. 32
        li      r2, 1
        call    relax           ; main is the fourth party: points 1 .. 8
        join    r1, f1, r20
        join    r1, f1, r21
        join    r1, f1, r22
        prints  "after 500 steps, every 3rd point:\n"
        li      r4, 0
        li      r5, POINTS
show:   ld.f64  f1, u[r4]
        printw  r4, 3
        prints  ": "
        printfd f1, 4
        println
        addi    r4, r4, 3
        blt     r4, r5, show
        halt
.end
