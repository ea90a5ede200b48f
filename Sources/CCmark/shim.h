// cmark-gfm, the CommonMark reference implementation with GitHub's extensions,
// for editors' Markdown (terms and newsletters): linear in its input, which Ink
// was not (a run of 22 '[' took 15.7 s). One helper, so that Swift never has
// to name an extension by its C string or free a parser by hand.
#ifndef KUVERT_CCMARK_SHIM_H
#define KUVERT_CCMARK_SHIM_H

#include <cmark-gfm.h>
#include <cmark-gfm-extension_api.h>
#include <cmark-gfm-core-extensions.h>
#include <stdlib.h>

/// Safe mode (cmark's default since 0.29): raw HTML becomes a comment and
/// javascript:, vbscript:, file: and most data: links become empty.
static const int kuvert_cmark_options = CMARK_OPT_DEFAULT;

/// A parser with GitHub's strikethrough and autolinks attached, and its
/// tables unless `tables` is 0.
static inline cmark_parser *kuvert_cmark_parser_new(int tables) {
    cmark_gfm_core_extensions_ensure_registered();
    cmark_parser *parser = cmark_parser_new(kuvert_cmark_options);
    const char *names[] = {"strikethrough", "autolink", "table"};
    size_t count = sizeof names / sizeof names[0] - (tables ? 0 : 1);
    for (size_t i = 0; i < count; i++) {
        cmark_syntax_extension *extension = cmark_find_syntax_extension(names[i]);
        if (extension) cmark_parser_attach_syntax_extension(parser, extension);
    }
    return parser;
}

#endif
