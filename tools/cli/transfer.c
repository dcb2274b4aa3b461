/* Image data transfers: uploads stream the file (Content-Length when its
 * size is known, chunked otherwise) and downloads stream to the output
 * with the MD5 checked on the fly: an image is never whole in memory. */
#include "cli.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The image service's v2 root (…/image/v2) followed by path. */
char *image_url(struct cli *c, const char *path)
{
    char *base = auth_endpoint(c, "image");
    if (!base)
        return NULL;
    size_t n = strlen(base);
    bool has_v2 = n >= 3 && strcmp(base + n - 3, "/v2") == 0;
    char *u = NULL;
    if (asprintf(&u, "%s%s%s", base, has_v2 ? "" : "/v2", path) < 0)
        u = NULL;
    free(base);
    return u;
}

/* …/image/v2/images/<id>/file */
static char *image_file_url(struct cli *c, const char *id)
{
    char path[512];
    snprintf(path, sizeof path, "/images/%s/file", id);
    return image_url(c, path);
}

/* The options a streamed transfer shares with http_json, and its progress
 * callback. */
static void transfer_setup(struct cli *c, const char *url, struct curl_slist *h,
                           curl_xferinfo_callback on_progress, void *ud, bool show)
{
    http_setup(c, url, h);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, show ? 0L : 1L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, ud);
}

/* ---- upload ---- */

struct upload {
    FILE *f;
    struct progress prog;
    double total;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t got = fread(buf, 1, size * n, u->f);
    if (got == 0 && ferror(u->f))
        return CURL_READFUNC_ABORT;
    return got;
}

static int on_upload_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                              curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal;
    struct upload *u = ud;
    progress_update(&u->prog, (double)ulnow, u->total);
    return 0;
}

/* Streams file ("-": stdin) as image id's data: Content-Length when its
 * size is known, chunked otherwise; a progress bar on a terminal. */
int image_upload(struct cli *c, const char *id, const char *file)
{
    struct upload u = { 0 };
    bool is_stdin = strcmp(file, "-") == 0;
    u.f = is_stdin ? stdin : fopen(file, "rb");
    if (!u.f) {
        fprintf(stderr, "picostack: %s: %s\n", file, strerror(errno));
        return 1;
    }
    struct stat st;
    bool sized = fstat(fileno(u.f), &st) == 0 && S_ISREG(st.st_mode);
    u.total = sized ? (double)st.st_size : 0;
    char *url = image_file_url(c, id);
    if (!url) {
        if (!is_stdin)
            fclose(u.f);
        return 1;
    }

    struct curl_slist *h = NULL;
    http_common_headers(c, &h);
    h = curl_slist_append(h, "Content-Type: application/octet-stream");
    if (!sized)
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
    struct http_resp r = { 0 };
    progress_init(&u.prog, "upload");
    transfer_setup(c, url, h, on_upload_progress, &u, u.prog.enabled);
    curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c->curl, CURLOPT_READDATA, &u);
    if (sized)
        curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
    curl_easy_setopt(c->curl, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, http_collect_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &r);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    free(url);
    if (!is_stdin)
        fclose(u.f);
    int status = 0;
    if (rc != CURLE_OK) {
        fprintf(stderr, "picostack: upload of image %s: %s\n", id, curl_easy_strerror(rc));
        status = 1;
    } else {
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r.status);
        curl_off_t sent = 0;
        curl_easy_getinfo(c->curl, CURLINFO_SIZE_UPLOAD_T, &sent);
        if (r.status < 200 || r.status >= 300)
            status = http_fail("upload", &r);
        else
            progress_done(&u.prog, (double)sent);
    }
    http_resp_free(&r);
    return status;
}

/* ---- download ---- */

struct download {
    FILE *out;
    EVP_MD_CTX *md5;
    struct progress prog;
    struct http_resp *resp;
    bool error_body; /* non-2xx: collect the body, do not write it */
};

