; Lesson 09: vector ops on the device
;
; What this shows
;   The vector ops of lesson 08 are built-in kernels: with `--backend vulkan`
;   they run on the Vulkan device, with `--backend cpu` on the CPU, and with
;   `--backend auto` (the default) on a GPU when there is one. The program
;   does not change; `polymer-run --list-devices` shows what is there and
;   `--stats` says where the work ran.
;   Results are the same on every backend for integers; for floats this
;   lesson uses values whose sums are exact in binary32 (small integers and
;   halves), so the printed output is identical on both backends. Sums of
;   arbitrary floats may differ in the last bits, because a GPU adds in a
;   different order.
;
; New instructions
;   none: viota, vfillf, vadd, vmul, vsum, vsumi, vredmax as in lesson 08,
;   on f32 and i32 regions (the element types a GPU handles natively).
;
; Try next
;   Run `polymer-run --backend vulkan --stats samples/09-gpu-vector-ops.pasm`
;   and `--backend cpu --stats`; make the regions 1000000 elements long
;   and compare the times.

.module gpu_vector_ops

.region xs   f32[1024]
.region ys   f32[1024]
.region zs   f32[1024]
.region ns   i32[1024]

.proc main
        viota   xs              ; 0, 1, 2, ..., 1023
        lif     f1, 0.5
        vfillf  ys, f1
        vadd    zs, xs, ys      ; i + 0.5
        li      r2, 0
        li      r3, 4
        prints  "xs + 0.5 (first 4) = "
        printr  zs, r2, r3
        println
        vmul    zs, zs, ys      ; (i + 0.5) / 2
        vsum    f2, zs
        prints  "sum of (i + 0.5) / 2 = "
        printf  f2
        println
        vredmax f3, zs
        prints  "largest = "
        printf  f3
        println
        viota   ns
        vsumi   r4, ns
        prints  "0 + 1 + ... + 1023 = "
        print   r4
        println
        halt
.end
