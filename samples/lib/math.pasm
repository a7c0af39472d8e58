; samples/lib/math.pasm: integer routines any program can `.include`.
;
;   .include "lib/math.pasm"       (from a file in samples/; or -I samples)
;
; Calling convention (docs/language.md): arguments in r1, r2, r3; the
; result in r1; r0 and r8..r15 may be overwritten; r16..r31 are preserved.

; gcd(a, b), Euclid's algorithm. r1 = a >= 0, r2 = b >= 0 -> r1
.proc gcd
gcd_loop:
        bz      r2, gcd_done
        rem     r8, r1, r2
        mov     r1, r2
        mov     r2, r8
        jmp     gcd_loop
gcd_done:
        ret
.end

; lcm(a, b) = a / gcd(a, b) * b; 0 when either is 0. r1 = a, r2 = b -> r1
.proc lcm
        push    r16
        push    r17
        mov     r16, r1
        mov     r17, r2
        call    gcd                 ; r1 = gcd(a, b)
        bz      r1, lcm_zero        ; gcd(0, 0) = 0
        div     r1, r16, r1
        mul     r1, r1, r17
lcm_zero:
        pop     r17
        pop     r16
        ret
.end

; isqrt(n) = floor(sqrt(n)), by Newton's method on integers. r1 = n >= 0 -> r1
.proc isqrt
        mov     r8, r1              ; n
        mov     r9, r1              ; x: starts at n, only ever decreases
        shri    r10, r9, 1
        andi    r11, r9, 1
        add     r10, r10, r11       ; y = ceil(x / 2), without overflow
isqrt_loop:
        bge     r10, r9, isqrt_done ; until y stops decreasing
        mov     r9, r10
        div     r11, r8, r9
        add     r10, r9, r11
        shri    r10, r10, 1         ; y = (x + n / x) / 2
        jmp     isqrt_loop
isqrt_done:
        mov     r1, r9
        ret
.end

; powmod(b, e, m) = b^e mod m, by squaring. r1 = b >= 0, r2 = e >= 0,
; r3 = m in 1..2^31 (so each product fits 63 bits) -> r1
.proc powmod
        rem     r8, r1, r3          ; the base, reduced
        li      r1, 1
        rem     r1, r1, r3          ; 1 mod m (0 when m = 1)
powmod_loop:
        bz      r2, powmod_done
        andi    r9, r2, 1
        bz      r9, powmod_square
        mul     r1, r1, r8
        rem     r1, r1, r3          ; an odd exponent bit: multiply it in
powmod_square:
        mul     r8, r8, r8
        rem     r8, r8, r3
        shri    r2, r2, 1
        jmp     powmod_loop
powmod_done:
        ret
.end
