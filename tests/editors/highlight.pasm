; what the vim test checks the syntax file against (vim_syntax_test.vim)
.module highlight
.region xs f32[8] range 0, 0.5
.region msg u8[] "hi\n"
.region far f64[64] distributed

.kernel double (in x: f32[i], out y: f32[i])
        .prefers gpu
        gid     r0
        ldf     f0, x[r0]
        fadd    f1, f0, f0
        if      r0
        end
        stf     y[r0], f1
.end

.proc main
top:    li      r1, -8
        ld.f32  f2, xs[r1]
        launch  double, r1, xs, xs
        beq     r1, r2, top
        prints  "done"
        halt
.end

.proc render
        .requires node box3
        ret
.end
