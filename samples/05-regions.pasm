; Lesson 05: regions, Polymer's arrays
;
; What this shows
;   A region is a named, typed array declared at the top of a module with
;   `.region NAME TYPE[LEN] INIT`. Element types: u8 i32 u32 i64 f32 f64.
;   Regions are the unit of data that vector ops and kernels work on (and,
;   later, what crosses the network). Every element access is bounds-checked.
;   The initializers:
;     (none)                 all zeros
;     fill V                 every element V
;     range START, STEP      START, START+STEP, START+2*STEP, ...
;     = a, b, c              an inline list (the length may be left out)
;     "text"                 the bytes of a string (u8 regions)
;
; New instructions
;   ld.TYPE rA, xs[rB]     load element rB of xs (ld.f64 fA, ... for floats)
;   st.TYPE xs[rB], rA     store into element rB; narrow types keep the low bits
;   len rA, xs             the number of elements
;   alloc xs, rA           replace xs's storage with rA fresh zero elements
;   free xs                empty xs (length 0)
;   printr xs, rB, rC      print elements rB .. rB+rC-1 as [a, b, c]
;
; Try next
;   Load xs[len] and read the `out-of-bounds` trap (exit status 2).
;   Store 1e40 into an f32 region and load it back (it rounds to inf).

.module regions

.region zeros   i64[4]                  ; 0, 0, 0, 0
.region sevens  i32[3] fill 7           ; 7, 7, 7
.region steps   f64[5] range 1.0, 0.25  ; 1, 1.25, 1.5, 1.75, 2
.region primes  i32[] = 2, 3, 5, 7, 11, 13
.region small   i64[3] = 10, -20, 30    ; with a length, exactly that many values
.region word    u8[] "region"
.region narrow  u32[1]
.region squares i64[2]                  ; resized below with alloc

; A region operand is static (it names a declared region), so there is no
; "print any region" procedure: main repeats `len` + `printr` for each one.

.proc main
        li      r2, 0               ; printr's first element
        len     r3, zeros           ; and how many
        prints  "zeros   = "
        printr  zeros, r2, r3
        println
        len     r3, sevens
        prints  "sevens  = "
        printr  sevens, r2, r3
        println
        len     r3, steps
        prints  "steps   = "
        printr  steps, r2, r3
        println
        len     r3, primes
        prints  "primes  = "
        printr  primes, r2, r3
        println
        len     r3, small
        prints  "small   = "
        printr  small, r2, r3
        println
        len     r3, word
        prints  "word    = "
        printr  word, r2, r3        ; a u8 region prints as text
        println
        prints  "len(primes) = "
        len     r3, primes
        print   r3
        println

        ; --- sum the primes with an ld loop --------------------------------
        li      r1, 0               ; sum
        li      r2, 0               ; i
        len     r3, primes
sum:
        ld.i32  r4, primes[r2]
        add     r1, r1, r4
        addi    r2, r2, 1
        blt     r2, r3, sum
        prints  "sum(primes) = "
        print   r1
        println

        ; --- float elements -------------------------------------------------
        li      r2, 3
        ld.f64  f1, steps[r2]       ; 1.75
        fadd    f1, f1, f1
        st.f64  steps[r2], f1       ; steps[3] = 3.5
        li      r2, 0
        len     r3, steps
        prints  "steps   = "
        printr  steps, r2, r3
        println

        ; --- stores keep only the bits the element type has -----------------
        li      r1, -1
        li      r2, 0
        st.u32  narrow[r2], r1      ; low 32 bits of -1
        ld.u32  r4, narrow[r2]      ; zero-extended on load: 4294967295
        prints  "u32 after storing -1: "
        print   r4
        println
        st.i32  sevens[r2], r1
        ld.i32  r4, sevens[r2]      ; sign-extended on load: -1
        prints  "i32 after storing -1: "
        print   r4
        println
        li      r1, 'R'
        st.u8   word[r2], r1        ; capitalise the word
        li      r1, 300             ; 300 = 256 + 44, and 44 is ','
        li      r2, 5
        st.u8   word[r2], r1        ; keeps the low 8 bits only
        li      r2, 0
        len     r3, word
        prints  "word    = "
        printr  word, r2, r3
        println

        ; --- alloc: a fresh, zeroed storage of any length --------------------
        li      r1, 8
        alloc   squares, r1
        li      r2, 0
fill:
        mul     r4, r2, r2
        st.i64  squares[r2], r4
        addi    r2, r2, 1
        blt     r2, r1, fill
        len     r3, squares
        prints  "squares = "
        li      r2, 0
        printr  squares, r2, r3
        println
        li      r2, 2               ; a slice: 3 elements from index 2
        li      r3, 3
        prints  "squares[2..5) = "
        printr  squares, r2, r3
        println
        free    squares
        len     r3, squares
        prints  "after free, len(squares) = "
        print   r3
        println
        halt
.end
