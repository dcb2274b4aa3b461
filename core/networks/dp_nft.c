/* nftables through libnftables, in the calling thread's current network
 * namespace (its netlink socket is opened there). A ruleset text is one
 * transaction: it applies whole or not at all. */
#include "core/networks/dp_internal.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

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
