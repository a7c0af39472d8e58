; Lesson 23: data that stays on the cluster
;
; What this shows
;   An iterative program: 50 launches of y := 3*x + y over a million
;   elements (two 4 MiB regions). Run it with `polymer-run --local-nodes 3
;   --stats`: the first launch sends each node the slices of x and y it
;   computes, and from then on each slice of y stays on the node that wrote
;   it; the next launch runs each chunk where its slices already are (owner
;   computes), so nothing crosses the network between iterations. The home
;   fetches a slice only when the program reads it here: the `ld` below
;   brings home the piece of y around element 1000, and `printr` the last
;   eight elements; `vsumi` runs on the nodes, each summing the slices it
;   holds, and only the partial sums come home (vector ops run where their
;   regions are).
;   --stats shows, per node, the bytes it holds and the bytes fetched from
;   it; --data-at-home runs the same program the old way (every launch sends
;   x and y and returns y), for comparison.
;   The loop is nothing but a launch and its counter, so the VM runs it as
;   rounds (docs/execution.md, "Loops of launches"): each node gets its chunk
;   once, with the 50 rounds to run on it, and answers once; --stats says
;   "loops of launches: 1 loop ran as rounds". --no-launch-rounds runs it
;   launch by launch: the same output, a round trip to the nodes per launch. The output is the same on one
;   machine and on any number of nodes, and if a node dies (kill -9) mid-run
;   the values only it held are recomputed from the launches that made them
;   (docs/cluster.md, "Data lives on the nodes").
;
; New instructions
;   none: where data lives is the runtime's business, not the program's.
;
; Try next
;   polymer-run --local-nodes 3 --stats samples/23-resident-data.pasm, then
;   the same with --data-at-home, and compare the bytes out/in per node.
;   Then with --no-launch-rounds, and compare the nodes' chunks and the time.
;   In the debugger (polymer-run --debug --local-nodes 2 ...), stop after the
;   loop and type `info regions`: the runs of y and the node holding each.

.module resident-data

.region x i32[1048576]
.region y i32[1048576]

.kernel start (out x: i32[i], out y: i32[i])
        gid     r0
        st      x[r0], r0       ; x[i] = i
        li      r1, 1
        st      y[r0], r1       ; y[i] = 1
.end

.kernel axpy (in x: i32[i], inout y: i32[i], a: i32)
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        ldp     r3, a
        mul     r1, r1, r3
        add     r2, r2, r1
        st      y[r0], r2       ; y[i] += a * x[i]
.end

.proc main
        li      r9, 1048576     ; lanes
        launch  start, r9, x, y
        li      r3, 3           ; a
        li      r10, 0
        li      r11, 50
again:
        launch  axpy, r9, x, y, r3
        addi    r10, r10, 1
        blt     r10, r11, again

        ; y[i] = 1 + 150 i after 50 launches (wrapping at 32 bits)
        li      r1, 1000
        ld.i32  r2, y[r1]
        prints  "y[1000] = "
        print   r2
        println
        li      r4, 1048568
        li      r5, 8
        prints  "the last eight: "
        printr  y, r4, r5
        println
        vsumi   r6, y
        prints  "sum of y = "
        print   r6
        println
        halt
.end
