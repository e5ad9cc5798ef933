/* JPEG → packed RGB24 with libjpeg-turbo's defaults (ISLOW integer IDCT, fancy upsampling):
 * the decode OpenCV's imdecode performs for PyTorchVideo's FrameVideo (whose BGR→RGB swap
 * undoes OpenCV's own swap). libjpeg reports fatal errors through error_exit, which must not
 * return: we longjmp back here and hand the message to Rust. */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <jpeglib.h>

struct vb_error {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    char warning[JMSG_LENGTH_MAX];
};

static void vb_error_exit(j_common_ptr c) {
    struct vb_error *e = (struct vb_error *)c->err;
    e->pub.format_message(c, e->message);
    longjmp(e->jump, 1);
}

/* Warnings (e.g. "Premature end of JPEG file") are counted, the first one kept; nothing is
 * printed. Trace messages (level > 0) are ignored. */
static void vb_emit_message(j_common_ptr c, int level) {
    struct vb_error *e = (struct vb_error *)c->err;
    if (level < 0) {
        if (e->pub.num_warnings == 0)
            e->pub.format_message(c, e->warning);
        e->pub.num_warnings++;
    }
}

static void vb_copy(char *dst, size_t cap, const char *src) {
    if (cap == 0)
        return;
    strncpy(dst, src, cap - 1);
    dst[cap - 1] = 0;
}

/* Returns 0 and sets width/height (and fills `out` when it is non-NULL and holds
 * width*height*3 bytes); -1 with a message in `err` otherwise. `warnings` counts recoverable
 * damage, the first warning's text goes to `warn`. */
int vbench_jpeg_decode(const unsigned char *src, unsigned long len, unsigned char *out,
                       size_t cap, unsigned *width, unsigned *height, long *warnings,
                       char *err, char *warn, size_t msg_cap) {
    struct jpeg_decompress_struct cinfo;
    struct vb_error jerr;
    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = vb_error_exit;
    jerr.pub.emit_message = vb_emit_message;
    *warnings = 0;
    if (setjmp(jerr.jump)) {
        vb_copy(err, msg_cap, jerr.message);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, src, len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.num_components == 4) {
        vb_copy(err, msg_cap, "CMYK/YCCK JPEGs are not supported");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    cinfo.out_color_space = JCS_RGB;
    *width = cinfo.image_width;
    *height = cinfo.image_height;
    if (out == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * 3;
    if (cinfo.output_components != 3 || cap < row * cinfo.output_height) {
        vb_copy(err, msg_cap, "output buffer does not fit the decoded image");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW r = out + (size_t)cinfo.output_scanline * row;
        jpeg_read_scanlines(&cinfo, &r, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *warnings = jerr.pub.num_warnings;
    vb_copy(warn, msg_cap, jerr.warning);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
