/* nftables through libnftables, in the calling thread's current network
 * namespace (its netlink socket is opened there). A ruleset text is one
 * transaction: it applies whole or not at all. */
#include "core/networks/dp_internal.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dp_nft_run(const char *text, struct net_err *err)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return -ENOMEM;
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    int rc = nft_run_cmd_from_buffer(nft, text) ? -EIO : 0;
    if (rc && err) {
        const char *msg = nft_ctx_get_error_buffer(nft);
        err->type = "DataPlaneError";
        snprintf(err->msg, sizeof err->msg, "nftables: %.200s", msg ? msg : "(no message)");
    }
    nft_ctx_free(nft);
    return rc;
}

static bool same_as_file(const char *file, const char *text)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return false;
    size_t len = strlen(text);
    char *buf = malloc(len + 2);
    size_t n = buf ? fread(buf, 1, len + 1, f) : 0;
    fclose(f);
    bool same = buf && n == len && memcmp(buf, text, len) == 0;
    free(buf);
    return same;
}

/* Does "family name" (e.g. "inet ps") exist? One cheap listing of tables. */
static bool table_exists(const char *table)
{
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return false;
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    bool found = false;
    if (nft_run_cmd_from_buffer(nft, "list tables") == 0) {
        char want[128];
        snprintf(want, sizeof want, "table %s\n", table);
        const char *out = nft_ctx_get_output_buffer(nft);
        found = out && strstr(out, want);
    }
    nft_ctx_free(nft);
    return found;
}

int dp_nft_apply(const char *text, const char *table, const char *file, struct net_err *err)
{
    if (same_as_file(file, text) && table_exists(table))
        return 0;
    unlink(file); /* until the new rules are in */
    int rc = dp_nft_run(text, err);
    if (rc)
        return rc;
    FILE *f = fopen(file, "we");
    if (!f)
        return -errno;
    size_t len = strlen(text);
    bool ok = fwrite(text, 1, len, f) == len;
    if (fclose(f) || !ok) {
        unlink(file);
        return -EIO;
    }
    return 0;
}
