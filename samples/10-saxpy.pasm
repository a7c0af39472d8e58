; Lesson 10: your first kernel, saxpy
;
; What this shows
;   A kernel is a small program that runs once per lane, many lanes at once,
;   on a backend: the CPU kernel executor (`--backend cpu`) or a Vulkan
;   device (`--backend vulkan`). Lane `gid` works on element `gid`, so the
;   launch can be split across threads or GPU workgroups freely.
;   `launch saxpy, r1, xs, ys, zs, f1` runs lanes [0, r1) with one argument
;   per parameter: a region for a buffer, a float register for an f32
;   uniform (rounded to binary32). The launch is asynchronous, but any later
;   instruction that reads a region the kernel wrote sees its writes, so the
;   printr below needs no `wait`.
;   The inputs are small integers: every f32 result is exact, so the output
;   is identical on both backends.
;
; New instructions
;   .kernel NAME (PARAMS) ... .end   declare a kernel (docs/language.md)
;   gid r0                 (kernel) r0 := this lane's index
;   ldf / stf              (kernel) load / store a float buffer element
;   ldpf f2, a             (kernel) read the uniform parameter a
;   ffma f3, f2, f0, f1    (kernel) f3 := f2 * f0 + f1
;   launch K, rN, args...  run kernel K over lanes [0, rN)
;
; Try next
;   Run with `polymer-run --backend vulkan --stats` and `--backend cpu
;   --stats` and compare where the kernel ran. Launch with r1 = 4: lanes
;   4..7 never run and zs keeps its zeros there. Launch with r1 = -1 and
;   read the `bad-launch` trap.

.module saxpy

.region xs f32[] = 1, 2, 3, 4, 5, 6, 7, 8
.region ys f32[] = 10, 20, 30, 40, 50, 60, 70, 80
.region zs f32[8]

.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0              ; r0 = this lane's index
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a           ; the uniform parameter a
        ffma    f3, f2, f0, f1  ; f3 = a * x + y
        stf     z[r0], f3
.end

.proc main
        li      r1, 8           ; lanes
        lif     f1, 3.0         ; a
        launch  saxpy, r1, xs, ys, zs, f1
        li      r2, 0
        li      r3, 8
        prints  "3 * xs + ys = "
        printr  zs, r2, r3      ; waits for the kernel's writes
        println
        halt
.end
