; Lesson 21: named constants and files that include each other
;
; What this shows
;   A program names its numbers once with `.equ` and uses the name wherever
;   a literal could go: an instruction's operand, a region's length, a
;   region's initial values. It takes routines from another file with
;   `.include`: here samples/lib/math.pasm, a small library of integer
;   routines (gcd, lcm, isqrt, powmod) with one calling convention. The
;   included file's lines take the place of the `.include`; errors, traps and
;   the debugger name the file each line comes from (try `break
;   math.pasm:12` in the debugger).
;
; New directives
;   .equ NAME, VALUE     a constant: an integer or a float (or an earlier
;                        constant, or -NAME); defined before it is used
;   .include "FILE"      FILE's text here; FILE is looked for next to this
;                        file, then in each `-I DIR` given to polymer-as or
;                        polymer-run. A file included twice is read once.
;
; Try next
;   Use N before its `.equ`: the assembler says where the `.equ` is.
;   Misspell the include: "cannot read 'lib/maths.pasm': No such file ...".
;   Make lib/math.pasm include this file: the cycle is reported with its chain.

.module constants-and-includes

.equ N, 20                  ; the table runs over 1..N
.equ MODULUS, 1000000007    ; a prime, for powmod
.equ BIG, 1000000000000     ; isqrt(BIG) = 10^6
.equ SEED, 3

.include "lib/math.pasm"

.region firsts i64[N] range 1, 1   ; 1, 2, ..., N

.proc main
        ; lcm(1, 2, ..., N): the smallest number every one of them divides.
        li      r16, 1              ; the running lcm
        li      r17, 0              ; index into firsts
lcm_loop:
        ld.i64  r2, firsts[r17]
        mov     r1, r16
        call    lcm
        mov     r16, r1
        addi    r17, r17, 1
        li      r8, N
        blt     r17, r8, lcm_loop
        prints  "lcm(1.."
        li      r1, N
        print   r1
        prints  ") = "
        print   r16
        println

        prints  "isqrt(10^12) = "
        li      r1, BIG
        call    isqrt
        print   r1
        prints  ", isqrt(N) = "
        li      r1, N
        call    isqrt
        print   r1
        println

        ; Fermat's test: for a prime p, SEED^(p-1) mod p = 1 unless p divides SEED.
        prints  "passes Fermat's test base 3:"
        li      r16, 2
fermat_loop:
        li      r1, SEED
        addi    r2, r16, -1
        mov     r3, r16
        call    powmod
        li      r8, 1
        bne     r1, r8, fermat_next
        li      r8, ' '
        printc  r8
        print   r16
fermat_next:
        addi    r16, r16, 1
        li      r8, N
        bge     r8, r16, fermat_loop
        println

        prints  "3^(10^12) mod (10^9 + 7) = "
        li      r1, SEED
        li      r2, BIG
        li      r3, MODULUS
        call    powmod
        print   r1
        println
        ret
.end
