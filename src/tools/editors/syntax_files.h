// Editor support for .pasm files, generated from syntax_words(): a Vim syntax
// file and its filetype detection, and a VS Code extension (a TextMate
// grammar, its language configuration and package.json). docs/editors.md.
#pragma once

#include <string>
#include <string_view>

namespace polymer::editors {

std::string vim_syntax();    // share/vim/vimfiles/syntax/pasm.vim
std::string vim_ftdetect();  // share/vim/vimfiles/ftdetect/pasm.vim

std::string textmate_grammar();  // syntaxes/pasm.tmLanguage.json (scope source.pasm)
std::string vscode_language_configuration();
std::string vscode_package_json(std::string_view version);

}  // namespace polymer::editors
