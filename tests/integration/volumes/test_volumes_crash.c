/* kill -9 during mixed volume work: a child process creates volumes
 * (empty, from snapshots, from volumes), snapshots, extends, deletes
 * (cascading too), backs up (full and incremental) and deletes backups on
 * a real store and block store, telling the parent over a pipe each
 * mutation that returned success; the parent kills it at a random instant,
 * reopens the data dir, runs the reconciliation and checks: no record is
 * left in a transitional status, every acknowledged mutation is there (and
 * every acknowledged deletion gone), the block store checks clean, a
 * second reconciliation finds nothing to fix (no object without a record,
 * no record without its object), the quota usage equals what the records
 * hold, and every backup restores and checks. Rounds: argv[1] (200 by
 * default, about 30 s; 10000 under -L slow). */
#include "tests/unit/volumes/vol_test.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXIDS 4096

struct idset {
    char id[MAXIDS][40];
    int n;
};

static void set_add(struct idset *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->id[i], id))
            return;
    if (s->n < MAXIDS)
        snprintf(s->id[s->n++], 40, "%s", id);
}

static void set_del(struct idset *s, const char *id)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->id[i], id)) {
            if (i != --s->n)
                memcpy(s->id[i], s->id[s->n], 40);
            return;
        }
}

static const struct volumes_caller WHO = { .project_id = "crash",
                                           .user_id = "u",
                                           .can_write = true };
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? rng % n : 0;
}

static void say(int fd, char kind, const char *id)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%c %s\n", kind, id);
    if (write(fd, line, (size_t)n) != n)
        _exit(3);
}

static const char *pick(json_t *list)
{
    size_t n = json_array_size(list);
    return n ? jstr(json_array_get(list, rnd(n)), "id") : NULL;
}

/* The child: mixed work until killed. */
static void child(const char *dir, int fd)
{
    struct fx f;
    fx_open_in(&f, dir);
    for (;;) {
        json_t *vols, *snaps, *bks, *rec = NULL;
        if (volume_list(f.v, &WHO, false, &vols) < 0 ||
            volume_snapshot_list(f.v, &WHO, false, &snaps) < 0 ||
            volume_backup_list(f.v, &WHO, false, &bks) < 0)
            _exit(4);
        const char *v = pick(vols), *s = pick(snaps), *b = pick(bks);
        int op = (int)rnd(10);
        if (op <= 1 || !v) {
            struct volume_create req = { .size_gb = 1 + rnd(3) };
            if (op == 1 && s)
                req = (struct volume_create){ .snapshot_id = s };
            else if (op == 1 && v)
                req = (struct volume_create){ .source_volid = v };
            if (volume_create(f.v, &WHO, &req, &rec) == 0) {
                say(fd, 'V', jstr(rec, "id"));
                char obj[64];
                volumes_object_name(obj, "volume", jstr(rec, "id"));
                fx_write(&f, obj, rnd(16), (unsigned)rnd(250));
            }
        } else if (op == 2) {
            struct volume_snapshot_create req = { .volume_id = v };
            if (volume_snapshot_create(f.v, &WHO, &req, &rec) == 0)
                say(fd, 'S', jstr(rec, "id"));
        } else if (op == 3 && json_array_size(vols) > 3) {
            say(fd, 'd', v); /* from here on it may be gone, with its snapshots */
            size_t i;
            json_t *x;
            json_array_foreach (snaps, i, x)
                if (!strcmp(jstr(x, "volume_id"), v))
                    say(fd, 'x', jstr(x, "id"));
            if (volume_delete(f.v, &WHO, v, VOLUME_CASCADE) == 0)
                say(fd, 'v', v);
        } else if (op == 4 && s) {
            say(fd, 'x', s);
            if (volume_snapshot_delete(f.v, &WHO, s, false) == 0)
                say(fd, 's', s);
        } else if (op == 5) {
            json_t *x;
            if (volume_get(f.v, &WHO, v, &x) == 0) {
                if (volume_extend(f.v, &WHO, v,
                                  (uint64_t)json_integer_value(json_object_get(x, "size")) + 1,
                                  VOLUME_EXTEND_ATTACHED) == 0)
                    say(fd, 'E', v);
                json_decref(x);
            }
        } else if (op == 6 || op == 7) {
            struct volume_backup_create req = { .volume_id = v, .incremental = op == 7 };
            char obj[64];
            volumes_object_name(obj, "volume", v);
            fx_write(&f, obj, rnd(16), (unsigned)rnd(250));
            if (volume_backup_begin(f.v, &WHO, &req, &rec) == 0 &&
                volume_backup_run(f.v, jstr(rec, "id")) == 0)
                say(fd, 'B', jstr(rec, "id"));
        } else if (op == 8 && b && json_array_size(bks) > 2) {
            say(fd, 'y', b);
            if (volume_backup_delete(f.v, &WHO, b, false) == 0)
                say(fd, 'b', b);
        }
        json_decref(rec);
        json_decref(vols);
        json_decref(snaps);
        json_decref(bks);
    }
}

