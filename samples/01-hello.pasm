; Lesson 01: hello, world
;
; What this shows
;   The smallest complete Polymer program. A program is a module of
;   procedures; `polymer-run` starts at the procedure called `main`.
;   A procedure is written between `.proc NAME` and `.end`, one instruction
;   per line, and `;` starts a comment that runs to the end of the line.
;
; New instructions
;   prints "text"   write a string literal (escapes such as \n work)
;   li rA, imm      load an integer constant into register rA
;   print rA        write rA as a signed decimal number (no newline)
;   println         write a newline
;   halt            stop the program
;
; Run it
;   build/bin/polymer-run samples/01-hello.pasm
;   build/bin/polymer-as samples/01-hello.pasm --listing   (see the encoding)
;
; Try next
;   Change the number, print two numbers on one line, or delete `halt` and
;   see the assembler complain that the procedure can fall off its end.

.module hello

.proc main
        prints  "Hello, world!\n"   ; a string from the module's string pool
        prints  "The answer is "
        li      r1, 42              ; r1 := 42 (registers r0..r31 hold 64-bit integers)
        print   r1                  ; writes "42"
        println                     ; and ends the line
        halt                        ; every procedure must end with halt, ret or jmp
.end
