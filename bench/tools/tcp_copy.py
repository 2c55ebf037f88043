#!/usr/bin/env python3
"""How much system CPU one 32 KiB write to a loopback TCP socket costs, the first time the kernel needs that
socket-buffer memory and again once it has been used: on a VM whose freed memory goes back to the host (virtio
free page reporting), the first touch of each page faults on the host and shows up as a slow copy. 2 000
connections, one write each, nothing read in between (as slow clients): about what a fan-out of a 32 KiB answer does.

    python3 bench/tools/tcp_copy.py
"""
import os
import resource
import socket
import time

N = 2000
PAYLOAD = os.urandom(32 * 1024)


def write_all(pairs):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    for _, server_side in pairs:
        server_side.send(PAYLOAD)
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.time()
    return 1e6 * (r1.ru_stime - r0.ru_stime) / N, 1e6 * (t1 - t0) / N


def main():
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(128)
    pairs = []
    for _ in range(N):
        client = socket.create_connection(listener.getsockname())
        pairs.append((client, listener.accept()[0]))
    print('first: sys %.1f us per write, wall %.1f us' % write_all(pairs))
    for client, _ in pairs:
        client.recv(1 << 20)
    print('again: sys %.1f us per write, wall %.1f us' % write_all(pairs))


if __name__ == '__main__':
    main()