static size_t on_download(char *data, size_t size, size_t n, void *ud)
{
    struct download *d = ud;
    size_t len = size * n;
    if (d->error_body)
        return http_collect_body(data, size, n, d->resp);
    EVP_DigestUpdate(d->md5, data, len);
    return fwrite(data, 1, len, d->out) == len ? len : 0;
}

static int on_download_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                                curl_off_t ulnow)
{
    (void)ultotal, (void)ulnow;
    struct download *d = ud;
    progress_update(&d->prog, (double)dlnow, (double)dltotal);
    return 0;
}

/* Decide, once the headers are in, whether the body is data or an error. */
static size_t on_download_header(char *line, size_t size, size_t n, void *ud)
{
    struct download *d = ud;
    if (strncmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', size * n);
        long code = sp ? strtol(sp + 1, NULL, 10) : 0;
        d->error_body = code < 200 || code >= 300;
    }
    return http_on_header(line, size, n, d->resp);
}

static bool md5_matches(const unsigned char *digest, const char *header)
{
    char hex[33], b64[32];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    EVP_EncodeBlock((unsigned char *)b64, digest, 16);
    return strcasecmp(header, hex) == 0 || strcmp(header, b64) == 0;
}

/* Streams the data of img (an image object) to file (stdout if NULL),
 * checking its MD5 on the fly; a bad download leaves no file. */
int image_download(struct cli *c, json_t *img, const char *file)
{
    const char *id = json_string_value(json_object_get(img, "id"));
    char *url = image_file_url(c, id);
    if (!url)
        return 1;
    const char *checksum = json_string_value(json_object_get(img, "checksum"));
    struct http_resp r = { 0 };
    struct download d = { .resp = &r };
    d.out = file ? fopen(file, "wb") : stdout;
    if (!d.out) {
        fprintf(stderr, "picostack: %s: %s\n", file, strerror(errno));
        free(url);
        return 1;
    }
    d.md5 = EVP_MD_CTX_new();
    EVP_DigestInit_ex(d.md5, EVP_md5(), NULL);
    struct curl_slist *h = NULL;
    http_common_headers(c, &h);
    progress_init(&d.prog, "download");
    if (!file)
        d.prog.enabled = false;
    transfer_setup(c, url, h, on_download_progress, &d, d.prog.enabled);
    curl_easy_setopt(c->curl, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_download);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_download_header);
    curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &d);
    CURLcode rc = curl_easy_perform(c->curl);
    curl_slist_free_all(h);
    free(url);
    int status = 0;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    EVP_DigestFinal_ex(d.md5, digest, &dlen);
    EVP_MD_CTX_free(d.md5);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r.status);
    if (rc != CURLE_OK) {
        fprintf(stderr, "picostack: download of image %s: %s\n", id, curl_easy_strerror(rc));
        status = 1;
    } else if (r.status == 204) {
        fprintf(stderr, "picostack: image %s has no data\n", id);
        status = 1;
    } else if (r.status < 200 || r.status >= 300) {
        status = http_fail("image save", &r);
    } else {
        const char *want = r.content_md5 ? r.content_md5 : checksum;
        if (want && !md5_matches(digest, want)) {
            fprintf(stderr, "picostack: image %s: the downloaded data's MD5 does not match %s\n",
                    id, want);
            status = 1;
        }
        curl_off_t got = 0;
        curl_easy_getinfo(c->curl, CURLINFO_SIZE_DOWNLOAD_T, &got);
        if (status == 0)
            progress_done(&d.prog, (double)got);
    }
    if (file) {
        if (fclose(d.out) != 0 && status == 0) {
            fprintf(stderr, "picostack: %s: %s\n", file, strerror(errno));
            status = 1;
        }
        if (status != 0)
            unlink(file);
    } else if (fflush(stdout) != 0) {
        status = 1;
    }
    http_resp_free(&r);
    return status;
}
