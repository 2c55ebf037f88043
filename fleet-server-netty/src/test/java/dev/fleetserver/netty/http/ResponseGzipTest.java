package dev.fleetserver.netty.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fleetserver.core.longpoll.CheckinResponse;
import dev.fleetserver.core.model.PolicyRevision;
import dev.fleetserver.core.policy.PreparedPolicy;
import dev.fleetserver.core.store.Doc;
import dev.fleetserver.core.store.FleetIndex;
import dev.fleetserver.core.util.Json;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.compression.JdkZlibDecoder;
import io.netty.handler.codec.compression.ZlibWrapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * Gzip answers made of members, the shared ones made once: every answer decodes, with the JDK's
 * {@code GZIPInputStream} and with Netty's own gzip decoder (its header and trailer parsing are its own), to exactly
 * the bytes of the answer uncompressed, whatever the shape of the per-agent parts between the shared ones.
 */
class ResponseGzipTest {
    private final ResponseGzip gzip = new ResponseGzip(1, 0);

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[][] parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] jdk(byte[] body) throws Exception {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return in.readAllBytes();
        }
    }

    private static byte[] netty(byte[] body) {
        EmbeddedChannel ch = new EmbeddedChannel(new JdkZlibDecoder(ZlibWrapper.GZIP, true));
        // Fed in small slices, as a socket would deliver it: member boundaries fall anywhere.
        for (int i = 0; i < body.length; i += 1000) {
            ch.writeInbound(Unpooled.wrappedBuffer(body, i, Math.min(1000, body.length - i)));
        }
        ch.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (ByteBuf b; (b = ch.readInbound()) != null; ) {
            byte[] chunk = new byte[b.readableBytes()];
            b.readBytes(chunk);
            out.writeBytes(chunk);
            b.release();
        }
        return out.toByteArray();
    }

    /** Checks both decoders give back the parts, and returns the members. */
    private byte[][] roundTrip(byte[][] parts, boolean[] shared) throws Exception {
        byte[][] members = gzip.gzip(parts, shared);
        byte[] body = concat(members);
        assertThat(jdk(body)).isEqualTo(concat(parts));
        assertThat(netty(body)).isEqualTo(concat(parts));
        return members;
    }

    /** A policy of about {@code kb} KiB: many inputs with streams, as a dozen integrations make. */
    private static PolicyRevision policy(int kb) {
        ObjectNode source = Json.object();
        source.put("@timestamp", "2026-12-02T00:00:00Z");
        source.put("policy_id", "big");
        source.put("revision_idx", 2);
        ObjectNode data = source.putObject("data");
        data.put("id", "big");
        data.put("revision", 2);
        data.putObject("outputs").putObject("default").put("type", "elasticsearch").putArray("hosts").add("https://es:9200");
        ArrayNode inputs = data.putArray("inputs");
        Random random = new Random(7);
        for (int i = 0; Json.bytes(source).length < kb * 1024; i++) {
            ObjectNode input = inputs.addObject();
            input.put("id", "logfile-system-" + i);
            input.put("type", "logfile");
            ArrayNode streams = input.putArray("streams");
            for (int s = 0; s < 5; s++) {
                ObjectNode stream = streams.addObject();
                stream.put("id", "stream-" + i + "-" + s);
                stream.putArray("paths").add("/var/log/app-" + i + "/" + Long.toHexString(random.nextLong()) + ".log");
                stream.putObject("processors").put("add_fields", "target: '' fields: {ecs.version: 1.12.0}");
            }
        }
        return new PolicyRevision(new Doc(FleetIndex.POLICIES, "big:2", 1, 1, source));
    }

    @Test
    void aRealSizedPolicyAnswerDecodesToItsBytesAndItsSharedSegmentsAreCompressedOnceForAllAgents() throws Exception {
        PreparedPolicy prepared = PreparedPolicy.prepare(policy(250));
        CheckinResponse first = prepared.responseFor("agent-1");
        assertThat(first.length()).isGreaterThan(250 * 1024);
        byte[][] membersOfFirst = roundTrip(first.parts(), first.sharedParts());
        long compressed = gzip.sharedPartsCompressed();
        for (int i = 2; i <= 200; i++) {
            CheckinResponse r = prepared.responseFor("agent-" + i);
            byte[][] members = roundTrip(r.parts(), r.sharedParts());
            // The same member arrays: nothing of the policy compressed again.
            assertThat(members[members.length - 1]).isSameAs(membersOfFirst[membersOfFirst.length - 1]);
        }
        assertThat(gzip.sharedPartsCompressed()).isEqualTo(compressed);
        // Compressing the policy apart from the agent's id costs next to nothing in size.
        int oneMember = gzip.gzip(first.parts(), null)[0].length;
        assertThat(concat(membersOfFirst).length).isLessThan(oneMember + 200);
    }

    @Test
    void everyShapeOfPerAgentPartsBetweenSharedOnesDecodes() throws Exception {
        byte[] a = bytes("{\"shared\":\"" + "x".repeat(5000) + "\",");
        byte[] b = bytes("\"more\":\"" + "y".repeat(3000) + "\"");
        byte[] end = bytes("}");
        byte[] id = bytes("agent-7");
        byte[] key = bytes("\"api_key\":\"id:key\",");
        byte[] none = new byte[0];
        List<byte[][]> shapes = List.of(
                new byte[][] {a, id, b, end},                  // the agent id alone
                new byte[][] {a, key, key, b, none, end},      // several outputs, one without a key
                new byte[][] {id, a, key, b, key},             // per-agent parts first and last
                new byte[][] {a, none, b, none, end},          // no keys at all
                new byte[][] {a, b, end});                     // nothing per agent
        for (byte[][] parts : shapes) {
            boolean[] shared = new boolean[parts.length];
            for (int i = 0; i < parts.length; i++) {
                shared[i] = parts[i] == a || parts[i] == b || parts[i] == end;
            }
            roundTrip(parts, shared);
            roundTrip(parts, null);
        }
    }

    @Test
    void anAnswerWithoutSharedPartsIsOneMember() throws Exception {
        byte[][] members = roundTrip(new byte[][] {bytes("{\"ack_token\":\"\",\"action\":\"checkin\"}")}, null);
        assertThat(members.length).isEqualTo(1);
        assertThat(roundTrip(new byte[][] {new byte[0]}, null).length).isEqualTo(1);
    }
}
