// A pinger and a ponger that talk over two channels, each received by one
// of them (docs/language.md, "On the nodes": channels kept on a node): placed on two
// nodes, the home hands each channel to its receiver's node and the
// messages go from node to node. It prints "LAST SUM": the last pong
// (rounds squared) and the sum of the pongs.
#pragma once

#include <string>

namespace polymer::test {

// `ponger`, `pinger`: their placements (spawn's rW: 0 the home, n node n).
inline std::string node_to_node_ping_pong(int ponger, int pinger, long rounds) {
    std::string s = R"(.channel pings 1
.channel pongs 1
.proc ponger
        li      r1, 0
next:   recv    r2, pings
        bz      r2, done
        mul     r3, r2, r2
        send    pongs, r3
        add     r1, r1, r3
        jmp     next
done:   ret
.end
.proc pinger
        li      r2, 1
round:  send    pings, r2
        recv    r3, pongs
        addi    r2, r2, 1
        bge     r4, r2, round
        li      r0, 0
        send    pings, r0
        mov     r1, r3
        ret
.end
.proc main
        li      r4, ROUNDS
        li      r8, PONGER
        spawn   r9, ponger, r8
        li      r8, PINGER
        spawn   r10, pinger, r8
        li      r8, 0
        join    r1, f1, r10
        print   r1
        prints  " "
        join    r1, f1, r9
        print   r1
        halt
.end
)";
    s.replace(s.find("ROUNDS"), 6, std::to_string(rounds));
    s.replace(s.find("PONGER"), 6, std::to_string(ponger));
    s.replace(s.find("PINGER"), 6, std::to_string(pinger));
    return s;
}

}  // namespace polymer::test
