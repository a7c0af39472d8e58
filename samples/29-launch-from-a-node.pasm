; Lesson 29: procedures on nodes that launch over the whole cluster
;
; What this shows
;   Lesson 16 spread one kernel over the cluster; lesson 26 spread work
;   over procedures. Here both at once: main spawns two renderers, one per
;   half of lesson 16's Mandelbrot picture, placed anywhere (`li r8, -1`).
;   With `--local-nodes 2` each goes to a node of its own.
;   A procedure on a node runs its kernels on that node, unless it says
;   `.launches cluster` at its top: then its node connects to the home's
;   other nodes, with the cluster's token, and cuts each of its launches
;   into chunks over itself and them, as the home does with its own
;   launches. Each renderer's half is spread over both nodes.
;   Each renderer writes regions of its own, passed to it as handles (lesson
;   17) in r1 and r2; what it wrote is main's once `join` returns (the
;   memory model of lesson 26). On one machine, on two nodes, with or
;   without `.launches cluster`, the picture and the checksum are the same:
;   where lanes run never changes what they compute.
;
; New directive
;   .launches cluster      (at the top of a .proc) on a node too, its
;                          kernels and vector ops go over the cluster
;
; Try next
;   Run it with `--local-nodes 2 --stats`: each renderer's line says where
;   its launches ran ("its launches ran on this node N chunks (... lanes),
;   local-2 (...) M chunks ..."); how the chunks split depends on how fast
;   each node is.
;   Start two nodes yourself, with logs: `polymer-node --listen
;   127.0.0.1:7447 --token-file T --log-level debug` and the same on 7448,
;   then `polymer-run --nodes 127.0.0.1:7447,127.0.0.1:7448 --token-file T`
;   this file. Each node logs "a procedure's vector ops and kernels go over
;   this node and 1 other node", the other node's connection ("procedure on
;   ...") and the chunks it ran for it ("launch mandelbrot [..."; how many
;   depends on how fast each node is: start one with --fake-throughput 1e12
;   to see it take most of them). Take `.launches cluster` out: no node
;   dials another.

.module launch_from_a_node

.equ WIDTH, 96
.equ ROWS, 20                   ; each half: 20 rows of 96
.equ LANES, 1920

.region top_chars    i32[LANES]
.region top_counts   i32[LANES]
.region bottom_chars i32[LANES]
.region bottom_counts i32[LANES]

; Lesson 16's kernel, with the picture's first row as a parameter.
.kernel mandelbrot (out ch: i32[i], out it: i32[i], w: i32, maxit: i32, row0: i32)
        gid     r0
        ldp     r1, w
        ldp     r2, maxit
        ldp     r3, row0
        rem     r4, r0, r1          ; px
        div     r5, r0, r1
        add     r5, r5, r3          ; py
        itof    f0, r4
        lif     f9, 0.03125
        fmul    f0, f0, f9
        lif     f9, -2.0
        fadd    f0, f0, f9          ; cx = -2 + px / 32
        itof    f1, r5
        lif     f9, 0.0625
        fmul    f1, f1, f9
        lif     f9, -1.21875
        fadd    f1, f1, f9          ; cy = -1.21875 + py / 16
        lif     f2, 0.0             ; x
        lif     f3, 0.0             ; y
        lif     f8, 4.0
        lif     f7, 2.0
        li      r6, 0               ; iterations
        li      r9, 1
        loop
            lt      r7, r6, r2
            if      r7
            else
                break               ; the limit: in the set
            end
            fmul    f4, f2, f2
            fmul    f5, f3, f3
            fadd    f6, f4, f5
            flt     r7, f8, f6
            if      r7
                break               ; |z|^2 > 4: escaped
            end
            fmul    f6, f2, f3
            fmul    f6, f6, f7
            fadd    f3, f6, f1      ; y = 2xy + cy
            fsub    f6, f4, f5
            fadd    f2, f6, f0      ; x = x*x - y*y + cx
            add     r6, r6, r9
        end
        st      it[r0], r6
        li      r8, 35              ; '#'
        lt      r7, r6, r2
        if      r7
            li      r8, 43          ; '+'
            li      r10, 8
            lt      r7, r6, r10
            if      r7
                li      r8, 46      ; '.'
            end
            li      r10, 2
            lt      r7, r6, r10
            if      r7
                li      r8, 32      ; ' '
            end
        end
        st      ch[r0], r8
.end

; Renders ROWS rows from row r3 into the regions whose handles are in r1
; (characters) and r2 (iteration counts); r1 := the sum of the counts.
.proc render
        .launches cluster
        li      r4, WIDTH
        li      r5, LANES
        li      r6, 200             ; iteration limit
        launch  mandelbrot, r5, @r1, @r2, r4, r6, r3
        vsumi   r1, @r2
        ret
.end

; Prints the characters of the region whose handle is in r1, WIDTH a line.
.proc print_rows
        li      r5, 0               ; index
        li      r6, 0               ; column
        li      r2, LANES
        li      r3, WIDTH
next:   bge     r5, r2, done
        ld.i32  r7, @r1[r5]
        printc  r7
        addi    r5, r5, 1
        addi    r6, r6, 1
        blt     r6, r3, next
        println
        li      r6, 0
        jmp     next
done:   ret
.end

.proc main
        li      r8, -1              ; anywhere: one node each, when there are two
        rgn     r1, top_chars
        rgn     r2, top_counts
        li      r3, 0
        spawn   r20, render, r8
        rgn     r1, bottom_chars
        rgn     r2, bottom_counts
        li      r3, ROWS
        spawn   r21, render, r8
        join    r22, f1, r20        ; r22 = the top half's checksum
        join    r23, f1, r21
        rgn     r1, top_chars
        call    print_rows
        rgn     r1, bottom_chars
        call    print_rows
        add     r8, r22, r23
        prints  "checksum (sum of iteration counts) = "
        print   r8
        println
        halt
.end