/* Acknowledged alive, and (this round) deletions begun but not answered. */
static struct idset vols, snaps, bks, dying_vols, dying_snaps, dying_bks;

/* An unanswered deletion may have happened: forget what is gone. */
static int settle(struct fx *f, struct idset *alive, struct idset *dying, const char *kind)
{
    int gone = 0;
    for (int k = 0; k < dying->n; k++) {
        json_t *r = NULL;
        int rc = !strcmp(kind, "volume")     ? volume_get(f->v, &WHO, dying->id[k], &r)
                 : !strcmp(kind, "snapshot") ? volume_snapshot_get(f->v, &WHO, dying->id[k], &r)
                                             : volume_backup_get(f->v, &WHO, dying->id[k], &r);
        json_decref(r);
        if (rc == -ENOENT) {
            set_del(alive, dying->id[k]);
            gone++;
        }
    }
    dying->n = 0;
    return gone;
}

static void check_after(const char *dir, int round)
{
    struct fx f;
    fx_open_in(&f, dir);
    int fixes = volumes_reconcile(f.v, NULL);
    CHECK(fixes >= 0, "round %d: reconcile: %s", round, volumes_error());
    CHECK(volumes_reconcile(f.v, stderr) == 0, "round %d: a second reconcile fixed more", round);
    CHECK(blockstore_check(f.bs, 0, stderr) == 0, "round %d: block store not clean", round);
    settle(&f, &vols, &dying_vols, "volume");
    settle(&f, &snaps, &dying_snaps, "snapshot");
    settle(&f, &bks, &dying_bks, "backup");
    json_t *list, *x;
    size_t i;
    int64_t gb = 0;
    CHECK(volume_list(f.v, &WHO, false, &list) == 0);
    json_array_foreach (list, i, x) {
        const char *st = jstr(x, "status");
        CHECK(!strcmp(st, "available") || !strcmp(st, "error"), "round %d: volume %s is %s", round,
              jstr(x, "id"), st);
        gb += json_integer_value(json_object_get(x, "size"));
    }
    for (int k = 0; k < vols.n; k++) {
        json_t *r = NULL;
        CHECK(volume_get(f.v, &WHO, vols.id[k], &r) == 0, "round %d: acknowledged volume %s lost",
              round, vols.id[k]);
        json_decref(r);
    }
    int64_t nvol = (int64_t)json_array_size(list);
    json_decref(list);
    CHECK(volume_snapshot_list(f.v, &WHO, false, &list) == 0);
    json_array_foreach (list, i, x) {
        CHECK_STR(jstr(x, "status"), "available");
        gb += json_integer_value(json_object_get(x, "size"));
    }
    int64_t nsnap = (int64_t)json_array_size(list);
    json_decref(list);
    for (int k = 0; k < snaps.n; k++)
        CHECK(volume_snapshot_get(f.v, &WHO, snaps.id[k], NULL) == 0,
              "round %d: acknowledged snapshot %s lost", round, snaps.id[k]);
    CHECK(volume_backup_list(f.v, &WHO, false, &list) == 0);
    json_array_foreach (list, i, x) {
        const char *st = jstr(x, "status");
        CHECK(!strcmp(st, "available") || !strcmp(st, "error"), "round %d: backup is %s", round,
              st);
        if (!strcmp(st, "available"))
            CHECK(volumes_backup_check(f.backups, jstr(x, "id"), stderr) == 0,
                  "round %d: backup chain %s broken", round, jstr(x, "id"));
    }
    int64_t nbk = (int64_t)json_array_size(list);
    json_decref(list);
    for (int k = 0; k < bks.n; k++) {
        json_t *r = NULL;
        CHECK(volume_backup_get(f.v, &WHO, bks.id[k], &r) == 0,
              "round %d: acknowledged backup %s lost", round, bks.id[k]);
        CHECK(r && !strcmp(jstr(r, "status"), "available"),
              "round %d: acknowledged backup not available", round);
        json_decref(r);
    }
    struct volumes_quota lim, use;
    CHECK(volumes_quota_get(f.v, &WHO, "crash", &lim, &use) == 0);
    CHECK(use.v[VOLQ_VOLUMES] == nvol, "round %d: usage %lld volumes, records %lld", round,
          (long long)use.v[VOLQ_VOLUMES], (long long)nvol);
    CHECK(use.v[VOLQ_SNAPSHOTS] == nsnap, "round %d: snapshot usage", round);
    CHECK(use.v[VOLQ_GIGABYTES] == gb, "round %d: usage %lld GiB, records %lld", round,
          (long long)use.v[VOLQ_GIGABYTES], (long long)gb);
    CHECK(use.v[VOLQ_BACKUPS] == nbk, "round %d: backup usage", round);
    fx_close(&f);
}

