; Lesson 15: out-of-order and speculative execution
;
; What this shows
;   The same program, the same output, three run times:
;     polymer-run --backend cpu --stats --exec in-order samples/15-out-of-order.pasm
;     polymer-run --backend cpu --stats --exec ooo      samples/15-out-of-order.pasm
;     polymer-run --backend cpu --stats --exec spec     samples/15-out-of-order.pasm
;   Each `vmatmul` below multiplies two 512 x 512 matrices: a long
;   operation that the backend runs on one of its threads
;   (docs/execution.md). On the 2-core development VM, quiet, --stats says
;   about 85 ms in-order, 78 ms ooo and 56 ms spec: ooo overlaps the two
;   products of part 1, spec also overlaps the loop's products in part 2.
;   How much the time drops depends on free cores (or a GPU): on a busy
;   machine the three are closer (docs/benchmarks.md, "Out-of-order"), but
;   the trace below shows the overlap either way.
;
;   Part 1, two independent products. `in-order` waits for the first
;   product before it starts the second. `ooo` issues both into its reorder
;   buffer: neither reads what the other writes, so both are in flight at
;   once, on two backend threads, and part 1 takes one product's time.
;
;   Part 2, a loop whose exit depends on a reduction: keep multiplying until
;   the running total reaches a limit. The branch at the end of each half of
;   the loop needs `vsum`, so under `ooo` the reorder buffer stops issuing
;   there until the product and its sum are done: one product at a time
;   again. `spec` predicts the branch (a 2-bit counter: "the loop goes on")
;   and issues the next half at once; that half multiplies into the other
;   region (c1 vs c0), so its product runs beside the current one. The last
;   prediction is wrong (the loop does stop): the work issued past the exit
;   is squashed, its region writes undone, and nothing of it is printed.
;
; See it
;   polymer-run --backend cpu --exec spec --trace t.json samples/15-out-of-order.pasm
;   Open t.json in https://ui.perfetto.dev. The "backend cpu" tracks show
;   two vmatmul slices side by side in part 1, one on "backend cpu" and one
;   on "backend cpu, row 2", and, with spec, in the loop too; with --exec
;   ooo the loop's products sit one after the other, each followed by its
;   vsum. The "ROB" tracks show each instruction from issue to commit, as
;   many rows as instructions were in flight at once; squashed ones have
;   category "squashed". --pipeview p.log writes the same life in the
;   Kanata format for the Konata viewer: each instruction waits (Is),
;   executes (X) and waits to commit (Cm), arrows from the instructions
;   it waited for; squashed ones are greyed out.
;   --stats adds the ROB occupancy, IPC, the predictions and their hit rate.
;
; Try next
;   --rob 2: too small a window to hold both products of part 1. --exec
;   frames: part 1's two products are one frame, so frames overlaps them too;
;   the loop's blocks each wait for their frame, like in-order.

.module out_of_order

.region a  f32[262144] fill 0.5     ; 512 x 512
.region b  f32[262144] fill 0.25    ; 512 x 512
.region c0 f32[262144]
.region c1 f32[262144]

.proc main
        li      r1, 512             ; the inner dimension K
        ; --- part 1: two independent products ---
        vmatmul c0, a, b, r1        ; every element: 512 * 0.5 * 0.25 = 64
        vmatmul c1, a, b, r1
        vsum    f1, c0
        vsum    f2, c1
        fadd    f3, f1, f2
        prints  "part 1: two products, total "
        printf  f3
        println

        ; --- part 2: multiply until the running total reaches the limit ---
        lif     f8, 100663296.0     ; six products' worth (262144 * 64 each)
        lif     f4, 0.0             ; the running total
        li      r6, 0               ; products made
top:    vmatmul c0, a, b, r1
        vsum    f1, c0
        fadd    f4, f4, f1
        addi    r6, r6, 1
        flt     r3, f4, f8
        bz      r3, done            ; waits for vsum: predicted under spec
        vmatmul c1, a, b, r1
        vsum    f2, c1
        fadd    f4, f4, f2
        addi    r6, r6, 1
        flt     r3, f4, f8
        bnz     r3, top
done:   prints  "part 2: "
        print   r6
        prints  " products, total "
        printf  f4
        println
        halt
.end
