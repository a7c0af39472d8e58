" Run by `vim -u NONE -es` with the generated vimfiles first in 'runtimepath'
" (tests/editors/CMakeLists.txt): opens highlight.pasm and checks the
" filetype and the syntax group under words of each kind, inside and outside
" a kernel. Writes the failures to $VIM_TEST_OUT and exits non-zero on any.
filetype on
syntax on
execute 'edit' fnameescape($VIM_TEST_PASM)
call assert_equal('pasm', &filetype, 'filetype of a .pasm file')

" [a pattern that finds the line, the word on it, the group expected there]
let s:cases = [
  \ ['^; what', 'what', 'pasmComment'],
  \ ['^\.module', '.module', 'pasmDirective'],
  \ ['^\.region xs', '.region', 'pasmDirective'],
  \ ['^\.region xs', 'f32', 'pasmType'],
  \ ['^\.region xs', 'range', 'pasmKeyword'],
  \ ['^\.region xs', '0.5', 'pasmNumber'],
  \ ['^\.region msg', '"hi', 'pasmString'],
  \ ['^\.region far', 'distributed', 'pasmKeyword'],
  \ ['^\.kernel', '.kernel', 'pasmDirective'],
  \ ['^\.kernel', 'out', 'pasmKeyword'],
  \ ['\.prefers', '.prefers', 'pasmDirective'],
  \ ['\.prefers', 'gpu', 'pasmKeyword'],
  \ ['\.requires node', '.requires', 'pasmDirective'],
  \ ['\.requires node', 'node', 'pasmKeyword'],
  \ ['gid', 'gid', 'pasmKernelInstruction'],
  \ ['gid', 'r0', 'pasmRegister'],
  \ ['fadd', 'fadd', 'pasmKernelInstruction'],
  \ ['if      r0', 'if', 'pasmKernelControl'],
  \ ['^        end', 'end', 'pasmKernelControl'],
  \ ['stf', 'stf', 'pasmKernelInstruction'],
  \ ['^\.end', '.end', 'pasmDirective'],
  \ ['^\.proc', '.proc', 'pasmDirective'],
  \ ['^top:', 'top:', 'pasmLabel'],
  \ ['^top:', 'li', 'pasmInstruction'],
  \ ['^top:', '-8', 'pasmNumber'],
  \ ['ld\.f32', 'ld.f32', 'pasmInstruction'],
  \ ['ld\.f32', 'f2', 'pasmRegister'],
  \ ['launch', 'launch', 'pasmInstruction'],
  \ ['beq', 'beq', 'pasmControl'],
  \ ['prints', 'prints', 'pasmInstruction'],
  \ ['prints', '"done', 'pasmString'],
  \ ['halt', 'halt', 'pasmControl'],
  \ ]
for [s:pattern, s:word, s:group] in s:cases
  let s:lnum = search(s:pattern, 'w')
  let s:col = stridx(getline(s:lnum), s:word) + 1
  call assert_notequal(0, s:lnum * s:col, 'no line matching ' . s:pattern . ' with ' . s:word)
  call assert_equal(s:group, synIDattr(synID(s:lnum, s:col, 1), 'name'), 'the group of ' . s:word . ' on line ' . s:lnum)
endfor
call writefile(v:errors, $VIM_TEST_OUT)
if empty(v:errors)
  qall!
endif
cquit!
