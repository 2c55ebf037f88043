package dev.fleetserver.bench;

import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServerConnection;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * Reads a server JVM's memory from outside: attaches with the Attach API, starts the JVM's local JMX agent and
 * reads the platform MXBeans over it.
 *
 * <ul>
 *   <li>heap: {@link MemoryMXBean#gc()} twice (a full collection with G1), then heap used — the live set;</li>
 *   <li>direct: the {@code direct} {@link BufferPoolMXBean}. Netty 4.1 on Java 17 without
 *       {@code -Dio.netty.tryReflectionSetAccessible=true} cannot use its cleaner-less direct buffers, so its pooled
 *       arenas and the epoll event arrays are all {@code ByteBuffer.allocateDirect} and all counted here;</li>
 *   <li>RSS: {@code VmRSS} of {@code /proc/<pid>/status};</li>
 *   <li>native memory tracking total, when the JVM runs with {@code -XX:NativeMemoryTracking=summary}.</li>
 * </ul>
 */
final class ServerProbe implements AutoCloseable {
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_HEAP = Pattern.compile("Java Heap \\(reserved=(\\d+)KB, committed=(\\d+)KB");

    private final long pid;
    private final JMXConnector connector;
    private final MemoryMXBean memory;
    private final List<BufferPoolMXBean> pools;

    /**
     * One reading; bytes. {@code nmtCommitted} (all of it) and {@code nmtHeapCommitted} (its Java heap) are -1
     * without native memory tracking.
     */
    record Memory(long heap, long direct, long rss, long nmtCommitted, long nmtHeapCommitted, long nonHeapRss,
                  int threads) {
        long jvm() {
            return heap + direct;
        }

        /**
         * What the process holds, heap slack aside: the live heap (after the full collections of
         * {@link #measure()}) plus every resident page outside the Java heap's address range — direct buffers, thread
         * stacks, metaspace, code, and native memory NMT does not see, such as BoringSSL's per-connection state that
         * netty-tcnative allocates with malloc. -1 when the heap's range could not be read.
         */
        long resident() {
            return nonHeapRss < 0 ? -1 : heap + nonHeapRss;
        }
    }

    private ServerProbe(long pid, JMXConnector connector, MBeanServerConnection conn) throws IOException {
        this.pid = pid;
        this.connector = connector;
        this.memory = ManagementFactory.newPlatformMXBeanProxy(conn, ManagementFactory.MEMORY_MXBEAN_NAME, MemoryMXBean.class);
        this.pools = ManagementFactory.getPlatformMXBeans(conn, BufferPoolMXBean.class);
    }

    static ServerProbe attach(long pid) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        String address;
        try {
            address = vm.startLocalManagementAgent();
        } finally {
            vm.detach();
        }
        JMXConnector c = JMXConnectorFactory.connect(new JMXServiceURL(address));
        return new ServerProbe(pid, c, c.getMBeanServerConnection());
    }

    /** Heap in use now, garbage included (no collection first): for peaks while something runs. */
    long heapUsedNow() throws IOException {
        return memory.getHeapMemoryUsage().getUsed();
    }

    Memory measure() throws IOException, InterruptedException {
        memory.gc();
        memory.gc();
        long heap = memory.getHeapMemoryUsage().getUsed();
        long direct = 0;
        for (BufferPoolMXBean p : pools) {
            if (p.getName().equals("direct")) {
                direct = p.getMemoryUsed();
            }
        }
        String nmt = String.join("\n", jcmd("VM.native_memory", "summary"));
        return new Memory(heap, direct, procStatusKb("VmRSS") * 1024, kb(NMT_TOTAL, nmt), kb(NMT_HEAP, nmt),
                nonHeapRss(), (int) procStatusKb("Threads"));
    }

    private static final Pattern HEAP_RANGE = Pattern.compile("\\[0x([0-9a-f]+), 0x([0-9a-f]+)\\)");

    /** Resident bytes of the mappings outside the Java heap's reserved range ({@code GC.heap_info}); -1 if unknown. */
    private long nonHeapRss() throws IOException, InterruptedException {
        Matcher m = HEAP_RANGE.matcher(String.join("\n", jcmd("GC.heap_info")));
        if (!m.find()) {
            return -1;
        }
        long heapStart = Long.parseUnsignedLong(m.group(1), 16);
        long heapEnd = Long.parseUnsignedLong(m.group(2), 16);
        long total = 0;
        boolean inHeap = false;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inHeap = start >= heapStart && end <= heapEnd;
            } else if (line.startsWith("Rss:") && !inHeap) {
                total += Long.parseLong(line.substring(4).trim().split("\\s+")[0]) * 1024;
            }
        }
        return total;
    }

    private long procStatusKb(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    /** The committed figure of the line {@code p} matches in NMT's summary, in bytes; -1 when absent. */
    private static long kb(Pattern p, String nmt) {
        Matcher m = p.matcher(nmt);
        return m.find() ? Long.parseLong(m.group(2)) * 1024 : -1;
    }

    /** The first {@code lines} lines of {@code jcmd <pid> GC.class_histogram} (which collects first). */
    List<String> classHistogram(int lines) throws IOException, InterruptedException {
        List<String> all = jcmd("GC.class_histogram");
        return new ArrayList<>(all.subList(0, Math.min(lines, all.size())));
    }

    private List<String> jcmd(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString());
        cmd.add(Long.toString(pid));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return List.of(new String(out, StandardCharsets.UTF_8).split("\n"));
    }

    @Override
    public void close() throws IOException {
        connector.close();
    }
}
