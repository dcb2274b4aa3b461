/* Argon2id password hashes, stored in the user record as "_password". */
#include "internal.h"

#include <errno.h>
#include <string.h>

int identity_password_hash(const char *password, json_t *user_rec)
{
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(hash, password, strlen(password), IDENTITY_PWHASH_OPSLIMIT,
                              IDENTITY_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return -ENOMEM;
    return json_object_set_new(user_rec, "_password", json_string(hash)) ? -ENOMEM : 0;
}

/* For a user that does not exist (or has no password) we still spend one
 * verification, so response times do not tell which user names exist. */
static char dummy[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    unsigned char pw[16];
    randombytes_buf(pw, sizeof(pw));
    if (crypto_pwhash_str_alg(dummy, (const char *)pw, sizeof(pw), IDENTITY_PWHASH_OPSLIMIT,
                              IDENTITY_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy[0] = '\0';
}

bool identity_password_ok(const json_t *user_rec, const char *password)
{
    const char *hash = json_string_value(json_object_get(user_rec, "_password"));
    if (!hash) {
        pthread_once(&dummy_once, make_dummy);
        if (dummy[0] && crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0)
            return false; /* cannot happen: the dummy password is random */
        return false;
    }
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
