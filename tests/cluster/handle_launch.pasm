; A launch whose buffers come from region handles (docs/language.md, "Region
; handles"), big enough that the cluster sends chunks to the nodes: the
; output must be the one-machine output.
.region xs i32[1048576]
.region ys i32[1048576]
.kernel twice (in x: i32[i], out y: i32[i], s: i32)
        gid     r0
        ld      r1, x[r0]
        ldp     r2, s
        mul     r1, r1, r2
        st      y[r0], r1
.end
.proc main
        rgn     r1, xs
        rgn     r2, ys
        viota   @r1
        len     r3, @r1
        li      r4, 2
        launch  twice, r3, @r1, @r2, r4
        vsumi   r5, @r2
        print   r5
        println
        halt
.end
