package dev.fleetserver.core.self;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.util.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The host this server runs on, as Elastic Agent describes its host in {@code local_metadata} ({@code host.*},
 * {@code os.*}): what Kibana shows in the agent list and details of the server's own agent.
 *
 * @param hostname     the host's name
 * @param id           a stable id of the machine ({@code /etc/machine-id}); empty when unknown
 * @param ips          the addresses of its interfaces that are up, not loopback, as {@code address/prefix}
 * @param macs         the hardware addresses of those interfaces, {@code aa-bb-…}
 * @param architecture as Elastic Agent names it ({@code x86_64}, {@code aarch64})
 * @param osFamily     {@code debian}, {@code redhat}, … ({@code ID_LIKE} or {@code ID} of {@code os-release}); else the
 *                     JVM's {@code os.name}
 * @param osPlatform   {@code ubuntu}, {@code debian}, … ({@code ID})
 * @param osName       {@code NAME}
 * @param osVersion    {@code VERSION_ID}
 * @param kernel       the kernel release
 * @param osFull       {@code PRETTY_NAME}
 */
public record HostFacts(String hostname, String id, List<String> ips, List<String> macs, String architecture,
                        String osFamily, String osPlatform, String osName, String osVersion, String kernel,
                        String osFull) {

    /** The running host, read once; whatever cannot be read is left empty rather than failing. */
    public static HostFacts detect() {
        Map<String, String> release = osRelease(Path.of("/etc/os-release"));
        String osName = System.getProperty("os.name", "");
        String platform = release.getOrDefault("ID", osName.toLowerCase(Locale.ROOT));
        String likes = release.getOrDefault("ID_LIKE", "");
        String family = likes.isBlank() ? platform : likes.split(" ")[0];
        List<String> ips = new ArrayList<>();
        List<String> macs = new ArrayList<>();
        interfaces(ips, macs);
        return new HostFacts(localHostName(), readFirstLine(Path.of("/etc/machine-id")), List.copyOf(ips), List.copyOf(macs),
                architecture(System.getProperty("os.arch", "")), family, platform,
                release.getOrDefault("NAME", osName), release.getOrDefault("VERSION_ID", ""),
                System.getProperty("os.version", ""), release.getOrDefault("PRETTY_NAME", osName));
    }

    /** {@code local_metadata.host}. */
    public ObjectNode hostJson() {
        ObjectNode host = Json.object();
        host.put("architecture", architecture);
        host.put("hostname", hostname);
        host.put("name", hostname);
        host.put("id", id);
        ips.forEach(host.putArray("ip")::add);
        macs.forEach(host.putArray("mac")::add);
        return host;
    }

    /** {@code local_metadata.os}. */
    public ObjectNode osJson() {
        ObjectNode os = Json.object();
        os.put("family", osFamily);
        os.put("platform", osPlatform);
        os.put("name", osName);
        os.put("version", osVersion);
        os.put("kernel", kernel);
        os.put("full", osFull);
        return os;
    }

    static String architecture(String jvmArch) {
        return switch (jvmArch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> jvmArch;
        };
    }

    static Map<String, String> osRelease(Path file) {
        Map<String, String> out = new HashMap<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq <= 0 || line.startsWith("#")) {
                    continue;
                }
                String value = line.substring(eq + 1).trim();
                if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"")
                        || value.startsWith("'") && value.endsWith("'"))) {
                    value = value.substring(1, value.length() - 1);
                }
                out.put(line.substring(0, eq).trim(), value);
            }
        } catch (IOException | RuntimeException e) {
            // Not a Linux host, or an unreadable file: the JVM's properties stand in.
        }
        return out;
    }

    private static String readFirstLine(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return lines.isEmpty() ? "" : lines.get(0).trim();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static String localHostName() {
        String env = System.getenv("HOSTNAME");
        try {
            String name = InetAddress.getLocalHost().getHostName();
            return name == null || name.isBlank() ? (env == null ? "" : env) : name;
        } catch (IOException | RuntimeException e) {
            return env == null ? "" : env;
        }
    }

    private static void interfaces(List<String> ips, List<String> macs) {
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback()) {
                    continue;
                }
                nic.getInterfaceAddresses().forEach(a -> {
                    String address = a.getAddress().getHostAddress();
                    int zone = address.indexOf('%');
                    ips.add((zone < 0 ? address : address.substring(0, zone)) + "/" + a.getNetworkPrefixLength());
                });
                byte[] mac = nic.getHardwareAddress();
                if (mac != null && mac.length > 0) {
                    macs.add(HexFormat.ofDelimiter("-").formatHex(mac));
                }
            }
        } catch (SocketException | RuntimeException e) {
            // No interfaces to list: the document says so by leaving them out.
        }
    }
}
