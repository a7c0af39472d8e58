# Runs vim_syntax_test.vim in a vim with the generated vimfiles first in its
# runtimepath; prints what failed. Arguments: VIM VIMFILES SCRIPT ERRORS.
file(REMOVE ${ERRORS})
execute_process(COMMAND ${VIM} -u NONE -i NONE -N -es --cmd "set rtp^=${VIMFILES}" -S ${SCRIPT}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
if(NOT rc EQUAL 0)
  set(errors "(no error file)")
  if(EXISTS ${ERRORS})
    file(READ ${ERRORS} errors)
  endif()
  message(FATAL_ERROR "vim exited with ${rc}:\n${errors}\n${out}${err}")
endif()
