; Lesson 06: strings, characters and printing numbers
;
; What this shows
;   Polymer has no string type: text is a u8 region (one byte per element),
;   and `printr` writes a u8 region as text instead of as a list. A character
;   literal such as 'a' is just its byte value. String literals in `prints`
;   understand the escapes \n \t \r \0 \\ \" \' \xHH.
;   `printf` writes a float in the SHORTEST decimal form that reads back to
;   exactly the same binary64 value: 0.1 prints as 0.1, but the f32 nearest
;   to 0.1, widened to f64, needs 17 digits. For a fixed number of decimals
;   or aligned columns, see `printfd` and `printw` (lesson 19).
;
; New instructions
;   printc rA              write the byte rA & 0xff
;   printr xs, rB, rC      write rC elements of xs from index rB (a slice)
;   ld.u8 / st.u8          read and write one byte of a u8 region
;   ld.f32 / st.f32        f32 elements: stores round to the nearest binary32
;   fneg                   fA := -fB
;
; Try next
;   Reverse `greeting` in place. Print a number in hexadecimal with a loop of
;   `andi`, `shri` and `printc`.

.module strings

.region greeting u8[] "hello, polymer!"
.region message  u8[] "Hello, world\n"
.region single   f32[1]

.proc main
        ; --- escapes in string literals ----------------------------------
        prints  "tab:\t|\n"
        prints  "quote: \" backslash: \\ hex: \x41\x42\x43\n"

        ; --- printc: the alphabet, one character at a time ----------------
        li      r1, 'A'
        li      r2, 'Z'
letters:
        printc  r1
        addi    r1, r1, 1
        bge     r2, r1, letters
        li      r1, '\n'
        printc  r1

        ; --- printr on a u8 region: the whole region, then a slice --------
        li      r2, 0
        len     r3, message
        printr  message, r2, r3     ; the region holds its own "\n"
        li      r2, 7
        li      r3, 5
        printr  message, r2, r3     ; "world"
        println

        ; --- upper-case a u8 region in place, counting the vowels ---------
        li      r2, 0               ; i
        len     r3, greeting
        li      r4, 'a'
        li      r5, 'z'
        li      r9, 0               ; vowels
upper:
        ld.u8   r1, greeting[r2]
        blt     r1, r4, keep        ; not a lower-case letter
        blt     r5, r1, keep
        ; a, e, i, o, u?
        li      r8, 'a'
        beq     r1, r8, vowel
        li      r8, 'e'
        beq     r1, r8, vowel
        li      r8, 'i'
        beq     r1, r8, vowel
        li      r8, 'o'
        beq     r1, r8, vowel
        li      r8, 'u'
        beq     r1, r8, vowel
        jmp     shift
vowel:
        addi    r9, r9, 1
shift:
        addi    r1, r1, -32         ; 'a' - 'A' = 32
        st.u8   greeting[r2], r1
keep:
        addi    r2, r2, 1
        blt     r2, r3, upper
        li      r2, 0
        printr  greeting, r2, r3
        prints  " has "
        print   r9
        prints  " vowels\n"

        ; --- printf: shortest round-trip decimals --------------------------
        lif     f1, 0.1
        prints  "0.1       -> "
        printf  f1
        println
        li      r2, 0
        st.f32  single[r2], f1      ; rounds 0.1 to the nearest binary32
        ld.f32  f2, single[r2]      ; and widens it back, exactly
        prints  "f32(0.1)  -> "
        printf  f2
        println
        lif     f1, 2
        lif     f2, 3
        fdiv    f1, f1, f2
        prints  "2/3       -> "
        printf  f1
        println
        lif     f1, 3.141592653589793
        prints  "pi        -> "
        printf  f1
        println
        lif     f1, 123456.789
        prints  "123456.789 -> "
        printf  f1
        println
        lif     f1, 9007199254740992    ; 2^53
        prints  "2^53      -> "
        printf  f1
        println
        lif     f1, 1e21                ; large and small numbers switch to
        prints  "1e21      -> "         ; an exponent when that is shorter
        printf  f1
        println
        lif     f1, 1e-7
        prints  "1e-7      -> "
        printf  f1
        println
        lif     f1, 1e100
        prints  "1e100     -> "
        printf  f1
        println
        lif     f1, 5e-324              ; the smallest positive (denormal) double
        prints  "5e-324    -> "
        printf  f1
        println
        lif     f1, 0
        fneg    f1, f1
        prints  "-0.0      -> "
        printf  f1
        println
        lif     f1, 1
        lif     f2, 0
        fdiv    f3, f1, f2
        prints  "1/0       -> "
        printf  f3
        println
        fneg    f3, f3
        prints  "-1/0      -> "
        printf  f3
        println
        fdiv    f3, f2, f2
        prints  "0/0       -> "
        printf  f3
        println
        halt
.end
