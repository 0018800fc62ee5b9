// SPDX-License-Identifier: Apache-2.0
// The escape techniques of issue 15, as a container would try them, without doing harm: built
// static by the live suites and copied into their test image as /usr/bin/adock-probe.
//   adock-probe memexec PROGRAM ARG0 [ARG...]  copy PROGRAM into a memfd and execveat it (fileless)
//   adock-probe openw PATH                     open PATH for writing, write nothing, close
//   adock-probe connect PATH                   connect(2) to the unix socket PATH, send nothing
//   adock-probe nsjoin PID KIND SECONDS        setns into /proc/PID/ns/KIND, then sleep
// Each prints what happened; openw, connect and nsjoin exit 0 whether the kernel allowed it or
// not (an attempt is what the detection is about), 1 on bad usage.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

extern char** environ;

static int memexec(const char* prog, char** argv) {
    int in = open(prog, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        fprintf(stderr, "memexec: open %s: %s\n", prog, strerror(errno));
        return 1;
    }
    int mfd = memfd_create("adock-payload", MFD_CLOEXEC);
    if (mfd < 0) {
        fprintf(stderr, "memexec: memfd_create: %s\n", strerror(errno));
        return 1;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(mfd, buf, (size_t)n) != n) {
            fprintf(stderr, "memexec: write: %s\n", strerror(errno));
            return 1;
        }
    }
    close(in);
    syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
    fprintf(stderr, "memexec: execveat: %s\n", strerror(errno));
    return 1;
}

static int openw(const char* path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("openw %s: refused: %s\n", path, strerror(errno));
        return 0;
    }
    printf("openw %s: opened (nothing written)\n", path);
    close(fd);
    return 0;
}

static int connect_unix(const char* path) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "connect: path too long\n");
        return 1;
    }
    strcpy(sa.sun_path, path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        fprintf(stderr, "connect: socket: %s\n", strerror(errno));
        return 1;
    }
    if (connect(s, (struct sockaddr*)&sa, sizeof sa) != 0) {
        printf("connect %s: refused: %s\n", path, strerror(errno));
    } else {
        printf("connect %s: connected\n", path);
    }
    close(s);
    return 0;
}

static int nsjoin(const char* pid, const char* kind, const char* seconds) {
    char path[128];
    snprintf(path, sizeof path, "/proc/%s/ns/%s", pid, kind);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("nsjoin %s: cannot open: %s\n", path, strerror(errno));
        return 0;
    }
    if (setns(fd, 0) != 0) {
        printf("nsjoin %s: refused: %s\n", path, strerror(errno));
    } else {
        printf("nsjoin %s: joined\n", path);
    }
    fflush(stdout);
    close(fd);
    sleep((unsigned)atoi(seconds));
    return 0;
}

int main(int argc, char** argv) {
    if (argc >= 4 && strcmp(argv[1], "memexec") == 0) {
        return memexec(argv[2], argv + 3);
    }
    if (argc == 3 && strcmp(argv[1], "openw") == 0) {
        return openw(argv[2]);
    }
    if (argc == 3 && strcmp(argv[1], "connect") == 0) {
        return connect_unix(argv[2]);
    }
    if (argc == 5 && strcmp(argv[1], "nsjoin") == 0) {
        return nsjoin(argv[2], argv[3], argv[4]);
    }
    fprintf(stderr,
            "usage: adock-probe memexec PROGRAM ARG0 [ARG...] | openw PATH | connect PATH | nsjoin "
            "PID KIND SECONDS\n");
    return 1;
}
