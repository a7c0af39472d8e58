; Lesson 20: hashing in a kernel, with 32-bit immediates
;
; What this shows
;   A kernel lane register is 32 bits, so a kernel immediate is any 32-bit
;   pattern: write it signed (-1), unsigned (4294967295) or in hex
;   (0xFFFFFFFF), it is the same bits. Hash functions are made of such
;   constants. Here every lane hashes its index with the finalizer of
;   MurmurHash3 (fmix32), after Knuth's multiplicative step (times
;   0x9E3779B1, 2^32 divided by the golden ratio): a few xor-shifts and
;   multiplies by odd constants, so that neighbouring indices get unrelated
;   hashes. The lanes store their hashes and count them into 10 bins.
;
;   A hash is a bit pattern, not a signed number: about half of them have
;   the top bit set, which as an i32 is negative. So the bin is the unsigned
;   remainder `remu`; `shri` shifts zeros in from the left (`sari` would copy
;   the sign bit).
;
;   Then the procedure computes the same hashes one by one with 64-bit
;   scalar registers, masking each product back to 32 bits as a lane wraps,
;   and checks every one against the kernel's: the same bits on every
;   backend (docs/kernels.md).
;
; New instructions
;   muli r1, r1, 0x85EBCA6B   (kernel) multiply by an immediate, any 32 bits
;   shri r2, r1, 16           (kernel) logical shift right by 0..31
;   xori, andi, ori, shli, sari  the other immediate forms
;   remu r4, r1, r3           (kernel) unsigned remainder (0 when r3 = 0), as divu
;   ltu / leu                 (kernel) unsigned compares
;   neg / not                 (kernel) two's complement and bitwise not
;
; Try next
;   Replace `remu` with `rem` and run it: a hash past 0x7FFFFFFF is a
;   negative i32, its bin is negative, and the `atadd` traps out-of-bounds.
;   Bin by the top 4 bits instead (`shri r4, r1, 28` in the kernel, `shri`
;   by 28 in the procedure too): 16 bins, so both bin regions need 16
;   elements. Which bins does it fill more evenly, and why?

.module kernel-immediates

.region hs     u32[10000]       ; the kernel's hashes
.region hist   u32[10]          ; the kernel's bins
.region counts u32[10]          ; the procedure's bins

.kernel hash (out h: u32[i], inout hist: u32[], seed: i32)
        gid     r0
        muli    r1, r0, 0x9E3779B1  ; Knuth: spread consecutive indices apart
        ldp     r2, seed
        xor     r1, r1, r2
        shri    r2, r1, 16          ; fmix32: h ^= h >> 16
        xor     r1, r1, r2
        muli    r1, r1, 0x85EBCA6B  ;         h *= 0x85EBCA6B (wraps at 32 bits)
        shri    r2, r1, 13          ;         h ^= h >> 13
        xor     r1, r1, r2
        muli    r1, r1, 0xC2B2AE35  ;         h *= 0xC2B2AE35
        shri    r2, r1, 16          ;         h ^= h >> 16
        xor     r1, r1, r2
        st      h[r0], r1
        li      r3, 10
        remu    r4, r1, r3          ; bin = h mod 10, h read as unsigned
        li      r5, 1
        atadd   hist[r4], r5
.end

.proc main
        li      r9, 10000           ; lanes
        li      r3, 2024            ; seed
        launch  hash, r9, hs, hist, r3

        ; The same hashes with scalar registers (64 bits): `li` of a value
        ; past 2^31 is a positive 64-bit constant here, and `and` with
        ; 0xFFFFFFFF keeps the low 32 bits of each product, as a lane does.
        li      r20, 0xFFFFFFFF
        li      r21, 0x9E3779B1
        li      r22, 0x85EBCA6B
        li      r23, 0xC2B2AE35
        li      r24, 10
        li      r10, 0              ; i
        li      r11, 0              ; hashes that differ
next:
        mul     r1, r10, r21
        and     r1, r1, r20
        xor     r1, r1, r3
        shri    r2, r1, 16
        xor     r1, r1, r2
        mul     r1, r1, r22
        and     r1, r1, r20
        shri    r2, r1, 13
        xor     r1, r1, r2
        mul     r1, r1, r23
        and     r1, r1, r20
        shri    r2, r1, 16
        xor     r1, r1, r2
        ld.u32  r4, hs[r10]         ; the kernel's hash of i
        beq     r1, r4, same
        addi    r11, r11, 1
same:
        remu    r5, r1, r24
        ld.u32  r6, counts[r5]
        addi    r6, r6, 1
        st.u32  counts[r5], r6
        addi    r10, r10, 1
        blt     r10, r9, next

        li      r12, 0
        li      r13, 4
        prints  "first hashes = "
        printr  hs, r12, r13
        println
        prints  "kernel bins  = "
        printr  hist, r12, r24
        println
        prints  "scalar bins  = "
        printr  counts, r12, r24
        println
        prints  "hashes that differ: "
        print   r11
        println
        halt
.end
