#!/usr/bin/env bash
# bash_completion_test.sh COMPLETIONS_DIR TOOL...: sources each tool's
# generated completion and completes as a user would press Tab. Every option
# the tool's --help names must be offered after `--`; enum options offer
# their values; the positionals offer the files their descriptions name.
set -u
dir=$1
shift
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# complete TOOL WORDS...: COMPREPLY for the last word (the one being typed).
complete_words() {
    local tool=$1
    shift
    COMP_WORDS=("$tool" "$@")
    COMP_CWORD=$#
    COMPREPLY=()
    "$(complete -p "$tool" | sed -E 's/.* -F ([^ ]+) .*/\1/')"
}

offered() { printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; }

for path in "$@"; do
    tool=$(basename "$path")
    script=$dir/$tool
    [ -f "$script" ] || { fail "$tool: no completion file $script"; continue; }
    # shellcheck source=/dev/null
    source "$script" || fail "$tool: the completion file does not load"
    complete_words "$tool" "-"
    got=" $(offered)"
    for option in $("$path" --help | grep -oE -- '(^|[ ,(])--?[a-z][a-z0-9-]*' | sed -E 's/^[ ,(]//' | sort -u); do
        [[ $got == *" $option "* ]] || fail "$tool: '$option' (in --help) is not completed"
    done
done

complete_words polymer-run --ba
[ "$(offered)" = "--backend --batch " ] || fail "polymer-run --ba: got '$(offered)'"
complete_words polymer-run --backend ""
[ "$(offered)" = "auto cpu vulkan " ] || fail "polymer-run --backend: got '$(offered)'"
complete_words polymer-run --exec = o
[ "$(offered)" = "ooo " ] || fail "polymer-run --exec=o: got '$(offered)'"
complete_words polymer-run --max-steps ""
[ ${#COMPREPLY[@]} -eq 0 ] || fail "polymer-run --max-steps takes a number: got '$(offered)'"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" && touch a.pasm b.pbc c.txt && mkdir lib
complete_words polymer-run ""
[ "$(offered)" = "a.pasm b.pbc lib " ] || fail "polymer-run PROGRAM: got '$(offered)'"
complete_words polymer-as ""
[ "$(offered)" = "a.pasm lib " ] || fail "polymer-as FILE: got '$(offered)'"
complete_words polymer-dis ""
[ "$(offered)" = "b.pbc lib " ] || fail "polymer-dis FILE: got '$(offered)'"
complete_words polymer-as a.pasm -o ""
[ "$(offered)" = "a.pasm b.pbc c.txt lib " ] || fail "polymer-as -o FILE: got '$(offered)'"
complete_words polymer-run a.pasm -- c
[ "$(offered)" = "c.txt " ] || fail "polymer-run PROGRAM -- ARGS: got '$(offered)'"

if [ "$failures" -ne 0 ]; then
    echo "$failures failures"
    exit 1
fi
echo "completion ok for: $*"
