// zlib for the decision-log HTTP sink's gzip bodies (Debian: zlib1g-dev).
#ifndef PORTCULLIS_CZLIB_SHIM_H
#define PORTCULLIS_CZLIB_SHIM_H
#include <zlib.h>

/// deflateInit2 is a macro (it passes the header's version and the stream size): wrapped here.
static inline int portcullis_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
static inline int portcullis_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