static void apply(char *buf)
{
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strlen(line) < 3)
            continue;
        const char *id = line + 2;
        switch (line[0]) {
        case 'V': set_add(&vols, id); break;
        case 'v': set_del(&vols, id); break;
        case 'S': set_add(&snaps, id); break;
        case 's': set_del(&snaps, id); break;
        case 'B': set_add(&bks, id); break;
        case 'b': set_del(&bks, id); break;
        case 'd': set_add(&dying_vols, id); break;
        case 'x': set_add(&dying_snaps, id); break;
        case 'y': set_add(&dying_bks, id); break;
        }
    }
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    const char *dir = t_tmpdir("volcrash");
    {
        struct fx f; /* quotas out of the way */
        fx_open_in(&f, dir);
        json_t *q = json_pack("{s:i, s:i, s:i, s:i, s:i}", "volumes", -1, "gigabytes", -1,
                              "snapshots", -1, "backups", -1, "backup_gigabytes", -1);
        OK(volumes_quota_set(f.v, &ADMIN, "crash", q));
        json_decref(q);
        fx_close(&f);
    }
    double t0 = now_s();
    for (int round = 0; round < rounds && !t_failures; round++) {
        int p[2];
        CHECK(pipe(p) == 0);
        rng += (uint64_t)round * 7919;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(dir, p[1]);
            _exit(0);
        }
        close(p[1]);
        usleep((useconds_t)(5000 + rnd(120000)));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        static char buf[1 << 20];
        size_t len = 0;
        ssize_t n;
        while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
            len += (size_t)n;
        buf[len] = '\0';
        close(p[0]);
        CHECK(WIFSIGNALED(st), "round %d: the child ended by itself (status %d)", round, st);
        apply(buf);
        check_after(dir, round);
    }
    printf("%d rounds in %.1f s; %d volumes, %d snapshots, %d backups acknowledged alive\n", rounds,
           now_s() - t0, vols.n, snaps.n, bks.n);
    return t_done("volumes.crash");
}
