#!/usr/bin/env python3
"""Where a server's CPU went, from `perf script -F comm,ip,sym,dso` of a `perf record -g` of the server process.

Each sample is put in one category by its thread and its leaf frame: the event loops' copy of answer bytes into
socket buffers (`_copy_from_iter`), their other kernel work, their page faults, their user-space work (Java, zlib,
the JVM), the JIT compiler threads, the GC, and every other thread by name. Prints each category's share.

    perf record -k mono -F 499 -g -p <server pid> -o perf.data -- sleep 100
    jcmd <server pid> Compiler.perfmap          # names the JIT-compiled frames
    perf script -i perf.data --time <start>,<end> -F comm,ip,sym,dso | python3 bench/tools/perf_categories.py
"""
import collections
import sys


def category(comm, leaf, chain):
    if comm.startswith('epollEventLoop'):
        if leaf and '_copy_from_iter' in leaf:
            return 'event loops, kernel: copy of answer bytes into socket buffers'
        if leaf and 'kernel.kallsyms' in leaf:
            if any('exc_page_fault' in frame for frame in chain):
                return 'event loops, kernel: page faults'
            return 'event loops, kernel: other (TCP, syscalls, scheduling)'
        return 'event loops, user space (Java, zlib, JVM)'
    if comm.startswith('C2') or comm.startswith('C1'):
        return 'JIT compiler threads'
    if comm.startswith('GC') or comm.startswith('G1'):
        return 'GC threads'
    if comm.startswith('RMI') or comm.startswith('JMX'):
        return 'JMX (a probe reading the JVM)'
    return 'other threads (' + comm + ')'


def main():
    counts = collections.Counter()
    comm, leaf, chain = None, None, []

    def done():
        if comm is not None:
            counts[category(comm, leaf, chain)] += 1

    for line in sys.stdin:
        if not line.strip():
            continue
        if not line[0].isspace():
            done()
            comm, leaf, chain = line.split()[0], None, []
        else:
            frame = line.strip()
            if leaf is None:
                leaf = frame
            chain.append(frame)
    done()
    total = sum(counts.values())
    print('samples', total)
    for name, n in counts.most_common():
        print(f'{100 * n / max(total, 1):5.1f}%  {name}')


if __name__ == '__main__':
    main()
