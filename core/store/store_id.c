/* UUIDs in their 8-4-4-4-12 text form (store.h): the one place that formats
 * and parses them. */
#include "core/store/store.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

void store_id_from_bin(const unsigned char b[16], char out[STORE_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    int j = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[j++] = '-';
        out[j++] = hex[b[i] >> 4];
        out[j++] = hex[b[i] & 15];
    }
    out[j] = '\0';
}

void store_new_id(char out[STORE_ID_LEN + 1])
{
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
    b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    store_id_from_bin(b, out);
}

bool store_is_id(const char *s)
{
    if (strlen(s) != STORE_ID_LEN)
        return false;
    for (int i = 0; i < STORE_ID_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || !s[i])
            return false;
    }
    return true;
}

static int hexval(char c)
{
    return c <= '9' ? c - '0' : c - 'a' + 10; /* store_is_id() checked c */
}

int store_id_to_bin(const char *id, unsigned char out[16])
{
    if (!store_is_id(id))
        return -EINVAL;
    for (int i = 0, j = 0; i < 16; j += 2) {
        if (id[j] == '-')
            j++;
        out[i++] = (unsigned char)(hexval(id[j]) << 4 | hexval(id[j + 1]));
    }
    return 0;
}
