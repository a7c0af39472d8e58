; Lesson 24: a stencil and its window
;
; What this shows
;   Heat spreading over a square plate, 64 x 64 cells kept row by row in
;   one f32 region (cell (row, col) is element row*64 + col). The top edge
;   is held at 100 degrees, the other edges at 0; every step, each inner
;   cell becomes the average of its four neighbours (Jacobi relaxation).
;   One launch is one step: lane i reads cells i-1, i+1 (left, right),
;   i-64 and i+64 (above, below) of the old plate and writes cell i of the
;   new one. Two regions take turns being old and new (ping-pong), 100
;   steps in all; boundary lanes copy their cell (`if`).
;
;   A lane reads elements other than its own, so `t` cannot be `f32[i]`
;   (that buffer may be read only at gid). It could be `f32[]`, the whole
;   buffer, but then nothing says which elements a lane needs. The window
;   `f32[i-W..i+W]` says it: lane i reads only elements i-64 to i+64. A
;   read outside it traps, on every backend (try it below).
;
;   Why say it? A cluster cuts a launch into chunks of lanes, say [a, b).
;   For an element-wise buffer a node needs only elements [a, b); for a
;   window [i-A..i+B] it needs [a-A, b+B): its own slice plus a *halo* of A
;   elements before it and B after it, which belong to the neighbouring
;   chunks. So a node holding rows 10..19 of the plate needs only rows 9
;   and 20, and fetches them from the nodes that hold them, node to node,
;   never the whole plate (docs/cluster.md, "Halos: node to node").
;   `u` is the new plate, written at the lane's own element. A window
;   buffer is always `in`: if lanes wrote it, one lane could read a cell
;   another lane is writing, and the result would depend on their order.
;
;   Floats: fadd and fmul are rounded exactly on every backend, and the
;   kernel adds in a fixed order, so the plate is the same bit for bit on
;   the CPU, on Vulkan and through nodes. The total heat is summed here in
;   scalar code, in order (a `vsum` may add in another order per backend).
;
;   Both plates are `distributed`: on a cluster they start on the nodes,
;   one block of rows each, and stay there between steps; only the top
;   edge written below and the cells read at the end come to the home. On
;   one machine the word changes nothing (docs/cluster.md, "Placement").
;
; New instructions
;   none: the window is part of the parameter, `in t: f32[i-W..i+W]`
;   (`.equ` constants may give its ends); `distributed` is part of the
;   region's declaration.
;
; Try next
;   Change `addi r10, r0, -W` to `addi r10, r0, -65`: the first inner
;   lane, 65, reads t[0], one element left of its window, and the launch
;   traps `out-of-bounds`: "kernel relax: lane 65 loaded t[0], outside its
;   window t[i-64..i+64]". Run with `--local-nodes 3 --stats`: every step's
;   chunks run on the nodes and the output is the same.

.module stencil

.equ W, 64          ; cells per row (and rows: the plate is square)
.equ LAST, 63       ; the last row and column
.equ CELLS, 4096    ; W * W

.region plate f32[CELLS] distributed
.region next  f32[CELLS] distributed

.kernel relax (in t: f32[i-W..i+W], out u: f32[i])
        gid     r0
        ldf     f0, t[r0]           ; the cell itself (a boundary keeps it)
        li      r3, W
        div     r1, r0, r3          ; row
        rem     r2, r0, r3          ; column
        li      r4, 0
        li      r5, LAST
        lt      r6, r4, r1          ; 0 < row
        lt      r7, r1, r5          ; row < LAST
        and     r6, r6, r7
        lt      r7, r4, r2          ; 0 < column
        and     r6, r6, r7
        lt      r7, r2, r5          ; column < LAST
        and     r6, r6, r7
        if      r6                  ; an inner cell: the average of its neighbours
            addi    r8, r0, -1      ; left
            addi    r9, r0, 1       ; right
            addi    r10, r0, -W     ; above
            addi    r11, r0, W      ; below
            ldf     f1, t[r8]
            ldf     f2, t[r9]
            ldf     f3, t[r10]
            ldf     f4, t[r11]
            fadd    f1, f1, f2
            fadd    f3, f3, f4
            fadd    f1, f1, f3
            lif     f5, 0.25
            fmul    f0, f1, f5
        end
        stf     u[r0], f0
.end

.proc main
        ; The top edge at 100 degrees; everything else starts at 0.
        lif     f1, 100.0
        li      r1, 0
        li      r2, W
top:
        st.f32  plate[r1], f1
        addi    r1, r1, 1
        blt     r1, r2, top

        ; 100 steps: plate -> next, then next -> plate.
        li      r9, CELLS
        li      r10, 0
        li      r11, 50
again:
        launch  relax, r9, plate, next
        launch  relax, r9, next, plate
        addi    r10, r10, 1
        blt     r10, r11, again

        ; Down the middle column (32): hot near the top edge, cold below.
        prints  "after 100 steps, column 32:\n"
        li      r12, 0
        li      r13, 1
again_row:
        li      r3, W
        mul     r4, r12, r3
        addi    r4, r4, 32
        ld.f32  f2, plate[r4]
        prints  "  row "
        printw  r12, 2
        prints  ": "
        printfd f2, 6
        println
        add     r12, r12, r13       ; rows 0, 1, 3, 7, 15, 31, 63
        add     r13, r13, r13
        li      r5, W
        blt     r12, r5, again_row

        ; The total heat, added in element order.
        li      r1, 0
        li      r2, CELLS
        lif     f3, 0.0
sum:
        ld.f32  f2, plate[r1]
        fadd    f3, f3, f2
        addi    r1, r1, 1
        blt     r1, r2, sum
        prints  "total heat: "
        printfd f3, 6
        println
        halt
.end
