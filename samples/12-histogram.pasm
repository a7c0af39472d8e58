; Lesson 12: a histogram with atomic adds
;
; What this shows
;   Lanes run at the same time, so two lanes that add to the same counter
;   with an ordinary load/add/store can lose an update. `atadd` makes the
;   read-modify-write one atomic step: every lane's +1 is counted, on every
;   backend, whatever the order the lanes run in. The buffer it adds to must
;   be `inout`. Integer results are exact, so both backends print the same.
;   The data: value v = (gid * 7 + 3) rem 10 for 1000 lanes, so each of the
;   10 bins gets exactly 100. viota fills the input with 0, 1, 2, ... first.
;
; New instructions
;   ld r1, x[r0]           (kernel) load an i32 buffer element
;   li / mul / add / rem   (kernel) 32-bit integer arithmetic
;   atadd hist[r2], r1     (kernel) atomically hist[r2] += r1
;   ldp r2, k              (kernel) read an i32 uniform
;
; Try next
;   Replace `atadd hist[r2], r4` with ld / add / st on the same element and
;   run with `--backend vulkan` a few times: the counts can come out short.
;   Change the number of bins (r3) to 7 and predict the counts.

.module histogram

.region xs   i32[1000]
.region hist i32[10]

.kernel histogram (in x: i32[i], inout hist: i32[], bins: i32)
        gid     r0
        ld      r1, x[r0]
        li      r5, 7
        mul     r1, r1, r5
        li      r5, 3
        add     r1, r1, r5      ; v = x * 7 + 3
        ldp     r3, bins
        rem     r2, r1, r3      ; its bin
        li      r4, 1
        atadd   hist[r2], r4
.end

.proc main
        viota   xs              ; xs[i] := i
        li      r1, 1000        ; lanes
        li      r3, 10          ; bins
        launch  histogram, r1, xs, hist, r3
        li      r5, 0
        prints  "counts = "
        printr  hist, r5, r3
        println
        vsumi   r6, hist
        prints  "total  = "
        print   r6
        println
        halt
.end
