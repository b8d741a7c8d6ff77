/* udp-flood: sends IPv4/UDP frames with a fixed-size payload over many flows out of one
 * interface through an AF_PACKET socket (qdisc bypass, sendmmsg batches of 64), for a fixed
 * time, as fast as one CPU allows or paced to a given rate. Used by scripts/measure-forwarding.sh as the one traffic
 * generator for every setup it compares. Frames carry correct IPv4 header and UDP checksums
 * (the kernel's IP layer drops bad header checksums). Addresses are the caller's; the script
 * keeps them in 198.18.0.0/15.
 *
 * usage: udp-flood IFACE DST_MAC SRC_IP DST_IP FLOWS SECONDS PAYLOAD_BYTES [RATE_PPS]
 *   flow i uses source port 40000+i, destination port 9. RATE_PPS > 0: paced to that many
 *   frames per second (batches of up to 64 at their due time; the generator sleeps between
 *   them, so an idle CPU is not counted as the generator's); 0 or absent: as fast as it can.
 *   A paced run that falls behind does not catch up in a burst: it reports the rate reached.
 * prints: "sent N frames in S s: R pps"
 *
 * build: cc -O2 -o udp-flood udp-flood.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXF 65536

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1) s += (uint32_t)(p[n - 1] << 8);
    return s;
}

static uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int main(int argc, char **argv) {
    if (argc != 8 && argc != 9) {
        fprintf(stderr, "usage: %s IFACE DST_MAC SRC_IP DST_IP FLOWS SECONDS PAYLOAD [RATE_PPS]\n",
                argv[0]);
        return 2;
    }
    const char *ifname = argv[1];
    unsigned mac[6];
    if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
               &mac[5]) != 6) {
        fprintf(stderr, "bad MAC %s\n", argv[2]);
        return 2;
    }
    struct in_addr src, dst;
    if (!inet_aton(argv[3], &src) || !inet_aton(argv[4], &dst)) {
        fprintf(stderr, "bad address\n");
        return 2;
    }
    int flows = atoi(argv[5]);
    double seconds = atof(argv[6]);
    int payload = atoi(argv[7]);
    double rate = argc == 9 ? atof(argv[8]) : 0;
    if (flows < 1 || flows > MAXF || seconds <= 0 || payload < 0 || payload > 1400 || rate < 0 ||
        rate > 1e9) {
        fprintf(stderr, "bad FLOWS/SECONDS/PAYLOAD/RATE_PPS\n");
        return 2;
    }
    int ifindex = if_nametoindex(ifname);
    if (!ifindex) {
        perror(ifname);
        return 1;
    }
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    if (s < 0) {
        perror("socket");
        return 1;
    }
    int one = 1;
    setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct sockaddr_ll sll = {0};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    sll.sll_protocol = 0;
    if (bind(s, (struct sockaddr *)&sll, sizeof sll) < 0) {
        perror("bind");
        return 1;
    }
    /* own MAC, for the source address */
    uint8_t smac[6] = {2, 0, 0, 0, 0, 1};
    {
        char path[128];
        snprintf(path, sizeof path, "/sys/class/net/%s/address", ifname);
        FILE *f = fopen(path, "r");
        unsigned m[6];
        if (f && fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6)
            for (int i = 0; i < 6; i++) smac[i] = (uint8_t)m[i];
        if (f) fclose(f);
    }
    size_t len = 14 + 20 + 8 + (size_t)payload;
    if (len < 60) len = 60;
    uint8_t *frames = calloc((size_t)flows, len);
    for (int i = 0; i < flows; i++) {
        uint8_t *f = frames + (size_t)i * len;
        for (int k = 0; k < 6; k++) f[k] = (uint8_t)mac[k], f[6 + k] = smac[k];
        f[12] = 0x08, f[13] = 0x00;
        uint8_t *ip = f + 14, *udp = ip + 20;
        uint16_t iplen = (uint16_t)(20 + 8 + payload), udplen = (uint16_t)(8 + payload);
        ip[0] = 0x45, ip[1] = 0;
        ip[2] = iplen >> 8, ip[3] = iplen & 0xff;
        ip[4] = (uint8_t)(i >> 8), ip[5] = (uint8_t)i; /* id */
        ip[6] = 0x40, ip[7] = 0;                       /* DF */
        ip[8] = 64, ip[9] = 17;
        memcpy(ip + 12, &src, 4);
        memcpy(ip + 16, &dst, 4);
        uint16_t c = fold(sum16(ip, 20, 0));
        ip[10] = c >> 8, ip[11] = c & 0xff;
        uint16_t sport = (uint16_t)(40000 + i), dport = 9;
        udp[0] = sport >> 8, udp[1] = sport & 0xff;
        udp[2] = dport >> 8, udp[3] = dport & 0xff;
        udp[4] = udplen >> 8, udp[5] = udplen & 0xff;
        for (int k = 0; k < payload; k++) udp[8 + k] = (uint8_t)('a' + k % 26);
        uint8_t pseudo[12];
        memcpy(pseudo, ip + 12, 8);
        pseudo[8] = 0, pseudo[9] = 17, pseudo[10] = udplen >> 8, pseudo[11] = udplen & 0xff;
        uint16_t uc = fold(sum16(udp, udplen, sum16(pseudo, 12, 0)));
        if (uc == 0) uc = 0xffff;
        udp[6] = uc >> 8, udp[7] = uc & 0xff;
    }
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int k = 0; k < BATCH; k++) {
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
        iov[k].iov_len = len;
    }
    unsigned long long sent = 0, errs = 0;
    int next = 0;
    double t0 = now(), end = t0 + seconds;
    /* Paced: a batch is due when the frames sent so far have used up their share of time;
     * batches are sized so that one is due about every 100 us. */
    int batch = BATCH;
    if (rate > 0) {
        batch = (int)(rate / 10000);
        if (batch < 1) batch = 1;
        if (batch > BATCH) batch = BATCH;
    }
    double behind = 0;
    while (now() < end) {
        if (rate > 0) {
            double due = t0 + behind + sent / rate, t = now();
            if (due > t) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                double wake = ts.tv_sec + ts.tv_nsec / 1e9 + (due - t);
                ts.tv_sec = (time_t)wake;
                ts.tv_nsec = (long)((wake - (double)ts.tv_sec) * 1e9);
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            } else if (t - due > 0.01) {
                behind += t - due; /* more than 10 ms late: forget the debt, no burst */
            }
        }
        for (int k = 0; k < batch; k++) {
            iov[k].iov_base = frames + (size_t)next * len;
            if (++next == flows) next = 0;
        }
        int n = sendmmsg(s, msgs, batch, 0);
        if (n > 0)
            sent += (unsigned)n;
        else
            errs++;
    }
    double el = now() - t0;
    printf("sent %llu frames in %.2f s: %.0f pps (%llu failed calls%s)\n", sent, el, sent / el,
           errs, rate > 0 ? (behind > 0.01 ? ", paced, fell behind" : ", paced") : "");
    return 0;
}
