/* The upload pipeline: the request thread copies the body into 1 MiB
 * buffers and computes MD5; a writer thread per upload computes SHA-512
 * and appends the buffers to the block store. So hashing and disk I/O
 * overlap instead of taking turns, and neither digest waits for the other.
 * A few buffers bound the memory (PIPE_BUFS MiB per upload) and make the
 * request thread wait when the disk is behind (back-pressure to the
 * client through TCP). */
#include "api/image/internal.h"
#include "core/blockstore/blockstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_BUFS 4
#define PIPE_BUF  (1u << 20)

struct img_pipe {
    struct blockstore_writer *w;
    struct image_hasher *h;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char *buf[PIPE_BUFS];
    size_t len[PIPE_BUFS];
    unsigned head, count; /* filled buffers: [head, head + count) */
    bool closing;         /* no more buffers will come */
    bool cancel;          /* drop what is queued */
    int err;              /* the first append error */
    char why[256];        /* blockstore_error() of it (thread-local there) */
    int fill;             /* slot being filled by the request thread, or -1 */
    size_t fill_len;
};

static void *writer_main(void *arg)
{
    struct img_pipe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->count == 0 && !p->closing)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->count == 0)
            break;
        unsigned i = p->head;
        bool skip = p->cancel || p->err;
        pthread_mutex_unlock(&p->lock);
        int rc = 0;
        if (!skip) {
            image_hasher_update_sha512(p->h, p->buf[i], p->len[i]);
            rc = API_BS(img_srv(), blockstore_image_append(p->w, p->buf[i], p->len[i]));
        }
        pthread_mutex_lock(&p->lock);
        if (rc < 0 && !p->err) {
            p->err = rc;
            snprintf(p->why, sizeof p->why, "%s", blockstore_error());
        }
        p->head = (p->head + 1) % PIPE_BUFS;
        p->count--;
        pthread_cond_broadcast(&p->cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int img_pipe_start(struct blockstore_writer *w, struct image_hasher *h, struct img_pipe **out)
{
    struct img_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->w = w;
    p->h = h;
    p->fill = -1;
    for (int i = 0; i < PIPE_BUFS; i++)
        if (!(p->buf[i] = malloc(PIPE_BUF)))
            goto nomem;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (pthread_create(&p->thread, NULL, writer_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        goto nomem;
    }
    *out = p;
    return 0;
nomem:
    for (int i = 0; i < PIPE_BUFS; i++)
        free(p->buf[i]);
    free(p);
    return -ENOMEM;
}

/* Hands the slot being filled to the writer. */
static void push(struct img_pipe *p)
{
    pthread_mutex_lock(&p->lock);
    p->len[p->fill] = p->fill_len;
    p->count++;
    p->fill = -1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int img_pipe_write(struct img_pipe *p, const void *data, size_t len)
{
    image_hasher_update_md5(p->h, data, len);
    const char *d = data;
    while (len) {
        if (p->fill < 0) {
            pthread_mutex_lock(&p->lock);
            while (p->count == PIPE_BUFS && !p->err)
                pthread_cond_wait(&p->cond, &p->lock);
            int err = p->err;
            p->fill = (int)((p->head + p->count) % PIPE_BUFS);
            pthread_mutex_unlock(&p->lock);
            if (err) {
                p->fill = -1;
                return err;
            }
            p->fill_len = 0;
        }
        size_t n = PIPE_BUF - p->fill_len;
        if (n > len)
            n = len;
        memcpy(p->buf[p->fill] + p->fill_len, d, n);
        p->fill_len += n;
        d += n;
        len -= n;
        if (p->fill_len == PIPE_BUF)
            push(p);
    }
    return 0;
}

int img_pipe_finish(struct img_pipe *p, bool cancel, char *why, size_t whylen)
{
    if (p->fill >= 0 && !cancel && p->fill_len)
        push(p);
    pthread_mutex_lock(&p->lock);
    p->closing = true;
    p->cancel = cancel;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    int err = p->err;
    if (why)
        snprintf(why, whylen, "%s", p->why);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    for (int i = 0; i < PIPE_BUFS; i++)
        free(p->buf[i]);
    free(p);
    return err;
}
